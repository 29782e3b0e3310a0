/**
 * Reads a real `Pulumi.<stack>.yaml` and applies `--set key=value` overrides the way
 * `pulumi config set --path` does, producing the flat config map Pulumi hands a program.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export class StackFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackFileError";
  }
}

export interface StackConfig {
  /** Flat config: `namespace:key` -> the string Pulumi passes (objects/lists as JSON). */
  readonly config: Record<string, string>;
  /** Keys whose values are secure (`secure:` in the stack file). */
  readonly secretKeys: string[];
}

type Tree = Record<string, unknown>;

export function stackFilePath(projectDir: string, stack: string): string {
  return join(projectDir, `Pulumi.${stack}.yaml`);
}

export function readStackFile(projectDir: string, stack: string): Tree {
  const path = stackFilePath(projectDir, stack);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new StackFileError(`no stack file for stack "${stack}": ${path} does not exist`);
  }
  const doc = (parse(text) ?? {}) as { config?: Tree };
  return { ...(doc.config ?? {}) };
}

/** Splits `ns:a.b[0].c` into the top-level key and the path below it. */
function parsePath(key: string): { top: string; rest: (string | number)[] } {
  const match = /^([^:.[\]]+:[^.[\]]+)(.*)$/.exec(key);
  if (!match)
    throw new StackFileError(
      `--set ${key}: expected <namespace>:<key>[.<path>], e.g. rag-platform:llm.model`,
    );
  const rest: (string | number)[] = [];
  const pathPart = match[2] ?? "";
  const segment = /\.([^.[\]]+)|\[(\d+)\]/gy;
  let m: RegExpExecArray | null;
  while (segment.lastIndex < pathPart.length && (m = segment.exec(pathPart))) {
    rest.push(m[1] !== undefined ? m[1] : Number(m[2]));
  }
  if (segment.lastIndex !== pathPart.length)
    throw new StackFileError(`--set ${key}: cannot parse the path "${pathPart}"`);
  return { top: match[1]!, rest };
}

/** Like `pulumi config set --path`: `true`/`false` become booleans and integers numbers. */
function typedValue(raw: string): unknown {
  if (raw === "true") return true;
  if (raw === "false") return false;
  if (/^-?(0|[1-9]\d{0,14})$/.test(raw)) return Number(raw);
  return raw;
}

export function applySet(tree: Tree, assignment: string): Tree {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new StackFileError(`--set ${assignment}: expected key=value`);
  const { top, rest } = parsePath(assignment.slice(0, eq));
  const raw = assignment.slice(eq + 1);
  if (rest.length === 0) return { ...tree, [top]: raw };
  const root = structuredClone(tree[top] ?? (typeof rest[0] === "number" ? [] : {})) as Tree;
  let node: Record<string | number, unknown> = root;
  rest.forEach((seg, i) => {
    if (i === rest.length - 1) {
      node[seg] = typedValue(raw);
      return;
    }
    const next = rest[i + 1];
    if (typeof node[seg] !== "object" || node[seg] === null)
      node[seg] = typeof next === "number" ? [] : {};
    node = node[seg] as Record<string | number, unknown>;
  });
  return { ...tree, [top]: root };
}

/** Flattens the stack file's tree into the config map a Pulumi program receives. */
export function toConfigMap(tree: Tree): StackConfig {
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value === "object" && value !== null && !Array.isArray(value) && "secure" in value) {
      config[key] = "[secret]";
      secretKeys.push(key);
    } else if (typeof value === "object" && value !== null) {
      config[key] = JSON.stringify(value);
    } else {
      config[key] = String(value);
    }
  }
  return { config, secretKeys };
}

export function loadStackConfig(
  projectDir: string,
  stack: string,
  sets: readonly string[] = [],
): StackConfig {
  const tree = sets.reduce(applySet, readStackFile(projectDir, stack));
  return toConfigMap(tree);
}
