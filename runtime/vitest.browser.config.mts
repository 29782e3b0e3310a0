// The browser tests (`npm run test:browser`): the built UI in headless Chromium, one file at a time.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/web/**/*.browser.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    // The page reacts to a real server: give it time on a busy CI machine (the default is 1 s).
    expect: { poll: { timeout: 10_000 } },
  },
});
