/**
 * Keys and values renamed so that shared keys speak no one cloud's dialect. A stack file that
 * still uses an old name keeps working: its value moves to the new name, with a one-line
 * warning naming it. Setting both the old and the new name is an error (which one wins?).
 */
import { NAMESPACE } from "./choices";

export interface KeyRename {
  readonly from: readonly [string, string];
  readonly to: readonly [string, string];
}

export interface ValueRename {
  readonly key: readonly [string, string];
  readonly from: string;
  readonly to: string;
}

export const RENAMED_KEYS: readonly KeyRename[] = [
  { from: ["network", "vpcCidr"], to: ["network", "cidr"] },
  { from: ["network", "azCount"], to: ["network", "zoneCount"] },
  { from: ["network", "existingVpcId"], to: ["network", "existingNetworkId"] },
  { from: ["postgres", "instanceClass"], to: ["postgres", "size"] },
  { from: ["postgres", "multiAz"], to: ["postgres", "highAvailability"] },
  { from: ["redis", "nodeType"], to: ["redis", "size"] },
  { from: ["redis", "multiAz"], to: ["redis", "highAvailability"] },
  { from: ["kubernetes", "adminPrincipalArns"], to: ["kubernetes", "adminPrincipals"] },
];

export const RENAMED_VALUES: readonly ValueRename[] = [
  { key: ["network", "natGateways"], from: "per-az", to: "per-zone" },
];

const keyName = (path: readonly string[]) => `${NAMESPACE}:${path.join(".")}`;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export interface Renamed {
  /** The stack's values under the current names. */
  readonly values: Record<string, unknown>;
  /** One line per old name used. */
  readonly warnings: string[];
  /** One line per key set under both names. */
  readonly problems: string[];
}

/** The stack's values with every old name moved to its new one (the input is left as it was). */
export function applyRenames(stackValues: Record<string, unknown>): Renamed {
  const values: Record<string, unknown> = { ...stackValues };
  const warnings: string[] = [];
  const problems: string[] = [];
  for (const { from, to } of RENAMED_KEYS) {
    const section = values[from[0]];
    if (!isRecord(section) || !(from[1] in section)) continue;
    const { [from[1]]: value, ...rest } = section;
    if (to[1] in section) {
      problems.push(
        `${keyName(from)}: renamed ${keyName(to)}, which is set too; keep ${keyName(to)} only`,
      );
      continue;
    }
    values[from[0]] = { ...rest, [to[1]]: value };
    warnings.push(`${keyName(from)} is deprecated: it is now ${keyName(to)} (same meaning)`);
  }
  for (const { key, from, to } of RENAMED_VALUES) {
    const section = values[key[0]];
    if (!isRecord(section) || section[key[1]] !== from) continue;
    values[key[0]] = { ...section, [key[1]]: to };
    warnings.push(`${keyName(key)} "${from}" is deprecated: it is now "${to}" (same meaning)`);
  }
  return { values, warnings, problems };
}
