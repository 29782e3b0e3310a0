import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    // Hooks start real services (a fresh database, PGlite, BullMQ): give them time on a busy machine.
    hookTimeout: 60_000,
  },
});
