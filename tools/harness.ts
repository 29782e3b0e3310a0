/**
 * Offline synthesis: runs the real program under Pulumi's runtime mocks with a real stack
 * file and records every resource the program registers. The CLI (synth.ts) and the tests
 * share this one harness.
 */
import { resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { resolveConfig, type Tier } from "../stacks/config";
import { main } from "../stacks/program";
import { readStackValues } from "../stacks/stack-values";
import { loadStackConfig } from "./stack-file";
import { SynthMocks } from "./mocks";

export const PROJECT = "rag-platform";
export const SECRET_PLACEHOLDER = "[secret]";
export const PROJECT_DIR = resolve(__dirname, "..");
/** The type of the stack's own root resource, which every state holds and no table lists. */
export const STACK_TYPE = "pulumi:pulumi:Stack";

export interface ResourceRecord {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** The parent's URN; null only for the stack itself. */
  readonly parent: string | null;
  /** The explicit provider reference (`urn::id`); null for the default provider. */
  readonly provider: string | null;
  /** True for cloud resources, false for components. */
  readonly custom: boolean;
  /** The inputs the program sent, with every secret value replaced by "[secret]". */
  readonly inputs: Record<string, unknown>;
  /** URNs this resource depends on (explicitly or through its inputs). */
  readonly dependencies: string[];
  /** For each input property, the URNs of the resources its value came from. */
  readonly propertyDependencies: Record<string, string[]>;
  /** How long the engine waits for each operation, where the program overrides the provider's default. */
  readonly customTimeouts: CustomTimeouts | null;
  /** `pulumi destroy` refuses while this is set. */
  readonly protect: boolean;
  /** `pulumi destroy` leaves the cloud resource in place and only forgets it. */
  readonly retainOnDelete: boolean;
  /**
   * What the resource was before a rename (its old type or name, or old URN): the engine then
   * moves it instead of replacing it. Empty for most.
   */
  readonly aliases: readonly AliasRecord[];
}

export interface AliasRecord {
  readonly urn?: string;
  readonly name?: string;
  readonly type?: string;
}

export interface CustomTimeouts {
  readonly create?: string;
  readonly update?: string;
  readonly delete?: string;
}

export interface SynthResult {
  readonly stack: string;
  /** The stack's resolved tier. */
  readonly tier: Tier;
  readonly resources: ResourceRecord[];
  /** Stack outputs, secrets replaced by "[secret]". */
  readonly outputs: Record<string, unknown>;
  /** The data sources the program called (token and inputs), in order. */
  readonly calls: readonly { token: string; inputs: Record<string, unknown> }[];
}

export interface SynthOptions {
  readonly stack: string;
  /** `pulumi config set --path` style overrides: `rag-platform:llm.model=llama3.1:8b`. */
  readonly sets?: readonly string[];
  /** @default the repository root */
  readonly projectDir?: string;
  /**
   * What runs under the mocks, with the stack's configuration set: a test composes components or
   * platforms of its own this way. @default the program (stacks/program.ts)
   */
  readonly program?: () => Promise<Record<string, pulumi.Input<unknown>>>;
}

/** Replaces Pulumi's serialized secrets and resource references by stable, printable values. */
export function sanitize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sanitize);
  if (pulumi.Resource.isInstance(value)) return { resourceRef: true };
  if (typeof value === "object" && value !== null) {
    const obj = value as Record<string, unknown>;
    if (obj[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig)
      return SECRET_PLACEHOLDER;
    if (obj[pulumi.runtime.specialSigKey] === pulumi.runtime.specialResourceSig)
      return { resourceRef: obj.urn };
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, sanitize(v)]));
  }
  return value;
}

interface RegisterRequest {
  getDependenciesList(): string[];
  getPropertydependenciesMap(): {
    forEach(fn: (value: { getUrnsList(): string[] }, key: string) => void): void;
  };
  getType(): string;
  getName(): string;
  getParent(): string;
  getProvider(): string;
  getCustom(): boolean;
  getObject(): unknown;
  getCustomtimeouts():
    { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getAliasesList(): {
    getUrn(): string;
    getSpec(): { getName(): string; getType(): string } | undefined;
  }[];
}
interface RegisterResponse {
  getUrn(): string;
}
type Callback = (err: unknown, response: RegisterResponse | undefined) => void;
interface PatchableMonitor {
  registerResource(req: RegisterRequest, callback: Callback): Promise<void>;
}

function propertyDependencies(req: RegisterRequest): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((value, key) => {
    const urns = value.getUrnsList();
    if (urns.length > 0) result[key] = [...new Set(urns)];
  });
  return result;
}

function aliases(req: RegisterRequest): AliasRecord[] {
  return req.getAliasesList().map((alias) => {
    const spec = alias.getSpec();
    const fields = { urn: alias.getUrn(), name: spec?.getName(), type: spec?.getType() };
    return Object.fromEntries(Object.entries(fields).filter(([, v]) => v));
  });
}

function customTimeouts(req: RegisterRequest): CustomTimeouts | null {
  const t = req.getCustomtimeouts();
  const set = Object.entries({
    create: t?.getCreate(),
    update: t?.getUpdate(),
    delete: t?.getDelete(),
  }).filter(([, v]) => v);
  return set.length > 0 ? Object.fromEntries(set) : null;
}

/** Wraps the mock monitor so each registration is recorded with its parent, provider and URN. */
function recordRegistrations(records: ResourceRecord[], mocks: SynthMocks): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as PatchableMonitor;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = async (req, callback) => {
    const inputs = pulumi.runtime.deserializeProperties(req.getObject() as never) as Record<
      string,
      unknown
    >;
    return register(req, (err, response) => {
      if (!err && response) {
        if (req.getType().startsWith("pulumi:providers:"))
          mocks.noteProvider(response.getUrn(), inputs);
        records.push({
          type: req.getType(),
          name: req.getName(),
          urn: response.getUrn(),
          parent: req.getParent() || null,
          provider: req.getProvider() || null,
          custom: req.getCustom(),
          inputs: sanitize(inputs) as Record<string, unknown>,
          dependencies: [...new Set(req.getDependenciesList())],
          propertyDependencies: propertyDependencies(req),
          customTimeouts: customTimeouts(req),
          protect: req.getProtect(),
          retainOnDelete: req.getRetainondelete(),
          aliases: aliases(req),
        });
      }
      callback(err, response);
    });
  };
}

function waitForRegistrations(): Promise<void> {
  // Internal to the SDK but exported: it drains the RPC queue the same way `disconnect` does.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module's .d.ts does not declare waitForRPCs
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  return settings.waitForRPCs();
}

/** Resolves each stack output; a secret output (or one holding a secret) prints as "[secret]". */
async function resolveOutputs(
  outputs: Record<string, pulumi.Input<unknown>>,
): Promise<Record<string, unknown>> {
  const resolved: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(outputs)) {
    const output = pulumi.output(value) as pulumi.Output<unknown>;
    const plain = await new Promise<unknown>((done) => output.apply(done));
    resolved[key] = (await pulumi.isSecret(output)) ? SECRET_PLACEHOLDER : sanitize(plain);
  }
  return resolved;
}

/**
 * Runs the program for one stack. Throws the program's own error (ConfigError for bad config)
 * before any resource is recorded when the configuration is invalid.
 */
export async function synthesize(options: SynthOptions): Promise<SynthResult> {
  const projectDir = options.projectDir ?? PROJECT_DIR;
  const { config, secretKeys } = loadStackConfig(projectDir, options.stack, options.sets);
  const records: ResourceRecord[] = [];
  const mocks = new SynthMocks();
  await pulumi.runtime.setMocks(mocks, PROJECT, options.stack, false);
  pulumi.runtime.setAllConfig(config, secretKeys);
  recordRegistrations(records, mocks);
  let programError: unknown;
  let outputs: Record<string, pulumi.Input<unknown>> = {};
  await pulumi.runtime.runInPulumiStack(async () => {
    try {
      outputs = await (options.program ?? main)();
    } catch (error) {
      programError = error;
    }
    return outputs;
  });
  // Drained even when the program failed, so the stack's own late RPCs cannot land in the next run's mocks.
  await waitForRegistrations();
  if (programError !== undefined)
    throw programError instanceof Error
      ? programError
      : new Error(`the program failed: ${JSON.stringify(programError)}`);
  const { tier } = resolveConfig(readStackValues(config));
  return {
    stack: options.stack,
    tier,
    resources: records,
    outputs: await resolveOutputs(outputs),
    calls: mocks.calls,
  };
}
