/**
 * npm run policies -- --resources <resources.json> --tier <tier> [--outputs <outputs.json>]
 *                     [--config <policy-pack-config.json>] [--out DIR]
 *
 * Evaluates the policy pack over any exported resources.json (a list of resources, or an object
 * with a `resources` list; no program, no cloud) and writes policy-report.{json,sarif,md} beside
 * it (or in DIR). Exits 1 on a mandatory violation.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import type { PackConfig } from "../policies/engine";
import { TIERS, type Tier } from "../policies/rules/types";
import type { ResourceRecord } from "./harness";
import { findingsTable, runPolicies } from "./policy-run";

const USAGE =
  "usage: npm run policies -- --resources <resources.json> --tier <dev|staging|sme|enterprise> [--outputs <outputs.json>] [--config <file>] [--out DIR]";

class UsageError extends Error {}

function readJson<T>(path: string, what: string): T {
  if (!existsSync(path)) throw new UsageError(`${what} ${path} does not exist`);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (error) {
    throw new UsageError(`${what} ${path} is not valid JSON (${(error as Error).message})`);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];

/**
 * The resources of an exported file: a list, or an object with a `resources` list. Each entry
 * needs a string type, name and urn (the reports name them); what the rules read is taken as it
 * comes, unreadable parts as absent, so a malformed input is judged (and fails strict) rather
 * than crashing the run.
 */
function recordsOf(json: unknown, path: string): ResourceRecord[] {
  const list = Array.isArray(json) ? json : isObject(json) ? json.resources : undefined;
  if (!Array.isArray(list))
    throw new UsageError(
      `resources file ${path} is neither a list of resources nor an object with a "resources" list`,
    );
  return list.map((entry: unknown, i) => {
    if (
      !isObject(entry) ||
      typeof entry.type !== "string" ||
      typeof entry.name !== "string" ||
      typeof entry.urn !== "string"
    )
      throw new UsageError(
        `resources file ${path}: entry ${i} is not a resource (an object with a string type, name and urn)`,
      );
    const dependencies = isObject(entry.propertyDependencies) ? entry.propertyDependencies : {};
    return {
      type: entry.type,
      name: entry.name,
      urn: entry.urn,
      parent: typeof entry.parent === "string" ? entry.parent : null,
      provider: typeof entry.provider === "string" ? entry.provider : null,
      custom: entry.custom !== false,
      inputs: isObject(entry.inputs) ? entry.inputs : {},
      dependencies: strings(entry.dependencies),
      propertyDependencies: Object.fromEntries(
        Object.entries(dependencies).map(([k, urns]) => [k, strings(urns)]),
      ),
      // Not read by the rules.
      customTimeouts: null,
      protect: false,
      retainOnDelete: false,
      aliases: [],
    };
  });
}

function run(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      resources: { type: "string" },
      tier: { type: "string" },
      outputs: { type: "string" },
      config: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.resources) throw new UsageError("--resources is required");
  if (!values.tier || !(TIERS as readonly string[]).includes(values.tier))
    throw new UsageError(
      `--tier must be one of ${TIERS.join(", ")} (got ${values.tier ?? "nothing"})`,
    );
  const records = recordsOf(
    readJson<unknown>(values.resources, "resources file"),
    values.resources,
  );
  const outputsPath = values.outputs ?? join(dirname(values.resources), "outputs.json");
  const outputs = existsSync(outputsPath)
    ? readJson<Record<string, unknown>>(outputsPath, "outputs file")
    : undefined;
  const config = values.config ? readJson<PackConfig>(values.config, "policy config") : undefined;
  const stack = String((outputs?.tier as string | undefined) ?? values.tier);
  const outDir = values.out ?? dirname(values.resources);
  const evaluation = runPolicies({
    records,
    tier: values.tier as Tier,
    stack,
    outDir,
    outputs,
    config,
  });
  console.log(findingsTable(evaluation));
  console.log(
    `\n${evaluation.findings.length} finding(s), ${evaluation.mandatoryViolations} mandatory, at tier ${values.tier}; wrote ${outDir}/policy-report.{json,sarif,md}`,
  );
  return evaluation.mandatoryViolations > 0 ? 1 : 0;
}

if (require.main === module) {
  try {
    process.exit(run(process.argv.slice(2)));
  } catch (error) {
    const message =
      error instanceof UsageError ||
      (error as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS")
        ? (error as Error).message
        : String(error);
    console.error(`policies: ${message}\n${USAGE}`);
    process.exit(2);
  }
}
