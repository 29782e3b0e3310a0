/**
 * npm run docs [-- --check]
 *
 * The reference tables of the docs, generated from the code they describe: every config key from
 * the zod schema and the presets, the runtime's environment contract from runtime/src/config.ts,
 * the policy rules, and the tier x cloud table from the registry. Each lives between
 * `<!-- generated:NAME -->` and `<!-- end:NAME -->` in its file. --check writes nothing and exits
 * 1 when a file differs from what the code gives (test/docs/generated.test.ts runs it too).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as prettier from "prettier";
import { z } from "zod";
import {
  BURN_RATE_WINDOWS,
  errorBudget,
  ragSlos,
  type BurnRateWindow,
} from "../components/kubernetes/slo";
import { rulesMarkdownTable } from "../policies/rule-table";
import { ENV, runtimeConfigSchema, SECRET_ENV } from "../runtime/src/config";
import { configSchema } from "../stacks/config";
import { RENAMED_KEYS, RENAMED_VALUES } from "../stacks/config-renames";
import { CLOUDS, TIERS, type Cloud, type Tier } from "../stacks/choices";
import { presetFor } from "../stacks/presets";
import { PLATFORMS, cloudsOf } from "../stacks/registry";
import { KUBERNETES_NAMESPACE } from "../stacks/platforms/kubernetes-flows";
import { PROJECT_DIR } from "./harness";

interface JsonSchema {
  readonly type?: string;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly format?: string;
  readonly description?: string;
  readonly properties?: Record<string, JsonSchema>;
  readonly items?: JsonSchema;
  readonly additionalProperties?: JsonSchema | boolean;
}

const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const code = (text: string) => `\`${text}\``;

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]) {
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** What a value may be, from its JSON schema: the choices, a bounded number, a list of... */
function allowed(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => code(String(v))).join(", ");
  if (s.type === "array") return `list of ${s.items ? allowed(s.items) : "values"}`;
  if (s.type === "object" && typeof s.additionalProperties === "object")
    return `map of name to ${allowed(s.additionalProperties)}`;
  if (s.type === "integer" || s.type === "number") {
    const kind = s.type === "integer" ? "whole number" : "number";
    // zod's int() bounds an unbounded integer by the largest safe one: no bound a reader needs.
    if (s.minimum !== undefined && s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER)
      return `${kind} ${s.minimum}-${s.maximum}`;
    return s.minimum !== undefined ? `${kind} >= ${s.minimum}` : kind;
  }
  if (s.type === "boolean") return "`true`, `false`";
  if (s.format === "uri") return "URL";
  return "text";
}

function formatValue(value: unknown): string {
  if (value === undefined) return "-";
  if (Array.isArray(value)) return value.length === 0 ? "[]" : value.map(formatValue).join(", ");
  return typeof value === "string" ? value : JSON.stringify(value);
}

const valueAt = (root: unknown, path: readonly string[]) =>
  path.reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], root);

/** A tier's default: one value, or one per cloud where the clouds' presets differ. */
function tierDefault(tier: Tier, path: readonly string[]): string {
  const clouds = cloudsOf(tier);
  const values = clouds.map((cloud) => formatValue(valueAt(presetFor(tier, cloud), path)));
  if (values.every((v) => v === values[0])) return values[0]!;
  return clouds.map((cloud, i) => `${cloud}: ${values[i]}`).join("; ");
}

interface Leaf {
  readonly path: readonly string[];
  readonly schema: JsonSchema;
  readonly meaning: string;
}

function leaves(schema: JsonSchema, path: readonly string[] = [], context = ""): Leaf[] {
  if (schema.type === "object" && schema.properties) {
    const here = [context, path.length > 0 ? schema.description : undefined]
      .filter(Boolean)
      .join(" ");
    return Object.entries(schema.properties).flatMap(([key, child]) =>
      leaves(child, [...path, key], here),
    );
  }
  return [{ path, schema, meaning: [context, schema.description].filter(Boolean).join(" ") }];
}

/** Every `rag-platform:` key: what it takes, its default on each tier, what it means. */
export function configReference(): string {
  const rows = leaves(jsonSchema(configSchema)).map((leaf) => [
    code(leaf.path.join(".")),
    allowed(leaf.schema),
    ...TIERS.map((tier) => tierDefault(tier, leaf.path)),
    leaf.meaning,
  ]);
  return markdownTable(["key", "allowed", ...TIERS, "meaning"], rows);
}

/** Keys and values under their old names, which keep working with a warning. */
export function renamedReference(): string {
  const rows = [
    ...RENAMED_KEYS.map((r) => [code(r.from.join(".")), code(r.to.join("."))]),
    ...RENAMED_VALUES.map((r) => [
      `${code(r.key.join("."))}: ${code(r.from)}`,
      `${code(r.key.join("."))}: ${code(r.to)}`,
    ]),
  ];
  return markdownTable(["old", "now"], rows);
}

/** Every variable of the runtime's environment contract: its default, what it takes and means. */
export function envReference(): string {
  const properties = jsonSchema(runtimeConfigSchema).properties ?? {};
  const defaults = runtimeConfigSchema.parse({}) as Record<string, unknown>;
  const secret = new Set<string>(SECRET_ENV);
  const rows = Object.values(ENV).map((name) => {
    const s = properties[name] ?? {};
    return [
      code(name) + (secret.has(name) ? "\\*" : ""),
      formatValue(defaults[name]),
      allowed(s),
      s.description ?? "",
    ];
  });
  return markdownTable(["variable", "default", "allowed", "meaning"], rows);
}

/** The tier x cloud matrix: each built pair links to its page, a planned one says so. */
export function tierCloudTable(): string {
  const rows = CLOUDS.map((cloud: Cloud) => [
    code(cloud),
    ...TIERS.map((tier) => {
      const entry = PLATFORMS[tier][cloud];
      if (!entry) return "-";
      return entry.create || entry.compose
        ? `[${entry.label}](docs/tiers/${tier}-${cloud}.md)`
        : `${entry.label} (planned)`;
    }),
  ]);
  return markdownTable(["", ...TIERS], rows);
}

/** Who each alert severity reaches (the Alertmanager routes of observability-stack.ts). */
const ALERT_RECEIVERS: Record<BurnRateWindow["severity"], string> = {
  page: "PagerDuty (the on-call is paged)",
  ticket: "e-mail to `observability.alertEmails`",
};

/**
 * The SLOs each region's Prometheus evaluates (a self-hosted model adds time to first token): the
 * primary's, and a replica region's, with where each applies.
 */
export function sloReference(): string {
  const of = (replicaRegion: boolean) =>
    ragSlos(KUBERNETES_NAMESPACE, { selfHostedModel: true, replicaRegion });
  const primary = of(false);
  const replica = of(true);
  const names = (slos: readonly { name: string }[]) => new Set(slos.map((s) => s.name));
  const [inPrimary, inReplica] = [names(primary), names(replica)];
  const all = [...primary, ...replica.filter((s) => !inPrimary.has(s.name))];
  const rows = all.map((s) => [
    code(s.name),
    code(s.service),
    inPrimary.has(s.name) && inReplica.has(s.name)
      ? "every region"
      : inPrimary.has(s.name)
        ? "the primary"
        : "the other regions",
    `${s.objectivePercent}%`,
    `${Number((errorBudget(s) * 100).toPrecision(6))}%`,
    s.description,
  ]);
  return markdownTable(
    ["SLO", "service", "where", "objective", "error budget", "good means"],
    rows,
  );
}

/** When an SLO's alert fires and whom it reaches. */
export function burnRateReference(): string {
  const rows = BURN_RATE_WINDOWS.map((w) => [
    w.severity,
    `${w.burnRate}x over ${w.long}, confirmed over ${w.short}`,
    `${Number((((w.burnRate * hoursOf(w.long)) / (30 * 24)) * 100).toPrecision(3))}% of the 30-day budget`,
    ALERT_RECEIVERS[w.severity],
  ]);
  return markdownTable(
    ["severity", "fires when the burn rate is", "which spends", "reaches"],
    rows,
  );
}

function hoursOf(window: string): number {
  const n = Number(window.slice(0, -1));
  const unit = window.at(-1);
  if (unit === "m") return n / 60;
  if (unit === "h") return n;
  if (unit === "d") return n * 24;
  throw new Error(`unknown window ${window}`);
}

/** Each generated section: the file it lives in and what renders it. */
export const GENERATED: readonly { file: string; name: string; render: () => string }[] = [
  { file: "README.md", name: "tiers", render: tierCloudTable },
  { file: "docs/configuration.md", name: "config-keys", render: configReference },
  { file: "docs/configuration.md", name: "renamed-keys", render: renamedReference },
  { file: "docs/policies.md", name: "policy-rules", render: rulesMarkdownTable },
  { file: "runtime/README.md", name: "env-contract", render: envReference },
  { file: "docs/tiers/enterprise-operations.md", name: "slos", render: sloReference },
  { file: "docs/tiers/enterprise-operations.md", name: "burn-rates", render: burnRateReference },
];

/** The file's text with the section replaced by `body` (the markers must be there already). */
export function replaceSection(text: string, name: string, body: string): string {
  const start = `<!-- generated:${name} (npm run docs) -->`;
  const end = `<!-- end:${name} -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`no ${start} ... ${end} section`);
  return `${text.slice(0, from + start.length)}\n\n${body}\n\n${text.slice(to)}`;
}

/** Every file with a generated section, as the code would write it now (formatted). */
export async function renderDocs(root = PROJECT_DIR): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const { file, name, render } of GENERATED) {
    const path = join(root, file);
    const current = files.get(file) ?? readFileSync(path, "utf8");
    files.set(file, replaceSection(current, name, render()));
  }
  for (const [file, text] of files) {
    const options = await prettier.resolveConfig(join(root, file));
    files.set(file, await prettier.format(text, { ...options, filepath: join(root, file) }));
  }
  return files;
}

/** The files whose generated sections differ from what the code gives. */
export async function staleDocs(root = PROJECT_DIR): Promise<string[]> {
  const rendered = await renderDocs(root);
  return [...rendered]
    .filter(([file, text]) => readFileSync(join(root, file), "utf8") !== text)
    .map(([file]) => file);
}

async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { check: { type: "boolean", default: false } },
  });
  if (values.check) {
    const stale = await staleDocs();
    for (const file of stale) console.error(`docs: ${file} is out of date: run npm run docs`);
    return stale.length > 0 ? 1 : 0;
  }
  for (const [file, text] of await renderDocs()) writeFileSync(join(PROJECT_DIR, file), text);
  console.log(`docs: wrote ${GENERATED.map((g) => g.file).join(", ")}`);
  return 0;
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`docs: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
