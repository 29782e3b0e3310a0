/**
 * The pack under the engine's protocol: `pulumi preview --policy-pack policies` starts the pack
 * with @pulumi/pulumi's run-policy-pack (ts-node, from policies/) and talks to it over the
 * Analyzer gRPC service. Here the test plays the engine: it starts the pack the same way, asks
 * for its policies, configures the stack's tier tag, and sends a synthesized stack to
 * AnalyzeStack. The verdicts must be the offline run's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Empty } from "google-protobuf/google/protobuf/empty_pb";
import type { AnalyzeResponse, AnalyzerInfo } from "@pulumi/pulumi/proto/analyzer_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TIER_TAG, toPolicies } from "../../policies/adapter";
import { evaluate } from "../../policies/engine";
import type { Tier } from "../../policies/rules/types";
import { PROJECT_DIR, type ResourceRecord } from "../../tools/harness";
import { synth } from "../helpers";
import { toViews } from "../../tools/policy-run";

// The very modules the pack's server uses, resolved from @pulumi/policy; typed by @pulumi/pulumi's .d.ts.
const policyRequire = createRequire(require.resolve("@pulumi/policy/package.json"));
const pulumiDir = dirname(policyRequire.resolve("@pulumi/pulumi/package.json"));
const pulumiRequire = createRequire(join(pulumiDir, "package.json"));
const grpc = policyRequire("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
const rpc = pulumiRequire(
  "./proto/analyzer_grpc_pb",
) as typeof import("@pulumi/pulumi/proto/analyzer_grpc_pb");
const pb = pulumiRequire(
  "./proto/analyzer_pb",
) as typeof import("@pulumi/pulumi/proto/analyzer_pb");
const { Struct } = pulumiRequire(
  "google-protobuf/google/protobuf/struct_pb",
) as typeof import("google-protobuf/google/protobuf/struct_pb");
const { Empty: EmptyMessage } = pulumiRequire(
  "google-protobuf/google/protobuf/empty_pb",
) as typeof import("google-protobuf/google/protobuf/empty_pb");

const LEVELS: Record<number, string> = {
  0: "advisory",
  1: "mandatory",
  2: "disabled",
  3: "remediate",
};

let pack: ChildProcess;
let client: InstanceType<typeof rpc.AnalyzerClient>;

/** A unary call of the Analyzer client as a promise. */
const unary = <Res>(
  start: (done: (err: Error | null, res: Res) => void) => unknown,
): Promise<Res> =>
  new Promise((resolve, reject) => start((err, res) => (err ? reject(err) : resolve(res))));

function analyzerResource(r: ResourceRecord) {
  const a = new pb.AnalyzerResource();
  a.setType(r.type);
  a.setUrn(r.urn);
  a.setName(r.name);
  a.setProperties(Struct.fromJavaScript(r.inputs as Parameters<typeof Struct.fromJavaScript>[0]));
  a.setOptions(new pb.AnalyzerResourceOptions());
  if (r.parent) a.setParent(r.parent);
  a.setDependenciesList(r.dependencies ?? []);
  for (const [key, urns] of Object.entries(r.propertyDependencies ?? {}))
    a.getPropertydependenciesMap().set(
      key,
      new pb.AnalyzerPropertyDependencies().setUrnsList(urns),
    );
  return a;
}

async function analyzeStack(records: readonly ResourceRecord[], tier: Tier, withMessages = false) {
  const configure = new pb.AnalyzerStackConfigureRequest();
  configure.setStack(tier);
  configure.setProject("rag-platform");
  configure.getTagsMap().set(TIER_TAG, tier);
  await unary<Empty>((done) => client.configureStack(configure, done));
  const request = new pb.AnalyzeStackRequest();
  request.setResourcesList(records.map(analyzerResource));
  const response = await unary<AnalyzeResponse>((done) => client.analyzeStack(request, done));
  return response.getDiagnosticsList().map((d) => ({
    rule: d.getPolicyname().replace(/-advisory$/, ""),
    urn: d.getUrn(),
    enforcement: LEVELS[d.getEnforcementlevel()],
    ...(withMessages ? { message: d.getMessage() } : {}),
  }));
}

const sorted = <T>(xs: T[]) => xs.map((x) => JSON.stringify(x)).sort();

/** The stack with its database public and unencrypted, and its Redis in plain text. */
const weakened = (records: readonly ResourceRecord[]) =>
  records.map((r) =>
    r.type === "aws:rds/instance:Instance"
      ? { ...r, inputs: { ...r.inputs, publiclyAccessible: true, storageEncrypted: false } }
      : r.type === "aws:elasticache/replicationGroup:ReplicationGroup"
        ? { ...r, inputs: { ...r.inputs, transitEncryptionEnabled: false } }
        : r,
  );

beforeAll(async () => {
  // As the CLI runs a Node.js policy pack: run-policy-pack <engine address> <pack>, from the pack's folder.
  pack = spawn(process.execPath, [join(pulumiDir, "cmd", "run-policy-pack"), "127.0.0.1:0", "."], {
    cwd: join(PROJECT_DIR, "policies"),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  pack.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  // The engine reads the port from the first line that is a number (anything else is the pack's output).
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    pack.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => /^\d+$/.test(l.trim()));
      if (line) resolve(line.trim());
    });
    pack.once("exit", (code) =>
      reject(new Error(`the policy pack exited with ${code}: ${stderr}`)),
    );
  });
  expect(port).toMatch(/^\d+$/);
  client = new rpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 120_000);

afterAll(() => {
  client?.close();
  pack?.kill();
});

describe("the policy pack over the engine's Analyzer protocol", () => {
  it("loads under ts-node and describes every policy with its severity and remediation", async () => {
    const info = await unary<AnalyzerInfo>((done) =>
      client.getAnalyzerInfo(new EmptyMessage(), done),
    );
    expect(info.getName()).toBe("rag-platform");
    const policies = info.getPoliciesList();
    const expected = toPolicies();
    expect(policies.map((p) => p.getName()).sort()).toEqual(expected.map((p) => p.name).sort());
    for (const p of policies) {
      expect(p.getRemediationSteps(), p.getName()).not.toBe("");
      expect(p.getSeverity(), p.getName()).toBeGreaterThan(0);
    }
  });

  it.each(["staging", "sme"] as const)(
    "gives the offline run's verdicts on the synthesized %s stack, and on it weakened (a public, unencrypted database blocks)",
    async (stack) => {
      const { resources, tier } = await synth(stack);
      const offline = (records: readonly ResourceRecord[]) =>
        evaluate(toViews(records), { tier }).findings.map((f) => ({
          rule: f.rule,
          urn: f.resource.urn,
          enforcement: f.enforcement,
        }));
      const clean = await analyzeStack(resources, tier);
      expect(sorted(clean)).toEqual(sorted(offline(resources)));
      expect(clean.filter((d) => d.enforcement === "mandatory")).toEqual([]);

      const opened = weakened(resources);
      const db = opened.find((r) => r.type === "aws:rds/instance:Instance")!;
      const verdicts = await analyzeStack(opened, tier);
      expect(verdicts).toContainEqual({
        rule: "aws-rds-not-public",
        urn: db.urn,
        enforcement: "mandatory",
      });
      expect(
        new Set(verdicts.map((v) => v.rule)).size,
        "several rules fire",
      ).toBeGreaterThanOrEqual(3);
      expect(sorted(verdicts)).toEqual(sorted(offline(opened)));
    },
    60_000,
  );

  it("during a preview, a rule that meets a value not known yet says it cannot run (advisory) instead of passing or blocking", async () => {
    const { resources } = await synth("staging");
    // How the engine sends a value computed by the cloud, during a preview.
    const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const previewed = resources.map((r) =>
      r.type === "aws:rds/instance:Instance"
        ? { ...r, inputs: { ...r.inputs, publiclyAccessible: UNKNOWN } }
        : r,
    );
    const db = previewed.find((r) => r.type === "aws:rds/instance:Instance")!;
    const diagnostics = await analyzeStack(previewed, "staging", true);
    const cannotRun = {
      rule: "aws-rds-not-public",
      urn: "",
      enforcement: "advisory",
      message:
        "can't run policy 'aws-rds-not-public' from policy pack 'rag-platform@v0.1.0' during preview: string value at .publiclyAccessible can't be known during preview",
    };
    expect(diagnostics).toEqual([cannotRun]);
    // Once known (the check at the end of `pulumi up`), the same value is judged.
    const known = previewed.map((r) =>
      r.urn === db.urn ? { ...r, inputs: { ...r.inputs, publiclyAccessible: true } } : r,
    );
    expect(await analyzeStack(known, "staging")).toContainEqual({
      rule: "aws-rds-not-public",
      urn: db.urn,
      enforcement: "mandatory",
    });

    // One unknown value does not hide the rest: a second database, public in plain sight and
    // listed after the first, still blocks the preview.
    const second = {
      ...db,
      name: "second-db",
      urn: db.urn.replace(/::[^:]+$/, "::second-db"),
      inputs: { ...db.inputs, publiclyAccessible: true },
    };
    const both = await analyzeStack([...previewed, second], "staging", true);
    expect(both.filter((d) => d.rule === "aws-rds-not-public")).toEqual([
      expect.objectContaining({
        rule: "aws-rds-not-public",
        urn: second.urn,
        enforcement: "mandatory",
      }),
      cannotRun,
    ]);
  }, 60_000);

  it("reports in dev what it blocks elsewhere, as advisory", async () => {
    const { resources } = await synth("staging");
    const verdicts = await analyzeStack(weakened(resources), "dev");
    expect(
      verdicts.filter((d) => d.rule === "aws-rds-not-public").map((d) => d.enforcement),
    ).toEqual(["advisory"]);
    expect(verdicts.filter((d) => d.enforcement === "mandatory")).toEqual([]);
  }, 60_000);
});
