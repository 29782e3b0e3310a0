/**
 * Reading Kubernetes workloads of any kind: which types carry a pod, where its spec is, and its
 * containers. What cannot be read is said, so the rules that needed it fail instead of passing.
 */
import { describeValue, isObject } from "./helpers";
import { isPatchType, kubernetesTypes, objectsOf } from "./kubernetes";
import type { ResourceView, Rule } from "./types";

/**
 * Every kind that carries a pod: where its pod spec is, and the API versions @pulumi/kubernetes
 * offers it in. Each is judged as itself, as its `*Patch` and as its `*List`
 * (test/policies/workloads.test.ts checks this against the SDK's typings).
 */
export const POD_BEARING_KINDS = {
  Pod: { podSpec: "spec", apiVersions: ["core/v1"] },
  PodTemplate: { podSpec: "template.spec", apiVersions: ["core/v1"] },
  ReplicationController: { podSpec: "spec.template.spec", apiVersions: ["core/v1"] },
  ReplicaSet: {
    podSpec: "spec.template.spec",
    apiVersions: ["apps/v1", "apps/v1beta2", "extensions/v1beta1"],
  },
  Deployment: {
    podSpec: "spec.template.spec",
    apiVersions: ["apps/v1", "apps/v1beta1", "apps/v1beta2", "extensions/v1beta1"],
  },
  StatefulSet: {
    podSpec: "spec.template.spec",
    apiVersions: ["apps/v1", "apps/v1beta1", "apps/v1beta2"],
  },
  DaemonSet: {
    podSpec: "spec.template.spec",
    apiVersions: ["apps/v1", "apps/v1beta2", "extensions/v1beta1"],
  },
  Job: { podSpec: "spec.template.spec", apiVersions: ["batch/v1"] },
  CronJob: {
    podSpec: "spec.jobTemplate.spec.template.spec",
    apiVersions: ["batch/v1", "batch/v1beta1", "batch/v2alpha1"],
  },
} as const satisfies Record<string, { podSpec: string; apiVersions: readonly string[] }>;

export type PodBearingKind = keyof typeof POD_BEARING_KINDS;

function typesOf(kinds: readonly PodBearingKind[]): string[] {
  return kinds.flatMap((kind) => kubernetesTypes(kind, POD_BEARING_KINDS[kind].apiVersions));
}

/** Every type that carries a pod. */
export const WORKLOAD_TYPES: readonly string[] = typesOf(
  Object.keys(POD_BEARING_KINDS) as PodBearingKind[],
);

/** The kinds that run replicas of one pod: what budgets, zone spread and replica counts concern. */
export const REPLICATED_TYPES: readonly string[] = typesOf([
  "Deployment",
  "StatefulSet",
  "ReplicaSet",
  "ReplicationController",
]);

/** The pod-bearing kind of a type, or undefined for a type that carries no pod. */
function kindOf(type: string): PodBearingKind | undefined {
  if (!WORKLOAD_TYPES.includes(type)) return undefined;
  return type.split(":")[2]!.replace(/(Patch|List)$/, "") as PodBearingKind;
}

export interface ContainerView {
  /** How a message names it: `container api`, `init container migrate`. */
  readonly label: string;
  readonly container: Record<string, unknown>;
  readonly ephemeral: boolean;
}

/** One pod a resource carries (a list carries one per item). */
export interface PodView {
  /** Prefixes this pod's messages: "" for the resource's own, `items[2]: ` in a list. */
  readonly prefix: string;
  /** The object holding the pod (the resource's inputs, or a list's item). */
  readonly object: Record<string, unknown> | undefined;
  /** The pod spec; undefined when it cannot be read (specProblem says why). */
  readonly spec: Record<string, unknown> | undefined;
  readonly specProblem?: string;
  /** The containers that can be read. */
  readonly containers: readonly ContainerView[];
  /** Why some containers cannot be read; empty when all can. */
  readonly containerProblems: readonly string[];
}

const CONTAINER_LISTS = [
  ["initContainers", "init container"],
  ["containers", "container"],
  ["ephemeralContainers", "ephemeral container"],
] as const;

function containersOf(
  spec: Record<string, unknown>,
  patch: boolean,
): Pick<PodView, "containers" | "containerProblems"> {
  const containers: ContainerView[] = [];
  const containerProblems: string[] = [];
  for (const [key, what] of CONTAINER_LISTS) {
    const value = spec[key];
    // A patch that leaves a list out leaves those containers as they are.
    if (value === undefined) {
      if (key === "containers" && !patch) containerProblems.push("containers is missing");
      continue;
    }
    if (!Array.isArray(value)) {
      containerProblems.push(`${key} is ${describeValue(value)}, not a list`);
      continue;
    }
    if (key === "containers" && value.length === 0 && !patch)
      containerProblems.push("containers is empty");
    value.forEach((c: unknown, i) => {
      if (!isObject(c)) containerProblems.push(`${key}[${i}] is ${describeValue(c)}`);
      else
        containers.push({
          label: `${what} ${typeof c.name === "string" ? c.name : `${key}[${i}]`}`,
          container: c,
          ephemeral: key === "ephemeralContainers",
        });
    });
  }
  return { containers, containerProblems };
}

function unreadablePod(prefix: string, object: unknown, problem: string): PodView {
  return {
    prefix,
    object: isObject(object) ? object : undefined,
    spec: undefined,
    specProblem: problem,
    containers: [],
    containerProblems: [],
  };
}

function podOf(
  object: Record<string, unknown>,
  prefix: string,
  path: string,
  patch: boolean,
): PodView | undefined {
  let node: unknown = object;
  for (const key of path.split(".")) {
    const next = (node as Record<string, unknown>)[key];
    // A patch that leaves the pod template out leaves the pods as they are.
    if (next === undefined && patch) return undefined;
    if (!isObject(next))
      return unreadablePod(
        prefix,
        object,
        `${path} is ${next === undefined ? "missing" : describeValue(next)}`,
      );
    node = next;
  }
  const spec = node as Record<string, unknown>;
  return { prefix, object, spec, ...containersOf(spec, patch) };
}

/** The pods a resource carries; none for a type that carries no pod, or a patch that writes none. */
export function podsOf(r: ResourceView): PodView[] {
  const kind = kindOf(r.type);
  if (!kind) return [];
  const path = POD_BEARING_KINDS[kind].podSpec;
  return objectsOf(r).flatMap(({ prefix, object, problem }) =>
    object
      ? (podOf(object, prefix, path, isPatchType(r.type)) ?? [])
      : [unreadablePod(prefix, undefined, problem!)],
  );
}

/** The finding for a pod, or some of its containers, that cannot be read. */
export const cannotRead = (pod: PodView, problem: string) =>
  `${pod.prefix}the pod spec cannot be read (${problem}), so it cannot be shown compliant`;

/**
 * A rule over each pod's own fields: the check gets a readable spec; an unreadable one fails.
 */
export function eachPod(
  check: (spec: Record<string, unknown>, pod: PodView) => string[],
): Rule["check"] {
  return (r) =>
    podsOf(r).flatMap((pod) =>
      pod.spec
        ? check(pod.spec, pod).map((m) => `${pod.prefix}${m}`)
        : [cannotRead(pod, pod.specProblem!)],
    );
}

/**
 * A rule over each container of each pod: the check gets a readable container (and its pod's
 * spec) and says what is wrong with it; containers that cannot be read fail the rule.
 */
export function eachContainer(
  check: (c: ContainerView, spec: Record<string, unknown>) => string | string[] | undefined,
): Rule["check"] {
  return (r) =>
    podsOf(r).flatMap((pod) => {
      if (!pod.spec) return [cannotRead(pod, pod.specProblem!)];
      const unreadable = pod.containerProblems.map((p) => cannotRead(pod, p));
      return [
        ...unreadable,
        ...pod.containers.flatMap((c) =>
          [check(c, pod.spec!) ?? []].flat().map((m) => `${pod.prefix}${c.label}: ${m}`),
        ),
      ];
    });
}
