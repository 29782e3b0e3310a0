import { synthesize, type ResourceRecord, type SynthResult } from "../tools/harness";

export const CONTAINER = "docker:index/container:Container";

export async function synth(stack: string, sets: string[] = []): Promise<SynthResult> {
  return synthesize({ stack, sets });
}

export function ofType(result: SynthResult, type: string): ResourceRecord[] {
  return result.resources.filter((r) => r.type === type);
}

export function byName(result: SynthResult, name: string): ResourceRecord {
  const found = result.resources.find((r) => r.name === name && r.custom);
  if (!found) throw new Error(`no resource named ${name}; have ${result.resources.map((r) => r.name).join(", ")}`);
  return found;
}

/** Docker `envs` ("KEY=VALUE") as a map. */
export function envMap(container: ResourceRecord): Record<string, string> {
  const envs = (container.inputs.envs ?? []) as string[];
  return Object.fromEntries(envs.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}
