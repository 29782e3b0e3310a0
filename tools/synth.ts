/**
 * npm run synth -- --stack <tier> [--set key=value ...] [--out DIR]
 *
 * Runs the real program under Pulumi's runtime mocks with the real Pulumi.<tier>.yaml, prints
 * what would be created and writes DIR/<tier>/resources.json and outputs.json.
 *
 * npm run synth -- --diff BEFORE AFTER [--markdown] [--exit-code]
 *
 * What changes between two synthesized states (diff.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, NotImplementedError } from "../stacks/config-errors";
import {
  DiffInputError,
  diffResources,
  readResources,
  renderDiffMarkdown,
  renderDiffText,
} from "./diff";
import { STACK_TYPE, synthesize, type ResourceRecord, type SynthResult } from "./harness";
import { findingsTable, runPolicies } from "./policy-run";
import { StackFileError } from "./stack-file";
import { renderTable } from "./table";

const USAGE = [
  "usage: npm run synth -- --stack <dev|staging|sme|enterprise> [--set rag-platform:key=value ...] [--out DIR]",
  "       npm run synth -- --diff BEFORE AFTER [--markdown] [--exit-code]   (resources.json files or their directories)",
].join("\n");

/** The name part of a URN (its last `::` segment). */
export function urnName(urn: string | null): string {
  return urn ? urn.slice(urn.lastIndexOf("::") + 2) : "";
}

/** The resource type of a URN (the last `$` part of its qualified type). */
export function urnType(urn: string): string {
  return (urn.split("::")[2] ?? "").split("$").pop() ?? "";
}

export function resourceTable(resources: readonly ResourceRecord[]): string {
  const rows = resources
    .filter((r) => r.type !== STACK_TYPE)
    .map((r) => [
      r.type,
      r.name,
      !r.parent || urnType(r.parent) === STACK_TYPE ? "(stack)" : urnName(r.parent),
    ]);
  return renderTable(["TYPE", "NAME", "PARENT"], rows);
}

export function writeSynthOutput(result: SynthResult, outDir: string): string {
  const dir = join(outDir, result.stack);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "resources.json"), `${JSON.stringify(result.resources, null, 2)}\n`);
  writeFileSync(join(dir, "outputs.json"), `${JSON.stringify(result.outputs, null, 2)}\n`);
  return dir;
}

/** The stack a resources.json belongs to, from its URNs (urn:pulumi:<stack>::...). */
function stackOf(records: readonly ResourceRecord[]): string | undefined {
  return records[0]?.urn.split("::")[0]?.split(":")[2];
}

function runDiff(
  paths: readonly string[],
  options: { markdown: boolean; exitCode: boolean },
): number {
  if (paths.length !== 2) {
    console.error(
      `synth: --diff takes two states, BEFORE and AFTER; got ${paths.length}\n${USAGE}`,
    );
    return 2;
  }
  const [before, after] = paths.map(readResources) as [ResourceRecord[], ResourceRecord[]];
  const d = diffResources(before, after);
  const label = stackOf(after) ?? stackOf(before) ?? "stack";
  console.log(options.markdown ? renderDiffMarkdown(label, d) : renderDiffText(label, d));
  return options.exitCode && d.resources.length > 0 ? 1 : 0;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      stack: { type: "string" },
      set: { type: "string", multiple: true, default: [] },
      out: { type: "string", default: "out" },
      diff: { type: "boolean", default: false },
      markdown: { type: "boolean", default: false },
      "exit-code": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.diff)
    return runDiff(positionals, { markdown: values.markdown, exitCode: values["exit-code"] });
  if (positionals.length > 0) {
    console.error(
      `synth: unexpected argument ${positionals[0]} (only --diff takes paths)\n${USAGE}`,
    );
    return 2;
  }
  if (!values.stack) {
    console.error(`synth: --stack is required\n${USAGE}`);
    return 2;
  }
  const result = await synthesize({ stack: values.stack, sets: values.set });
  console.log(resourceTable(result.resources));
  const dir = writeSynthOutput(result, values.out);
  const count = result.resources.filter((r) => r.type !== STACK_TYPE).length;
  const shown = relative(process.cwd(), dir) || ".";
  console.log(
    `\n${count} resources for stack ${result.stack}; wrote ${shown}/resources.json and outputs.json`,
  );
  const evaluation = runPolicies({
    records: result.resources,
    tier: result.tier,
    stack: result.stack,
    outDir: dir,
    outputs: result.outputs,
  });
  console.log(`\n${findingsTable(evaluation)}`);
  console.log(
    `\npolicies (tier ${result.tier}): ${evaluation.findings.length} finding(s), ${evaluation.mandatoryViolations} mandatory; wrote ${shown}/policy-report.{json,sarif,md}`,
  );
  return evaluation.mandatoryViolations > 0 ? 1 : 0;
}

/** Known failures print their message alone: no stack trace for a bad config. */
function report(error: unknown): number {
  if (
    error instanceof ConfigError ||
    error instanceof NotImplementedError ||
    error instanceof StackFileError ||
    error instanceof DiffInputError
  ) {
    console.error(`synth: ${error.message}`);
    return 1;
  }
  if (
    error instanceof TypeError &&
    (error as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS")
  ) {
    console.error(`synth: ${error.message}\n${USAGE}`);
    return 2;
  }
  console.error(error);
  return 1;
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => process.exit(report(error)),
  );
}
