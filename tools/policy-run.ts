/** Runs the policy pack offline over synthesized resources and writes the three reports. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { evaluate, type Evaluation, type PackConfig } from "../policies/engine";
import { jsonReport, markdownReport, sarifReport } from "../policies/report";
import type { ResourceView, Tier } from "../policies/rules/types";
import type { ResourceRecord } from "./harness";
import { renderTable } from "./table";

export function toViews(records: readonly ResourceRecord[]): ResourceView[] {
  return records.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: r.inputs,
    parent: r.parent ?? undefined,
    dependencies: r.dependencies ?? [],
    propertyDependencies: r.propertyDependencies ?? {},
  }));
}

export interface PolicyRunOptions {
  readonly records: readonly ResourceRecord[];
  readonly tier: Tier | undefined;
  readonly stack: string;
  readonly outDir: string;
  readonly outputs?: Record<string, unknown>;
  readonly config?: PackConfig;
}

export function runPolicies(o: PolicyRunOptions): Evaluation {
  const evaluation = evaluate(toViews(o.records), {
    tier: o.tier,
    outputs: o.outputs,
    config: o.config,
  });
  mkdirSync(o.outDir, { recursive: true });
  writeFileSync(join(o.outDir, "policy-report.json"), jsonReport(evaluation, o.stack));
  writeFileSync(
    join(o.outDir, "policy-report.sarif"),
    sarifReport(evaluation, `Pulumi.${o.stack}.yaml`),
  );
  writeFileSync(join(o.outDir, "policy-report.md"), markdownReport(evaluation, o.stack));
  return evaluation;
}

export function findingsTable(e: Evaluation): string {
  if (e.findings.length === 0) return "policies: no finding";
  return renderTable(
    ["ENFORCEMENT", "SEVERITY", "RULE", "RESOURCE", "MESSAGE"],
    e.findings.map((f) => [f.enforcement, f.severity, f.rule, f.resource.name, f.message]),
  );
}
