/**
 * `pulumi up` loads the program through ts-node (the Pulumi Node.js language host's
 * registration), not through tsx as our tools do: tools/pulumi-entry.cjs repeats that loading,
 * and each stack must come out the same as under the synth harness.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "../tools/harness";
import { synth } from "./helpers";

const STACKS = ["dev", "staging", "sme"];

describe("the program as the Pulumi CLI loads it", () => {
  it("compiles with ts-node (type-checked) and registers the same resources as the harness", async () => {
    const out = execFileSync(
      process.execPath,
      [join(PROJECT_DIR, "tools", "pulumi-entry.cjs"), ...STACKS],
      {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        env: { ...process.env, PULUMI_NODEJS_TRANSPILE_ONLY: "" },
      },
    );
    expect(out).toMatch(/^ts-node .*, typescript 5\./m);
    for (const stack of STACKS) {
      const expected = await synth(stack);
      expect(out, stack).toContain(
        `${stack}: ${expected.resources.length} resources, ${Object.keys(expected.outputs).length} outputs`,
      );
    }
  }, 120_000);
});
