import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The Kafka suite needs its broker: vitest.kafka.config.mts runs it.
    exclude: ["test/kafka/**", "**/node_modules/**"],
    testTimeout: 30_000,
    // Hooks start real services (a fresh database, PGlite, BullMQ): give them time on a busy machine.
    hookTimeout: 60_000,
  },
});
