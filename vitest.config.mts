import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Synthesis loads the provider SDKs once per file; give the first load room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
