import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";

/**
 * A configuration problem. Extends RunError so `pulumi up` prints the message alone, without
 * a stack trace; one line per problem.
 */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(`invalid rag-platform configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** A capability a cloud's platform does not provide yet: fail whole, never a partial stack. */
export class NotImplementedError extends pulumi.RunError {
  constructor(what: string) {
    super(what);
    this.name = "NotImplementedError";
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function keyName(namespace: string, path: readonly PropertyKey[]): string {
  const parts = path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  return `${namespace}:${parts.replace(/^\./, "")}`;
}

function allowed(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_value":
      return `allowed: ${issue.values.map((v) => String(v)).join(", ")}`;
    case "invalid_type":
      return `expected ${issue.expected}`;
    case "too_small":
      return issue.origin === "array"
        ? `needs at least ${issue.minimum} item(s)`
        : `must be at least ${issue.minimum}`;
    case "too_big":
      return issue.origin === "array"
        ? `takes at most ${issue.maximum} item(s)`
        : `must be at most ${issue.maximum}`;
    default:
      return issue.message;
  }
}

/** `rag-platform:llm.gpuType: got "h100"; allowed: t4, a10g, l4, a100` */
export function formatIssue(namespace: string, issue: z.core.$ZodIssue, input: unknown): string[] {
  if (issue.code === "unrecognized_keys") {
    const parent = valueAt(input, issue.path);
    const known = Object.keys(typeof parent === "object" && parent !== null ? parent : {}).filter(
      (k) => !issue.keys.includes(k),
    );
    return issue.keys.map(
      (k) =>
        `${keyName(namespace, [...issue.path, k])}: unknown key; known keys here: ${known.sort().join(", ")}`,
    );
  }
  return [
    `${keyName(namespace, issue.path)}: got ${describe(valueAt(input, issue.path))}; ${allowed(issue)}`,
  ];
}
