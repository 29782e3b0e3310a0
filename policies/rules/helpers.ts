/** Small readers shared by the rules. Unknown values read as "not set": rules fail strict. */
import type { ResourceView, RuleContext } from "./types";

/** The offline placeholder for a secret value (the synthesizer writes it). */
export const SECRET_PLACEHOLDER = "[secret]";

export function get(obj: unknown, path: string): unknown {
  let node: unknown = obj;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** A plain object (not null, not a list). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What a value is, for a message saying why it cannot be read. */
export function describeValue(value: unknown): string {
  if (value === SECRET_PLACEHOLDER) return "a secret (hidden)";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** A value as a message shows it: a scalar as it is, anything else described. */
export function shown(value: unknown): string {
  return ["string", "number", "boolean"].includes(typeof value)
    ? String(value)
    : describeValue(value);
}

export function list<T = unknown>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

/** The entries of a list that are objects: what a rule can read of it. */
export function records(value: unknown): Record<string, unknown>[] {
  return list(value).filter(isObject);
}

/** A list's names: strings kept, other scalars written out, anything else left out. */
export function strings(value: unknown): string[] {
  return (typeof value === "string" ? [value] : list(value)).flatMap((v) =>
    typeof v === "string"
      ? [v]
      : typeof v === "number" || typeof v === "boolean"
        ? [String(v)]
        : [],
  );
}

/**
 * Why a list a rule must see whole cannot be: it is not a list, or some entries are not objects.
 * A hidden entry could be the very one the rule forbids, so each fails the rule.
 */
export function unreadableEntries(value: unknown, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return [`${what} cannot be read (it is ${describeValue(value)})`];
  return Array.from(value as unknown[]).flatMap((v, i) =>
    isObject(v) ? [] : [`${what}[${i}] cannot be read (it is ${describeValue(v)})`],
  );
}

export function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

export function isFalse(value: unknown): boolean {
  return value === false || value === "false";
}

export function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** The AKS types whose node pools the rules judge. */
export const AKS_CLUSTER = "azure-native:containerservice:ManagedCluster";
export const AKS_AGENT_POOL = "azure-native:containerservice:AgentPool";

/**
 * The node pools an AKS resource declares, each with how a message names it: an AgentPool is
 * one pool; a managed cluster has its inline agentPoolProfiles.
 */
export function aksNodePools(
  r: ResourceView,
): { readonly pool: Record<string, unknown>; readonly label: string }[] {
  if (r.type === AKS_AGENT_POOL) return [{ pool: r.props, label: "the pool" }];
  // A pool that cannot be read is judged as empty: it shows none of the settings required.
  return Array.from(list(r.props.agentPoolProfiles)).map((entry, i) => {
    const pool = isObject(entry) ? entry : {};
    return { pool, label: `pool ${text(pool.name) ?? i}` };
  });
}

/** Resources of a type that depend, through `property`, on `target`. */
export function referencing(
  ctx: RuleContext,
  type: string,
  property: string,
  target: ResourceView,
): ResourceView[] {
  return ctx.resources.filter(
    (r) => r.type === type && (r.propertyDependencies[property] ?? []).includes(target.urn),
  );
}

/** The resources `resource` took `property` from. */
export function referenced(
  ctx: RuleContext,
  resource: ResourceView,
  property: string,
): ResourceView[] {
  return (resource.propertyDependencies[property] ?? []).flatMap((urn) => {
    const found = ctx.byUrn.get(urn);
    return found ? [found] : [];
  });
}

/** Names that usually hold credentials. */
export const SECRET_NAME =
  /(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|auth[_-]?key|access[_-]?key)$/i;
/** Names that end like a secret but only point at one (files, references, ids). */
const SECRET_POINTER = /(_FILE|_ARN|_REF|_PATH|_ID|_NAME)$/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !SECRET_POINTER.test(name);
}

/** Values that are credentials whatever they are called. */
const SECRET_VALUES = [
  /:\/\/[^/\s:@]+:[^/\s@]+@/, // URL with user:password
  /\bAKIA[0-9A-Z]{16}\b/, // AWS access key id
  /-----BEGIN (RSA |EC |OPENSSH )?PRIVATE KEY-----/,
  /\bsk-[A-Za-z0-9_-]{20,}\b/, // OpenAI-style keys
  /\bgh[pousr]_[A-Za-z0-9]{30,}\b/, // GitHub tokens
];

export function looksLikeSecretValue(value: unknown): boolean {
  return (
    typeof value === "string" &&
    (value === SECRET_PLACEHOLDER || SECRET_VALUES.some((re) => re.test(value)))
  );
}

/** A plain value under a secret-looking name, or a credential-looking value under any name. */
export function secretInPlainValue(name: string, value: unknown): string | undefined {
  if (looksLikeSecretValue(value)) return `${name} holds a credential as a plain value`;
  if (isSecretName(name) && typeof value === "string" && value !== "")
    return `${name} is a secret-named variable with a plain value`;
  return undefined;
}
