/**
 * The rule model: plain data plus a check function, so the real engine (index.ts), the offline
 * evaluation (engine.ts) and the tests all run the same rules.
 */

export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const TIERS = ["dev", "staging", "sme", "enterprise"] as const;
export type Tier = (typeof TIERS)[number];

export type Area =
  | "encryption"
  | "transit"
  | "secrets"
  | "exposure"
  | "access"
  | "logging"
  | "resilience"
  | "pod-security";

/** One resource as both engines see it: its inputs and what it was built from. */
export interface ResourceView {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly props: Record<string, unknown>;
  readonly parent?: string;
  readonly dependencies: readonly string[];
  /** Input property -> URNs of the resources its value came from. */
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
}

export interface RuleContext {
  /** The stack's tier; undefined when unknown (rules then apply their strictest reading). */
  readonly tier: Tier | undefined;
  readonly resources: readonly ResourceView[];
  readonly byUrn: ReadonlyMap<string, ResourceView>;
  /** Stack outputs when known (offline); undefined under the real engine. */
  readonly outputs?: Record<string, unknown>;
}

export interface Rule {
  /** Unique, kebab-case: the policy name under `pulumi preview --policy-pack`. */
  readonly name: string;
  readonly area: Area;
  readonly description: string;
  readonly severity: Severity;
  /** One line: what to change. */
  readonly remediation: string;
  readonly checkov?: string;
  readonly tfsec?: string;
  /** Resource types the rule inspects. */
  readonly resourceTypes: readonly string[];
  /** Tiers where the rule applies (resilience is graded by tier). @default every tier */
  readonly tiers?: readonly Tier[];
  /** Messages for what is wrong with this resource; empty when compliant. */
  check(resource: ResourceView, ctx: RuleContext): string[];
}
