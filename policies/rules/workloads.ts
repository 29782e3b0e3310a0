/** Reading Kubernetes workloads of any kind. */
import { get, list } from "./helpers";
import type { ResourceView } from "./types";

export const WORKLOAD_TYPES = [
  "kubernetes:apps/v1:Deployment",
  "kubernetes:apps/v1:StatefulSet",
  "kubernetes:apps/v1:DaemonSet",
  "kubernetes:batch/v1:Job",
  "kubernetes:batch/v1:CronJob",
  "kubernetes:core/v1:Pod",
] as const;

/** The pod spec of any workload kind. */
export function podSpecOf(r: ResourceView): Record<string, unknown> | undefined {
  const spec =
    r.type === "kubernetes:core/v1:Pod"
      ? r.props.spec
      : r.type === "kubernetes:batch/v1:CronJob"
        ? get(r.props, "spec.jobTemplate.spec.template.spec")
        : get(r.props, "spec.template.spec");
  return typeof spec === "object" && spec !== null ? (spec as Record<string, unknown>) : undefined;
}

export function containersOf(r: ResourceView): Record<string, unknown>[] {
  const spec = podSpecOf(r);
  return [
    ...list<Record<string, unknown>>(spec?.initContainers),
    ...list<Record<string, unknown>>(spec?.containers),
  ];
}
