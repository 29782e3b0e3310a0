/**
 * Kubernetes types in every form @pulumi/kubernetes offers (the object, its `*Patch`, its
 * `*List`) and the objects a resource of them holds.
 */
import { describeValue, isObject } from "./helpers";
import type { ResourceView, Rule, RuleContext } from "./types";

const FORMS = ["", "Patch", "List"] as const;

/** `kubernetes:<apiVersion>:<kind>` in each API version and form. */
export function kubernetesTypes(kind: string, apiVersions: readonly string[]): string[] {
  return apiVersions.flatMap((version) =>
    FORMS.map((form) => `kubernetes:${version}:${kind}${form}`),
  );
}

export const isListType = (type: string) => type.endsWith("List");
export const isPatchType = (type: string) => type.endsWith("Patch");

/** One object a resource holds: its inputs, or one item of a list. */
export interface ObjectView {
  /** Prefixes this object's messages: "" for the resource's own, `items[2]: ` in a list. */
  readonly prefix: string;
  /** The object; undefined when it cannot be read (problem says why). */
  readonly object: Record<string, unknown> | undefined;
  readonly problem?: string;
}

/** The objects a resource holds: itself, or the items of a `*List`. */
export function objectsOf(r: ResourceView): ObjectView[] {
  if (!isListType(r.type)) return [{ prefix: "", object: r.props }];
  const items = r.props.items;
  if (!Array.isArray(items))
    return [{ prefix: "", object: undefined, problem: `items is ${describeValue(items)}` }];
  return items.map((item: unknown, i) =>
    isObject(item)
      ? { prefix: `items[${i}]: `, object: item }
      : { prefix: `items[${i}]: `, object: undefined, problem: `it is ${describeValue(item)}` },
  );
}

/**
 * A rule over each object a resource holds: the check gets a readable object; one that cannot
 * be read fails the rule.
 */
export function eachObject(
  check: (object: Record<string, unknown>, r: ResourceView, ctx: RuleContext) => string[],
): Rule["check"] {
  return (r, ctx) =>
    objectsOf(r).flatMap(({ prefix, object, problem }) =>
      object
        ? check(object, r, ctx).map((m) => `${prefix}${m}`)
        : [`${prefix}the object cannot be read (${problem!}), so it cannot be shown compliant`],
    );
}

/** Annotations that keep a LoadBalancer Service off the internet, per cloud. */
const INTERNAL_LOAD_BALANCER: Readonly<Record<string, string>> = {
  "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
  "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
  "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
  "networking.gke.io/load-balancer-type": "Internal",
  "cloud.google.com/load-balancer-type": "Internal",
};

export function isInternalLoadBalancer(annotations: Record<string, unknown>): boolean {
  return Object.entries(INTERNAL_LOAD_BALANCER).some(([key, value]) => annotations[key] === value);
}
