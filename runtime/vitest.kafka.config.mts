// `npm run test:kafka -w runtime` (part of `npm test`): the ingest suite on the Kafka bus, against a
// real Apache Kafka broker that test/kafka/broker-setup.ts starts (fetched from Maven Central, cached).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The API suite again, on the Kafka bus (test/support.ts MODES), then the bus's own tests.
    include: ["test/api.test.ts", "test/kafka/**/*.test.ts"],
    env: { RAG_TEST_BUS: "kafka" },
    globalSetup: ["test/kafka/broker-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One broker and a two-core machine: the files take turns.
    fileParallelism: false,
  },
});
