/**
 * `npm run synth -- --diff BEFORE AFTER`: what a change adds, changes and removes in a stack,
 * offline. Hand-built states for each rule, then real synthesized states of staging and sme.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../runtime/src/config";
import { diffResources, formatPath, renderDiffMarkdown, renderDiffText } from "../tools/diff";
import type { ResourceRecord, SynthResult } from "../tools/harness";
import { writeSynthOutput } from "../tools/synth";
import { runTool, synth } from "./helpers";

const synthCli = (args: string[]) => runTool("synth", args);

function record(
  name: string,
  inputs: Record<string, unknown>,
  type = "aws:test/thing:Thing",
): ResourceRecord {
  return {
    type,
    name,
    urn: `urn:pulumi:staging::rag-platform::${type}::${name}`,
    parent: null,
    provider: null,
    custom: true,
    inputs,
  } as unknown as ResourceRecord;
}

describe("diffing two states", () => {
  it("lists what is added, changed and removed, and nothing that stayed the same", () => {
    const before = [
      record("kept", { a: 1 }),
      record("changed", { size: 20, tags: { team: "x" } }),
      record("gone", {}),
    ];
    const after = [
      record("kept", { a: 1 }),
      record("changed", { size: 40, tags: { team: "x", cost: "rag" } }),
      record("new", {}),
    ];
    const d = diffResources(before, after);
    expect(d.counts).toEqual({ add: 1, change: 1, remove: 1 });
    expect(d.resources.map((r) => [r.kind, r.name])).toEqual([
      ["remove", "gone"],
      ["change", "changed"],
      ["add", "new"],
    ]);
    expect(d.resources[1]!.changes).toEqual([
      { path: "size", before: 20, after: 40 },
      { path: "tags.cost", after: "rag" },
    ]);
    expect(diffResources(before, before).resources).toEqual([]);
  });

  it("shows a resource moved under an alias (a new type or name) as a change, not a replacement", () => {
    const parent = "urn:pulumi:sme::rag-platform::rag:k8s:SyncedSecret$";
    const v1beta1 = "kubernetes:external-secrets.io/v1beta1:ExternalSecret";
    const v1 = "kubernetes:external-secrets.io/v1:ExternalSecret";
    const before = {
      ...record("rag-runtime", { a: 1 }, v1beta1),
      urn: `${parent}${v1beta1}::rag-runtime`,
    };
    const moved = {
      ...record("rag-runtime", { a: 1 }, v1),
      urn: `${parent}${v1}::rag-runtime`,
      aliases: [{ type: v1beta1 }],
    };
    const renamed = {
      ...record("runtime-secret", { a: 2 }, v1),
      urn: `${parent}${v1}::runtime-secret`,
      aliases: [{ name: "rag-runtime" }],
    };
    expect(diffResources([before], [moved]).resources).toEqual([
      {
        kind: "change",
        type: v1,
        name: "rag-runtime",
        urn: moved.urn,
        changes: [{ path: "(type)", before: v1beta1, after: v1 }],
      },
    ]);
    // Without the alias, the engine would delete the old resource and create the new one.
    expect(diffResources([before], [{ ...moved, aliases: [] }]).counts).toEqual({
      add: 1,
      change: 0,
      remove: 1,
    });
    const both = { ...before, type: v1, urn: `${parent}${v1}::rag-runtime` };
    expect(diffResources([both], [renamed]).resources[0]!.changes).toEqual([
      { path: "(name)", before: "rag-runtime", after: "runtime-secret" },
      { path: "a", before: 1, after: 2 },
    ]);
  });

  it("looks inside JSON-encoded inputs and matches named entries by name, not position", () => {
    const defs = (env: { name: string; value: string }[]) =>
      JSON.stringify([{ name: "api", environment: env }]);
    const before = [
      record("task", {
        containerDefinitions: defs([
          { name: "A", value: "1" },
          { name: "B", value: "2" },
        ]),
      }),
    ];
    const after = [
      record("task", {
        containerDefinitions: defs([
          { name: "A", value: "1" },
          { name: "AA", value: "new" },
          { name: "B", value: "3" },
        ]),
      }),
    ];
    expect(diffResources(before, after).resources[0]!.changes).toEqual([
      { path: "containerDefinitions[api].environment[B].value", before: "2", after: "3" },
      { path: "containerDefinitions[api].environment[AA]", after: { name: "AA", value: "new" } },
    ]);
  });

  it("keeps secrets as the placeholder resources.json holds, and writes paths readably", () => {
    const d = diffResources(
      [record("s", { password: "[secret]" })],
      [record("s", { password: "[secret]", length: 32 })],
    );
    expect(d.resources[0]!.changes).toEqual([{ path: "length", after: 32 }]);
    expect(formatPath(["policy", "Statement", 0, "Resource", 2])).toBe(
      "policy.Statement[0].Resource[2]",
    );
    expect(formatPath(["metadata", "annotations", "alb.ingress.kubernetes.io/scheme"])).toBe(
      'metadata.annotations["alb.ingress.kubernetes.io/scheme"]',
    );
  });

  it("renders for a terminal and for a pull request, and says so when nothing changes", () => {
    const d = diffResources(
      [record("db", { multiAz: false })],
      [record("db", { multiAz: true }), record("key", {}, "aws:kms/key:Key")],
    );
    const text = renderDiffText("staging", d);
    expect(text.split("\n")[0]).toBe("staging: 1 to add, 1 to change, 0 to remove");
    expect(text).toContain("multiAz: false -> true");
    const md = renderDiffMarkdown("staging", d);
    expect(md).toContain("### staging: 1 to add, 1 to change, 0 to remove");
    expect(md).toContain("| ~ | `aws:test/thing:Thing` | `db` | `multiAz: false -> true` |");
    expect(md).toContain("| + | `aws:kms/key:Key` | `key` |  |");
    expect(renderDiffText("dev", diffResources([], []))).toBe("dev: no changes");
  });
});

describe("synth --diff on real states", () => {
  let dir: string;
  let staging: SynthResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "synth-diff-"));
    staging = await synth("staging");
    writeSynthOutput(staging, join(dir, "before"));
    const changed = await synth("staging", [
      "rag-platform:observability.logRetentionDays=90",
      "rag-platform:vectorDb.mode=qdrant-cloud",
      "rag-platform:vectorDb.qdrantCloudUrl=https://xyz.cloud.qdrant.io:6333",
    ]);
    writeSynthOutput(changed, join(dir, "after"));
  });

  it("shows a config change as the resources and inputs it touches", async () => {
    const { code, stdout } = await synthCli([
      "--diff",
      join(dir, "before", "staging"),
      join(dir, "after", "staging", "resources.json"),
    ]);
    expect(code).toBe(0);
    expect(stdout.split("\n")[0]).toMatch(/^staging: \d+ to add, \d+ to change, 0 to remove$/);
    expect(stdout).toMatch(
      /^\+\s+aws:secretsmanager\/secret:Secret\s+rag-staging-qdrant-cloud-api-key$/m,
    );
    expect(stdout).toContain(
      "~ rag-staging-svc-api (aws:cloudwatch/logGroup:LogGroup)\n    retentionInDays: 30 -> 90",
    );
    expect(stdout).toContain(
      `containerDefinitions[api].environment[${ENV.vectorStore}].value: "pgvector" -> "qdrant"`,
    );
    expect(stdout).toContain(
      `containerDefinitions[worker].secrets[${ENV.qdrantApiKey}]: (absent) ->`,
    );
  });

  it("exits 1 with --exit-code only when something changes, and writes Markdown for a pull request", async () => {
    const same = await synthCli([
      "--diff",
      join(dir, "before", "staging"),
      join(dir, "before", "staging"),
      "--exit-code",
    ]);
    expect(same).toMatchObject({ code: 0, stdout: "staging: no changes\n" });
    const changed = await synthCli([
      "--diff",
      join(dir, "before", "staging"),
      join(dir, "after", "staging"),
      "--exit-code",
      "--markdown",
    ]);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(
      /^### staging: \d+ to add, \d+ to change, 0 to remove\n\n\| \| type \| name \| changed inputs \|/,
    );
  });

  it("names a missing or malformed state and how to give one", async () => {
    const missing = await synthCli(["--diff", join(dir, "nowhere"), join(dir, "after", "staging")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(
      `synth: cannot read ${join(dir, "nowhere")} (ENOENT): give a resources.json or the directory synth wrote it to`,
    );
    const notState = join(dir, "outputs.json");
    writeFileSync(notState, JSON.stringify({ apiUrl: "x" }));
    expect(
      (await synthCli(["--diff", notState, join(dir, "after", "staging")])).stderr.trim(),
    ).toBe(`synth: ${notState} is not a resources.json (an array of resources, each with a urn)`);
    const one = await synthCli(["--diff", join(dir, "after", "staging")]);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain("--diff takes two states, BEFORE and AFTER; got 1");
  });

  it("leaves a state it is compared with unchanged when nothing in the program changed", async () => {
    const again = await synth("staging");
    expect(diffResources(staging.resources, again.resources).resources).toEqual([]);
  });
});
