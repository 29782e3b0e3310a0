import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, inject } from "vitest";
import { resolveConfig } from "../stacks/config";
import { ConfigError } from "../stacks/config-errors";
import { eksPlatform } from "../stacks/platforms/aws-eks";
import type { KubernetesPlatform } from "../stacks/platforms/kubernetes";
import { readStackValues } from "../stacks/stack-values";
import { composeRegions } from "../stacks/tiers/core";
import { PROJECT_DIR, synthesize, type ResourceRecord, type SynthResult } from "../tools/harness";

const TSX = join(PROJECT_DIR, "node_modules", ".bin", "tsx");

/** Runs one of the CLIs in tools/ as a user would; its exit code and output, never a throw. */
export async function runTool(
  script: "synth" | "policies",
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(TSX, [`tools/${script}.ts`, ...args], {
      cwd: PROJECT_DIR,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export const CONTAINER = "docker:index/container:Container";

/** Results already synthesized in this worker, as JSON (each caller gets its own copy to change). */
const synthesized = new Map<string, Promise<string>>();

/**
 * The synthesized stack, once per (stack, overrides) in a test run: the run's cache directory
 * (test/global-setup.ts) shares a result between test files. A failure is not cached on disk.
 */
export async function synth(stack: string, sets: string[] = []): Promise<SynthResult> {
  if (process.env.RAG_UNIT_TESTS)
    throw new Error("unit tests do not synthesize (npm test runs this)");
  const key = JSON.stringify([stack, sets]);
  let json = synthesized.get(key);
  if (!json) {
    json = synthesizeThroughCache(key, stack, sets);
    synthesized.set(key, json);
  }
  return JSON.parse(await json) as SynthResult;
}

async function synthesizeThroughCache(key: string, stack: string, sets: string[]): Promise<string> {
  const dir = inject("synthCacheDir");
  const file = join(dir, `${createHash("sha256").update(key).digest("hex").slice(0, 24)}.json`);
  if (existsSync(file)) return readFileSync(file, "utf8");
  const json = JSON.stringify(await synthesize({ stack, sets }));
  // Written whole, then renamed: a worker reading at the same time sees all of it or nothing.
  const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(partial, json);
  renameSync(partial, file);
  return json;
}

/** The sme stack on EKS with `sets`, synthesized with its Kubernetes platform (its flow table). */
export async function synthEksPlatform(
  sets: string[],
): Promise<{ result: SynthResult; platform: KubernetesPlatform }> {
  let platform: KubernetesPlatform | undefined;
  const result = await synthesize({
    stack: "sme",
    sets,
    program: async () => {
      const cfg = resolveConfig(readStackValues());
      composeRegions(cfg, (c, site) => {
        platform = eksPlatform(c, site) as KubernetesPlatform;
        return platform;
      });
      return {};
    },
  });
  return { result, platform: platform! };
}

export function ofType(result: SynthResult, type: string): ResourceRecord[] {
  return result.resources.filter((r) => r.type === type);
}

/** The custom resource named `name` (of `type`, where several types share the name). */
export function byName(result: SynthResult, name: string, type?: string): ResourceRecord {
  const found = result.resources.find(
    (r) => r.name === name && r.custom && (type === undefined || r.type === type),
  );
  if (!found)
    throw new Error(
      `no resource${type ? ` of type ${type}` : ""} named ${name}; have ${result.resources.map((r) => r.name).join(", ")}`,
    );
  return found;
}

/**
 * Every URN created before r: its dependencies, its explicit provider and its parent (the SDK
 * registers a child once its parent's URN is known, and a component registers once its own
 * dependencies exist), transitively.
 */
export function waitedFor(result: SynthResult, r: ResourceRecord): Set<string> {
  const byUrn = new Map(result.resources.map((x) => [x.urn, x]));
  const direct = (x: ResourceRecord) => [
    ...x.dependencies,
    ...(x.provider ? [x.provider.slice(0, x.provider.lastIndexOf("::"))] : []),
    ...(x.parent ? [x.parent] : []),
  ];
  const seen = new Set<string>();
  const todo = direct(r);
  for (let urn = todo.pop(); urn !== undefined; urn = todo.pop()) {
    if (seen.has(urn)) continue;
    seen.add(urn);
    const next = byUrn.get(urn);
    if (next) todo.push(...direct(next));
  }
  return seen;
}

/** Docker `envs` ("KEY=VALUE") as a map. */
export function envMap(container: ResourceRecord): Record<string, string> {
  const envs = (container.inputs.envs ?? []) as string[];
  return Object.fromEntries(
    envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

/** The single custom resource of a type (fails when there are none or several). */
export function one(result: SynthResult, type: string): ResourceRecord {
  const found = ofType(result, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
}

/** Parses a JSON-string input (IAM policies, container definitions). */
export function json<T = unknown>(record: ResourceRecord, input: string): T {
  return JSON.parse(record.inputs[input] as string) as T;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export function statements(record: ResourceRecord, input = "policy"): PolicyStatement[] {
  return json<{ Statement: PolicyStatement[] }>(record, input).Statement;
}

export const asList = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/** The lines a configuration is refused with (after the first, which names the stack). */
export function refusedConfig(values: Record<string, unknown>): string[] {
  try {
    resolveConfig(values);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message
      .split("\n")
      .slice(1)
      .map((l) => l.trim());
  }
  throw new Error("accepted");
}

/** The enterprise tier's domain (Route 53 answers under it), as the tests give it. */
export const ENTERPRISE_DOMAIN = {
  hostname: "rag.example.com",
  hostedZoneId: "Z0123456789ABCDEFGHIJ",
};
/** What the enterprise tier requires beside its tier: the name it answers under, the repository Argo CD syncs. */
export const ENTERPRISE_REQUIRED = {
  domain: ENTERPRISE_DOMAIN,
  gitops: { repoUrl: "https://github.com/example-org/rag-platform-environments" },
};
