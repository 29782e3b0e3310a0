/**
 * Builds the arguments @pulumi/policy hands a stack validation (resources, getConfig,
 * stackTags, notApplicable), so the pack's policies run in tests without the analyzer server.
 */
import type {
  PolicyResource,
  ReportViolation,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { ResourceView } from "../../policies/rules/types";

/** What @pulumi/policy throws from notApplicable (the engine then records "not applicable"). */
export class NotApplicable extends Error {}

export function policyResources(views: readonly ResourceView[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const resources = views.map((v) => {
    const r = {
      type: v.type,
      name: v.name,
      urn: v.urn,
      props: v.props,
      opts: {},
      dependencies: [],
      propertyDependencies: {},
    } as unknown as PolicyResource;
    byUrn.set(v.urn, r);
    return r;
  });
  views.forEach((v, i) => {
    const r = resources[i] as unknown as {
      dependencies: PolicyResource[];
      propertyDependencies: Record<string, PolicyResource[]>;
    };
    r.dependencies = v.dependencies.flatMap((u) => (byUrn.has(u) ? [byUrn.get(u)!] : []));
    r.propertyDependencies = Object.fromEntries(
      Object.entries(v.propertyDependencies).map(([k, urns]) => [
        k,
        urns.flatMap((u) => (byUrn.has(u) ? [byUrn.get(u)!] : [])),
      ]),
    );
  });
  return resources;
}

export function stackArgs(
  views: readonly ResourceView[],
  options: { config?: Record<string, unknown>; stackTags?: Record<string, string> } = {},
): StackValidationArgs {
  return {
    resources: policyResources(views),
    getConfig: <T extends object>() => (options.config ?? {}) as T,
    stackTags: new Map(Object.entries(options.stackTags ?? {})),
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
}

export interface PolicyRun {
  readonly applicable: boolean;
  readonly reason?: string;
  readonly violations: { message: string; urn?: string }[];
}

export async function runPolicy(
  policy: StackValidationPolicy,
  args: StackValidationArgs,
): Promise<PolicyRun> {
  const violations: { message: string; urn?: string }[] = [];
  const report: ReportViolation = (message, urn) => violations.push({ message, urn });
  try {
    await policy.validateStack(args, report);
  } catch (error) {
    if (error instanceof NotApplicable)
      return { applicable: false, reason: error.message, violations };
    throw error;
  }
  return { applicable: true, violations };
}
