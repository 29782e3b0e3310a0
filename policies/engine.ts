/**
 * Evaluation shared by both places the pack runs: grading by tier, per-rule overrides in the
 * policy-pack config format, and the findings. No @pulumi/policy import: tools and tests load
 * this without starting the analyzer.
 */
import { ALL_RULES } from "./rules/all";
import type { ResourceView, Rule, RuleContext, Severity, Tier } from "./rules/types";

export type Enforcement = "mandatory" | "advisory" | "disabled";

/** The `--policy-pack-config` format: per rule, a level or `{ enforcementLevel }`; `all` for every rule. */
export type PackConfig = Record<
  string,
  Enforcement | { enforcementLevel?: Enforcement; [key: string]: unknown }
>;

const BLOCKING: readonly Severity[] = ["high", "critical"];

/**
 * The tier grading: dev is advisory; staging, sme and enterprise block on high and critical;
 * an unknown tier reads as the strictest. A rule outside its tiers is disabled.
 */
export function gradeFor(rule: Rule, tier: Tier | undefined): Enforcement {
  if (tier && rule.tiers && !rule.tiers.includes(tier)) return "disabled";
  if (tier === "dev") return "advisory";
  return BLOCKING.includes(rule.severity) ? "mandatory" : "advisory";
}

function configured(entry: PackConfig[string] | undefined): Enforcement | undefined {
  if (entry === undefined) return undefined;
  return typeof entry === "string" ? entry : entry.enforcementLevel;
}

/** The grade, then `all`, then the rule's own entry: the most specific setting wins. */
export function enforcementFor(
  rule: Rule,
  tier: Tier | undefined,
  config: PackConfig = {},
): Enforcement {
  return configured(config[rule.name]) ?? configured(config.all) ?? gradeFor(rule, tier);
}

export interface Finding {
  readonly rule: string;
  readonly area: Rule["area"];
  readonly severity: Severity;
  readonly enforcement: Exclude<Enforcement, "disabled">;
  readonly resource: { readonly urn: string; readonly type: string; readonly name: string };
  readonly message: string;
  readonly remediation: string;
  readonly checkov?: string;
  readonly tfsec?: string;
}

export interface RuleSummary {
  readonly rule: string;
  readonly severity: Severity;
  readonly enforcement: Enforcement;
  readonly checked: number;
  readonly violations: number;
}

export interface Evaluation {
  readonly tier: Tier | undefined;
  readonly findings: Finding[];
  readonly rules: RuleSummary[];
  readonly mandatoryViolations: number;
}

export function context(
  resources: readonly ResourceView[],
  tier: Tier | undefined,
  outputs?: Record<string, unknown>,
): RuleContext {
  return { tier, resources, byUrn: new Map(resources.map((r) => [r.urn, r])), outputs };
}

/** The resources a rule judges: every one of its types. */
export function subjectsOf(rule: Rule, resources: readonly ResourceView[]): ResourceView[] {
  return resources.filter((r) => rule.resourceTypes.includes(r.type));
}

/**
 * One rule's messages for one resource. A rule that throws cannot show the resource compliant,
 * so its error becomes a finding of that rule (the rules guard their reads; this is the net
 * under them). `passThrough` names errors that are not the rule's fault: under the real engine,
 * a value not known yet.
 */
export function judge(
  rule: Rule,
  resource: ResourceView,
  ctx: RuleContext,
  passThrough: (error: unknown) => boolean = () => false,
): string[] {
  try {
    return rule.check(resource, ctx);
  } catch (error) {
    if (passThrough(error)) throw error;
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return [`the rule failed on this resource (${what}), so cannot show it compliant`];
  }
}

/** Runs one rule over every resource of its types. */
export function runRule(
  rule: Rule,
  ctx: RuleContext,
): { resource: ResourceView; message: string }[] {
  return subjectsOf(rule, ctx.resources).flatMap((resource) =>
    judge(rule, resource, ctx).map((message) => ({ resource, message })),
  );
}

export function evaluate(
  resources: readonly ResourceView[],
  options: {
    tier: Tier | undefined;
    config?: PackConfig;
    outputs?: Record<string, unknown>;
    rules?: readonly Rule[];
  },
): Evaluation {
  const ctx = context(resources, options.tier, options.outputs);
  const findings: Finding[] = [];
  const summaries: RuleSummary[] = [];
  for (const rule of options.rules ?? ALL_RULES) {
    const enforcement = enforcementFor(rule, options.tier, options.config);
    const checked = subjectsOf(rule, resources).length;
    if (enforcement === "disabled") {
      summaries.push({
        rule: rule.name,
        severity: rule.severity,
        enforcement,
        checked,
        violations: 0,
      });
      continue;
    }
    const violations = runRule(rule, ctx);
    summaries.push({
      rule: rule.name,
      severity: rule.severity,
      enforcement,
      checked,
      violations: violations.length,
    });
    for (const v of violations) {
      findings.push({
        rule: rule.name,
        area: rule.area,
        severity: rule.severity,
        enforcement,
        resource: { urn: v.resource.urn, type: v.resource.type, name: v.resource.name },
        message: v.message,
        remediation: rule.remediation,
        checkov: rule.checkov,
        tfsec: rule.tfsec,
      });
    }
  }
  return {
    tier: options.tier,
    findings,
    rules: summaries,
    mandatoryViolations: findings.filter((f) => f.enforcement === "mandatory").length,
  };
}
