/**
 * Runs the rules under the real engine (`pulumi preview --policy-pack policies`). Kept apart from
 * index.ts so tests can drive it with the validation args @pulumi/policy passes, without
 * starting the analyzer server. Types only from @pulumi/policy: importing them runs nothing.
 */
import type { PolicyResource, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { context, gradeFor, judge, subjectsOf } from "./engine";
import { ALL_RULES } from "./rules/all";
import { TIERS, type ResourceView, type Rule, type Tier } from "./rules/types";

/**
 * The error @pulumi/policy's proxy throws when a rule reads a value not known yet (a preview), and
 * the class its server checks for. proxy.js is plain code (the server lives in server.js), so
 * loading it starts nothing; its .d.ts declares nothing, hence the require.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { UnknownValueError } = require("@pulumi/policy/proxy") as {
  UnknownValueError: new (...args: never[]) => Error;
};

const notKnownYet = (error: unknown) => error instanceof UnknownValueError;

/** The stack tag naming the tier: `pulumi stack tag set rag-platform:tier staging`. */
export const TIER_TAG = "rag-platform:tier";

export function toView(r: PolicyResource): ResourceView {
  return {
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: r.props,
    parent: r.parent?.urn,
    dependencies: r.dependencies.map((d) => d.urn),
    propertyDependencies: Object.fromEntries(
      Object.entries(r.propertyDependencies).map(([k, deps]) => [k, deps.map((d) => d.urn)]),
    ),
  };
}

function asTier(value: unknown): Tier | undefined {
  return (TIERS as readonly unknown[]).includes(value) ? (value as Tier) : undefined;
}

/** The tier: the policy's `tier` config, else the stack tag; unknown reads as the strictest. */
export function tierOf(
  args: Pick<StackValidationArgs, "getConfig" | "stackTags">,
): Tier | undefined {
  return asTier(args.getConfig<{ tier?: string }>().tier) ?? asTier(args.stackTags.get(TIER_TAG));
}

type Variant = "mandatory" | "advisory";

/**
 * One stack policy per rule and grade it can take. High and critical rules are registered twice:
 * `<rule>` (mandatory; reports where the tier grades it mandatory) and `<rule>-advisory` (reports
 * where the tier grades it advisory, i.e. dev). Per-rule overrides use the policy names.
 */
export function toPolicies(rules: readonly Rule[] = ALL_RULES): StackValidationPolicy[] {
  return rules.flatMap((rule) => {
    const variants: Variant[] =
      gradeFor(rule, undefined) === "mandatory" ? ["mandatory", "advisory"] : ["advisory"];
    return variants.map((variant) =>
      policyFor(
        rule,
        variant,
        variants.length > 1 && variant === "advisory" ? `${rule.name}-advisory` : rule.name,
      ),
    );
  });
}

function policyFor(rule: Rule, variant: Variant, name: string): StackValidationPolicy {
  return {
    name,
    description: rule.description,
    enforcementLevel: variant,
    severity: rule.severity,
    remediationSteps: rule.remediation,
    tags: [rule.area, ...(rule.checkov ? [rule.checkov] : []), ...(rule.tfsec ? [rule.tfsec] : [])],
    configSchema: { properties: { tier: { type: "string", enum: [...TIERS] } } },
    validateStack: (args, reportViolation) => {
      const tier = tierOf(args);
      const grade = gradeFor(rule, tier);
      if (grade === "disabled")
        args.notApplicable(`${rule.name} does not apply to the ${tier} tier`);
      if (grade !== variant)
        args.notApplicable(`${rule.name} is ${grade} for the ${tier ?? "unknown"} tier`);
      const ctx = context(args.resources.map(toView), tier);
      let unknownValue: Error | undefined;
      for (const resource of subjectsOf(rule, ctx.resources)) {
        try {
          for (const message of judge(rule, resource, ctx, notKnownYet))
            reportViolation(`${resource.name}: ${message}. ${rule.remediation}`, resource.urn);
        } catch (error) {
          unknownValue ??= error as Error;
        }
      }
      // Every resource whose values are known has been judged (a violation among them blocks the
      // preview); only then does the rule say, through @pulumi/policy, that it cannot finish yet.
      if (unknownValue) throw unknownValue;
    },
  };
}
