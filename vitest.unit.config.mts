// `npm run test:unit`: the tests that need no synthesis and no server, in seconds.
// test/unit-setup.ts makes a synthesis attempted here fail, so this list cannot drift into one.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/config.test.ts",
      "test/regions.test.ts",
      "test/registry.test.ts",
      "test/core-outputs.test.ts",
      "test/versions.test.ts",
      "test/*-units.test.ts",
      "test/workflows.test.ts",
      "test/policies/engine.test.ts",
      "test/policies/rules.test.ts",
      "test/policies/workloads.test.ts",
      "test/docs/*.test.ts",
    ],
    setupFiles: ["test/unit-setup.ts"],
  },
});
