import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

/** Egress to a CIDR on given TCP ports (managed services outside the cluster). */
export interface CidrEgress {
  readonly cidr: pulumi.Input<string>;
  readonly ports: readonly number[];
  /** CIDRs excluded from `cidr` (e.g. the VPC when `cidr` is 0.0.0.0/0). @default - none */
  readonly except?: pulumi.Input<string>[];
}

export interface FlowPolicyArgs {
  readonly namespace: pulumi.Input<string>;
  /** The pods this policy is about. */
  readonly podLabels: Record<string, string>;
  /** Who may connect, and on which ports. @default - nobody */
  readonly ingress?: ReadonlyArray<{ readonly from: Peer[]; readonly ports: readonly number[] }>;
  /** Pods (same namespace) this workload calls, by label, on ports. @default - none */
  readonly egressToPods?: ReadonlyArray<{
    readonly labels: Record<string, string>;
    readonly ports: readonly number[];
  }>;
  readonly egressToCidrs?: readonly CidrEgress[];
  /** Other peers (e.g. pods in another namespace) on ports (none listed: every port). @default - none */
  readonly egressToPeers?: ReadonlyArray<{
    readonly peer: Peer;
    readonly ports: readonly number[];
  }>;
}

/** A peer: the pods of namespace `namespace`, all of them or those with `labels`. */
export function podsIn(namespace: string, labels?: Readonly<Record<string, string>>): Peer {
  return {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
    ...(labels ? { podSelector: { matchLabels: { ...labels } } } : {}),
  };
}

/**
 * A namespace's baseline: a NetworkPolicy denying every flow in and out of its pods, and one
 * letting them resolve names (cluster DNS in kube-system). Every other flow is opened by a
 * flowPolicy of its own.
 */
export function denyByDefault(
  name: string,
  namespace: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): void {
  new k8s.networking.v1.NetworkPolicy(
    `${name}-default-deny`,
    {
      metadata: { name: "default-deny", namespace },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
    opts,
  );
  new k8s.networking.v1.NetworkPolicy(
    `${name}-allow-dns`,
    {
      metadata: { name: "allow-dns", namespace },
      spec: {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          {
            to: [podsIn("kube-system", { "k8s-app": "kube-dns" })],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ],
      },
    },
    opts,
  );
}

/** One NetworkPolicy opening exactly the listed flows for one workload (the namespace denies the rest). */
export function flowPolicy(
  name: string,
  args: FlowPolicyArgs,
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy {
  // No ports: every port (the field left out, as the API reads an empty list).
  const tcp = (ports: readonly number[]) =>
    ports.length > 0 ? ports.map((port) => ({ protocol: "TCP", port })) : undefined;
  return new k8s.networking.v1.NetworkPolicy(
    name,
    {
      metadata: { name, namespace: args.namespace },
      spec: {
        podSelector: { matchLabels: args.podLabels },
        policyTypes: ["Ingress", "Egress"],
        ingress: (args.ingress ?? []).map((rule) => ({ from: rule.from, ports: tcp(rule.ports) })),
        egress: [
          ...(args.egressToPods ?? []).map((rule) => ({
            to: [{ podSelector: { matchLabels: rule.labels } }],
            ports: tcp(rule.ports),
          })),
          ...(args.egressToCidrs ?? []).map((rule) => ({
            to: [{ ipBlock: { cidr: rule.cidr, except: rule.except } }],
            ports: tcp(rule.ports),
          })),
          ...(args.egressToPeers ?? []).map((rule) => ({
            to: [rule.peer],
            ports: tcp(rule.ports),
          })),
        ],
      },
    },
    opts,
  );
}

/** A PodDisruptionBudget keeping all but one replica up during voluntary disruptions. */
export function disruptionBudget(
  name: string,
  args: { namespace: pulumi.Input<string>; podLabels: Record<string, string> },
  opts: pulumi.CustomResourceOptions,
): k8s.policy.v1.PodDisruptionBudget {
  return new k8s.policy.v1.PodDisruptionBudget(
    name,
    {
      metadata: { name, namespace: args.namespace },
      spec: { maxUnavailable: 1, selector: { matchLabels: args.podLabels } },
    },
    opts,
  );
}
