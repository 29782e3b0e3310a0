// `npm run test:unit -w runtime`: the tests that need no PostgreSQL, Redis or stand-in server.
// test/unit-setup.ts makes a database or queue asked for here fail, so this list cannot drift.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/config.test.ts",
      "test/aragog-metric.test.ts",
      "test/audit.test.ts",
      "test/emf.test.ts",
      "test/logger.test.ts",
      "test/image-check.test.ts",
      "test/kafka/client.test.ts",
      "test/ingest/chunk.test.ts",
      "test/ingest/parse.test.ts",
      "test/ingest/parse-limits.test.ts",
      "test/ingest/parse-thread.test.ts",
      "test/ingest/pii.test.ts",
      "test/ingest/pdf-streams.test.ts",
      "test/models/generator.test.ts",
      "test/routes/validation.test.ts",
      "test/web/format.test.ts",
    ],
    setupFiles: ["test/unit-setup.ts"],
  },
});
