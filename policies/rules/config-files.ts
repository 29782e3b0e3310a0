/**
 * Secrets inside configuration files (a ConfigMap's `application.properties`, `.env`, JSON or
 * YAML): secret-named keys with a literal value, and credential-shaped values under any key.
 */
import { parse } from "yaml";
import { isObject, isSecretName, looksLikeSecretValue } from "./helpers";

/** A value that only points at one set elsewhere: ${VAR}, $(VAR), {{ template }}. */
const REFERENCE = /^\s*(\$\{[^}]*\}|\$\([^)]*\)|\{\{.*\}\})\s*$/;

function isLiteral(value: unknown): boolean {
  if (typeof value === "number" || typeof value === "bigint") return true;
  return typeof value === "string" && value.trim() !== "" && !REFERENCE.test(value);
}

function secretAt(key: string, value: unknown): boolean {
  return isLiteral(value) && (isSecretName(key) || looksLikeSecretValue(value));
}

/** Secret-named keys with literal values anywhere in parsed JSON or YAML. */
function inStructure(value: unknown, path: string): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => inStructure(v, `${path}[${i}]`));
  if (!isObject(value)) return [];
  return Object.entries(value).flatMap(([key, v]) => {
    const here = path ? `${path}.${key}` : key;
    return secretAt(key, v) ? [here] : inStructure(v, here);
  });
}

/** `KEY=value` and `key: value` lines (.properties, .env, flat YAML); comments skipped. */
function inLines(content: string): string[] {
  return content.split(/\r?\n/).flatMap((line) => {
    const m = /^\s*(?:export\s+)?([\w.\-[\]]+)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (!m || /^\s*[#!;]/.test(line)) return [];
    const value = m[2]!.replace(/^(["'])(.*)\1$/, "$2");
    return secretAt(m[1]!, value) ? [m[1]!] : [];
  });
}

/** Where a configuration file's text holds a literal secret: the keys' paths. */
export function secretsInFile(content: string): string[] {
  let parsed: unknown;
  try {
    parsed = parse(content);
  } catch {
    parsed = undefined;
  }
  const found =
    typeof parsed === "object" && parsed !== null ? inStructure(parsed, "") : inLines(content);
  const credentials = looksLikeSecretValue(content) && found.length === 0 ? ["its text"] : [];
  return [...found, ...credentials];
}
