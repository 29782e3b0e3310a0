/**
 * `npm run synth -- --diff BEFORE AFTER`: what changes between two synthesized states of a stack
 * (two resources.json files, or the directories holding them), so a pull request can show what it
 * adds, changes and removes without cloud credentials. Resources are matched by URN; inputs are
 * compared deeply, looking inside JSON-encoded strings (ECS container definitions, IAM policies),
 * and lists of named things (environment variables, containers, ports) are matched by name, so a
 * change reads as `containerDefinitions[api].environment[LOG_LEVEL].value: "info" -> "debug"`
 * rather than as every later entry shifting by one. Secret values are already "[secret]" in
 * resources.json and stay so.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import diff from "microdiff";
import { type ResourceRecord, STACK_TYPE } from "./harness";
import { renderTable } from "./table";

/** Changed inputs listed per resource before the rest is summed up. */
const MAX_CHANGES_SHOWN = 12;
const MAX_VALUE_CHARS = 80;

export class DiffInputError extends Error {}

export interface InputChange {
  readonly path: string;
  /** undefined: the input was absent on that side. */
  readonly before?: unknown;
  readonly after?: unknown;
}

export interface ResourceDiff {
  readonly kind: "add" | "change" | "remove";
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly changes: readonly InputChange[];
}

export interface StackDiff {
  readonly resources: readonly ResourceDiff[];
  readonly counts: Readonly<Record<ResourceDiff["kind"], number>>;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** A list whose entries all have a distinct string `name`, as an object keyed `[name]`. */
function byName(list: readonly unknown[]): Record<string, unknown> | undefined {
  if (list.length === 0 || !list.every((e) => isRecord(e) && typeof e.name === "string"))
    return undefined;
  const names = list.map((e) => (e as { name: string }).name);
  if (new Set(names).size !== names.length) return undefined;
  return Object.fromEntries(list.map((e, i) => [`[${names[i]!}]`, e]));
}

/**
 * Inputs as they are compared: strings holding JSON documents opened up, and lists of named
 * entries keyed by name.
 */
function expandJson(value: unknown): unknown {
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (
      (trimmed.startsWith("{") && trimmed.endsWith("}")) ||
      (trimmed.startsWith("[") && trimmed.endsWith("]"))
    ) {
      try {
        return expandJson(JSON.parse(trimmed));
      } catch {
        return value;
      }
    }
    return value;
  }
  if (Array.isArray(value)) {
    const expanded = value.map(expandJson);
    return byName(expanded) ?? expanded;
  }
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandJson(v)]));
  return value;
}

export function formatPath(path: readonly (string | number)[]): string {
  return path
    .map((p, i) => {
      if (typeof p === "number") return `[${p}]`;
      if (/^\[[^\]]+\]$/.test(p)) return p; // a named entry (byName)
      return /^[A-Za-z_$][\w$]*$/.test(p) ? (i === 0 ? p : `.${p}`) : `[${JSON.stringify(p)}]`;
    })
    .join("");
}

/** What the inputs (and the provider) of one resource do between two states. */
export function inputChanges(before: ResourceRecord, after: ResourceRecord): InputChange[] {
  const a = {
    ...(expandJson(before.inputs) as Record<string, unknown>),
    provider: before.provider ?? undefined,
  };
  const b = {
    ...(expandJson(after.inputs) as Record<string, unknown>),
    provider: after.provider ?? undefined,
  };
  return diff(a, b).map((d) => ({
    path: formatPath(d.path),
    ...(d.type !== "CREATE" ? { before: d.oldValue as unknown } : {}),
    ...(d.type !== "REMOVE" ? { after: d.value as unknown } : {}),
  }));
}

/**
 * The URNs a resource was known by before a rename: its aliases, as the engine reads them (an
 * old type or name replaces the URN's last type or its name).
 */
export function aliasUrns(r: ResourceRecord): string[] {
  // resources.json written before aliases were recorded has none.
  return (r.aliases ?? []).map((alias) => {
    if (alias.urn) return alias.urn;
    const cut = r.urn.lastIndexOf("::");
    const [head, name] = [r.urn.slice(0, cut), r.urn.slice(cut + 2)];
    // The resource's own type follows its parents' types ("a$b$type") after the project's "::".
    const dollar = head.lastIndexOf("$");
    const typeStart = dollar >= 0 ? dollar + 1 : head.lastIndexOf("::") + 2;
    const types = alias.type ? `${head.slice(0, typeStart)}${alias.type}` : head;
    return `${types}::${alias.name ?? name}`;
  });
}

/** A renamed or retyped resource's old name and type, as changes. */
function renameChanges(old: ResourceRecord, r: ResourceRecord): InputChange[] {
  return [
    ...(old.type !== r.type ? [{ path: "(type)", before: old.type, after: r.type }] : []),
    ...(old.name !== r.name ? [{ path: "(name)", before: old.name, after: r.name }] : []),
  ];
}

export function diffResources(
  before: readonly ResourceRecord[],
  after: readonly ResourceRecord[],
): StackDiff {
  const index = (records: readonly ResourceRecord[]) =>
    new Map(records.filter((r) => r.type !== STACK_TYPE).map((r) => [r.urn, r]));
  const was = index(before);
  const now = index(after);
  const resources: ResourceDiff[] = [];
  const moved = new Set<string>();
  for (const [urn, r] of now) {
    // The same resource under its own URN, or under one of its aliases (moved, not replaced).
    const oldUrn = was.has(urn) ? urn : aliasUrns(r).find((a) => was.has(a) && !now.has(a));
    const old = oldUrn === undefined ? undefined : was.get(oldUrn);
    if (!old) resources.push({ kind: "add", type: r.type, name: r.name, urn, changes: [] });
    else {
      if (oldUrn !== urn) moved.add(oldUrn!);
      const changes = [...renameChanges(old, r), ...inputChanges(old, r)];
      if (changes.length > 0)
        resources.push({ kind: "change", type: r.type, name: r.name, urn, changes });
    }
  }
  for (const [urn, r] of was)
    if (!now.has(urn) && !moved.has(urn))
      resources.push({ kind: "remove", type: r.type, name: r.name, urn, changes: [] });
  const order = { remove: 0, change: 1, add: 2 };
  resources.sort(
    (x, y) =>
      order[x.kind] - order[y.kind] || x.type.localeCompare(y.type) || x.name.localeCompare(y.name),
  );
  const counts = { add: 0, change: 0, remove: 0 };
  for (const r of resources) counts[r.kind]++;
  return { resources, counts };
}

export function formatValue(value: unknown): string {
  if (value === undefined) return "(absent)";
  // JSON.stringify has no text for functions and symbols, which JSON input never holds.
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function changeLines(r: ResourceDiff): string[] {
  const lines = r.changes
    .slice(0, MAX_CHANGES_SHOWN)
    .map((c) => `${c.path}: ${formatValue(c.before)} -> ${formatValue(c.after)}`);
  if (r.changes.length > MAX_CHANGES_SHOWN)
    lines.push(`… and ${r.changes.length - MAX_CHANGES_SHOWN} more`);
  return lines;
}

export function summary(d: StackDiff): string {
  return `${d.counts.add} to add, ${d.counts.change} to change, ${d.counts.remove} to remove`;
}

const SIGN = { add: "+", change: "~", remove: "-" } as const;

/** For a terminal or a CI log. */
export function renderDiffText(label: string, d: StackDiff): string {
  if (d.resources.length === 0) return `${label}: no changes`;
  const rows = d.resources.map((r) => [SIGN[r.kind], r.type, r.name]);
  const details = d.resources
    .filter((r) => r.kind === "change")
    .map((r) => [`~ ${r.name} (${r.type})`, ...changeLines(r).map((l) => `    ${l}`)].join("\n"));
  return [
    `${label}: ${summary(d)}`,
    "",
    renderTable(["", "TYPE", "NAME"], rows),
    ...(details.length > 0 ? ["", ...details] : []),
  ].join("\n");
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** For a pull request (GitHub job summary or comment). */
export function renderDiffMarkdown(label: string, d: StackDiff): string {
  if (d.resources.length === 0) return `### ${label}: no changes\n`;
  const rows = d.resources.map(
    (r) =>
      `| ${SIGN[r.kind]} | \`${cell(r.type)}\` | \`${cell(r.name)}\` | ${changeLines(r)
        .map((l) => cell(`\`${l}\``))
        .join("<br>")} |`,
  );
  return [
    `### ${label}: ${summary(d)}`,
    "",
    "| | type | name | changed inputs |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}

/** A resources.json, given as the file or the directory holding it. */
export function readResources(path: string): ResourceRecord[] {
  const file =
    existsSync(path) && statSync(path).isDirectory() ? join(path, "resources.json") : path;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new DiffInputError(
      `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"}): give a resources.json or the directory synth wrote it to`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DiffInputError(`${file} is not JSON`);
  }
  if (
    !Array.isArray(parsed) ||
    parsed.some((r) => typeof (r as { urn?: unknown })?.urn !== "string")
  ) {
    throw new DiffInputError(
      `${file} is not a resources.json (an array of resources, each with a urn)`,
    );
  }
  return parsed as ResourceRecord[];
}
