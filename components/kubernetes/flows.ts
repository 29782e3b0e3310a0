/**
 * The flow table: every connection the platform's workloads make, written once (source workload
 * or network, destination workload or CIDR, ports, protocol, purpose). The NetworkPolicies' rules
 * and the mesh's AuthorizationPolicies are both read from it, so the two cannot disagree; the
 * internet is reached only by a flow naming why.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { podsIn, type CidrEgress, type FlowPolicyArgs } from "./network-policy";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

/** A workload: its pods (by labels) and the service account they run as (its mesh identity). */
export interface MeshWorkload {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Why a flow may leave for the internet: nothing else does. */
export const INTERNET_PURPOSES = [
  "hosted-model",
  "telemetry-backend",
  "model-download",
  "cloud-apis",
  "kubernetes-api",
  "alert-delivery",
  "siem-export",
  "gitops-repository",
] as const;
export type InternetPurpose = (typeof INTERNET_PURPOSES)[number];

export type FlowSource =
  | { readonly kind: "workload"; readonly workload: MeshWorkload }
  /** Traffic from outside the mesh (a load balancer): its peers, and its addresses for the mesh. */
  | {
      readonly kind: "network";
      readonly what: string;
      readonly peers: Peer[];
      readonly cidrs: pulumi.Input<string>[];
    };

export type FlowDestination =
  | { readonly kind: "workload"; readonly workload: MeshWorkload }
  /** Outside the cluster: a managed service's network, or the internet (`internet` says why). */
  | {
      readonly kind: "cidr";
      readonly cidr: pulumi.Input<string>;
      readonly except?: pulumi.Input<string>[];
      readonly internet?: InternetPurpose;
    };

export interface Flow {
  readonly from: FlowSource;
  readonly to: FlowDestination;
  /** TCP ports; none: every port. */
  readonly ports: readonly number[];
  readonly protocol: "TCP";
  /** One line: what the flow is for (shown beside each policy rule). */
  readonly purpose: string;
}

/** The CIDR meaning "anywhere": allowed only with an internet purpose. */
export const ANYWHERE = "0.0.0.0/0";

/** Two workloads are the same when namespace and labels are. */
export function sameWorkload(a: MeshWorkload, b: MeshWorkload): boolean {
  return a.namespace === b.namespace && sameLabels(a.labels, b.labels);
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function samePorts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

/** The SPIFFE principal Istio gives a service account ("cluster.local/ns/rag/sa/rag-runtime"). */
export function principalOf(w: MeshWorkload, trustDomain = "cluster.local"): string {
  return `${trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}

/** The flows, added as capabilities are created; refuses what the zero-trust rules forbid. */
export class FlowTable {
  private readonly rows: Flow[] = [];

  get flows(): readonly Flow[] {
    return this.rows;
  }

  add(...flows: Flow[]): void {
    for (const flow of flows) {
      if (flow.to.kind === "cidr" && flow.to.cidr === ANYWHERE && !flow.to.internet)
        throw new Error(
          `flow "${flow.purpose}": egress to ${ANYWHERE} needs an internet purpose (one of ${INTERNET_PURPOSES.join(", ")})`,
        );
      if (flow.ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))
        throw new Error(
          `flow "${flow.purpose}": ports must be 1-65535, got ${flow.ports.join(",")}`,
        );
      this.rows.push(flow);
    }
  }

  /** Shorthand: `from` calls each destination workload on `ports`. */
  calls(from: MeshWorkload, to: MeshWorkload, ports: readonly number[], purpose: string): void {
    this.add({
      from: { kind: "workload", workload: from },
      to: { kind: "workload", workload: to },
      ports,
      protocol: "TCP",
      purpose,
    });
  }

  /** `from` reaches `egress`'s range; the internet (anywhere) only for `internet`'s reason. */
  reaches(
    from: MeshWorkload,
    egress: CidrEgress,
    purpose: string,
    internet?: InternetPurpose,
  ): void {
    this.add({
      from: { kind: "workload", workload: from },
      to: {
        kind: "cidr",
        cidr: egress.cidr,
        ...(egress.except ? { except: egress.except } : {}),
        ...(egress.cidr === ANYWHERE && internet ? { internet } : {}),
      },
      ports: egress.ports,
      protocol: "TCP",
      purpose,
    });
  }

  /** Flows leaving `w`. */
  outOf(w: MeshWorkload): Flow[] {
    return this.rows.filter((f) => f.from.kind === "workload" && sameWorkload(f.from.workload, w));
  }

  /** Flows arriving at `w`. */
  into(w: MeshWorkload): Flow[] {
    return this.rows.filter((f) => f.to.kind === "workload" && sameWorkload(f.to.workload, w));
  }

  /**
   * Labels of the workloads in `w`'s namespace that call it (a component's `clientLabels`), on
   * exactly `ports` when given.
   */
  clientLabelsOf(w: MeshWorkload, ports?: readonly number[]): Record<string, string>[] {
    return this.into(w).flatMap((f) =>
      f.from.kind === "workload" &&
      f.from.workload.namespace === w.namespace &&
      (!ports || samePorts(f.ports, ports))
        ? [{ ...f.from.workload.labels }]
        : [],
    );
  }

  /** The peers of the networks (load balancers) that reach `w`. */
  networkPeersInto(w: MeshWorkload): Peer[] {
    return this.into(w).flatMap((f) => (f.from.kind === "network" ? f.from.peers : []));
  }

  /** Every workload the table names (sources and destinations), once each. */
  workloads(): MeshWorkload[] {
    const all: MeshWorkload[] = [];
    for (const f of this.rows)
      for (const end of [f.from, f.to])
        if (end.kind === "workload" && !all.some((w) => sameWorkload(w, end.workload)))
          all.push(end.workload);
    return all;
  }
}

/** A NetworkPolicy's egress, from `w`'s rows (flowPolicy's arguments). */
export function egressOf(
  table: FlowTable,
  w: MeshWorkload,
): {
  egressToPods: { labels: Record<string, string>; ports: number[] }[];
  egressToCidrs: CidrEgress[];
  egressToPeers: { peer: Peer; ports: number[] }[];
} {
  const out = table.outOf(w);
  const egressToPods: { labels: Record<string, string>; ports: number[] }[] = [];
  const egressToCidrs: CidrEgress[] = [];
  const egressToPeers: { peer: Peer; ports: number[] }[] = [];
  for (const f of out) {
    const ports = [...f.ports];
    if (f.to.kind === "cidr")
      egressToCidrs.push({
        cidr: f.to.cidr,
        ports,
        ...(f.to.except ? { except: f.to.except } : {}),
      });
    else if (f.to.workload.namespace === w.namespace)
      egressToPods.push({ labels: { ...f.to.workload.labels }, ports });
    else egressToPeers.push({ peer: podsIn(f.to.workload.namespace, f.to.workload.labels), ports });
  }
  return { egressToPods, egressToCidrs, egressToPeers };
}

/**
 * A NetworkPolicy's ingress, from the rows into `w`: same-namespace callers by pod labels, others
 * by namespace and labels, networks by their peers; callers on the same ports share one rule.
 */
export function ingressOf(table: FlowTable, w: MeshWorkload): { from: Peer[]; ports: number[] }[] {
  const rules: { from: Peer[]; ports: number[] }[] = [];
  for (const f of table.into(w)) {
    const peers = peersOf(f, w);
    const rule = rules.find((r) => samePorts(r.ports, f.ports));
    if (rule) rule.from.push(...peers);
    else rules.push({ from: [...peers], ports: [...f.ports] });
  }
  return rules;
}

/** The NetworkPolicy peers a flow into `w` comes from (same-namespace callers by pod labels). */
function peersOf(f: Flow, w: MeshWorkload): Peer[] {
  if (f.from.kind === "network") return f.from.peers;
  return f.from.workload.namespace === w.namespace
    ? [{ podSelector: { matchLabels: { ...f.from.workload.labels } } }]
    : [podsIn(f.from.workload.namespace, f.from.workload.labels)];
}

/**
 * The peers whose flows into `w` ztunnel carries over HBONE: callers that are workloads of an
 * enrolled namespace (a load balancer or a namespace out of the mesh sends to the app port).
 */
export function meshedPeersInto(
  table: FlowTable,
  w: MeshWorkload,
  enrolled: readonly unknown[],
): Peer[] {
  return table
    .into(w)
    .filter((f) => f.from.kind === "workload" && enrolled.includes(f.from.workload.namespace))
    .flatMap((f) => peersOf(f, w));
}

/** One AuthorizationPolicy's spec: ALLOW the flows into `w` by principal (or source address). */
export function allowSpecFor(
  table: FlowTable,
  w: MeshWorkload,
  trustDomain?: string,
): { selector?: { matchLabels: Record<string, string> }; action: "ALLOW"; rules: object[] } {
  const rules = table.into(w).map((f) => ({
    from: [
      f.from.kind === "workload"
        ? { source: { principals: [principalOf(f.from.workload, trustDomain)] } }
        : { source: { ipBlocks: f.from.cidrs } },
    ],
    ...(f.ports.length ? { to: [{ operation: { ports: f.ports.map(String) } }] } : {}),
  }));
  // No labels: every workload of the namespace.
  const selector = Object.keys(w.labels).length
    ? { selector: { matchLabels: { ...w.labels } } }
    : {};
  return { ...selector, action: "ALLOW", rules };
}

/** The ports of `w` that callers outside the mesh reach in plain text (a load balancer's). */
export function plainTextPortsOf(table: FlowTable, w: MeshWorkload): number[] {
  return [...new Set(table.into(w).flatMap((f) => (f.from.kind === "network" ? f.ports : [])))];
}

/** A stable, readable id for a workload: namespace and its labels' values. */
export function workloadId(w: MeshWorkload): string {
  const values = Object.keys(w.labels)
    .sort()
    .map((k) => w.labels[k]);
  return [w.namespace, ...values]
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-");
}

/**
 * The NetworkPolicies of a namespace the table describes whole: one per workload of it that a
 * flow names, with what reaches it and what it calls (flowPolicy's arguments, less the namespace).
 */
export function namespaceFlowPolicies(
  table: FlowTable,
  namespace: string,
): { id: string; args: Omit<FlowPolicyArgs, "namespace"> }[] {
  return table
    .workloads()
    .filter((w) => w.namespace === namespace)
    .map((w) => ({
      id: workloadId(w),
      args: { podLabels: { ...w.labels }, ingress: ingressOf(table, w), ...egressOf(table, w) },
    }));
}
