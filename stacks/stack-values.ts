import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE } from "./config";

/**
 * Parses one config value as Pulumi hands it to programs: objects and lists arrive as JSON
 * text, scalars as plain strings.
 */
export function parseConfigValue(raw: string): unknown {
  const trimmed = raw.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return raw;
    }
  }
  return raw;
}

/** The stack's `rag-platform:` values, keyed without the namespace. */
export function readStackValues(
  config: Record<string, string> = pulumi.runtime.allConfig(),
): Record<string, unknown> {
  const prefix = `${NAMESPACE}:`;
  const values: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(config)) {
    if (key.startsWith(prefix)) values[key.slice(prefix.length)] = parseConfigValue(raw);
  }
  return values;
}
