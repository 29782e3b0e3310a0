/**
 * Zero trust inside a cluster: Istio in ambient mode (ztunnel on every node gives each pod a
 * SPIFFE identity and mutual TLS; no sidecars), mesh-wide STRICT mTLS, and from the flow table a
 * default-deny AuthorizationPolicy per namespace with one ALLOW per destination, by the callers'
 * service-account principals.
 *
 * Ambient needs istio-cni's privileged node agent: GKE Autopilot refuses it, so there the tier
 * keeps the NetworkPolicies alone (docs/tiers/enterprise-operations.md).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  allowSpecFor,
  meshedPeersInto,
  plainTextPortsOf,
  workloadId,
  type FlowTable,
} from "./flows";
import { pinnedRelease, type PinnedChart } from "./helm";
import { resources, type ComputeSize } from "./pod-security";

/** The label that enrols a namespace's pods in the ambient mesh. */
export const AMBIENT_LABELS = { "istio.io/dataplane-mode": "ambient" } as const;
/** The port ztunnel delivers meshed (HBONE) traffic on at the destination pod, whatever the app port. */
export const HBONE_PORT = 15008;
/** The address ambient SNATs the kubelet's health probes to, on their way into an enrolled pod. */
export const PROBE_SNAT_CIDR = "169.254.7.127/32";
/** Istio's root namespace: a PeerAuthentication there applies mesh-wide. */
export const ISTIO_NAMESPACE = "istio-system";

export interface IstioAmbientArgs {
  readonly charts: {
    readonly base: PinnedChart;
    readonly istiod: PinnedChart;
    readonly cni: PinnedChart;
    readonly ztunnel: PinnedChart;
  };
  /** The images' registry and tag (the charts' own defaults point at test builds). */
  readonly image: { readonly hub: string; readonly tag: string };
  /** istiod's replicas (it scales on CPU between this and twice this). @default 2 */
  readonly istiodReplicas?: number;
  /** Prefix of the releases' Pulumi names (several clusters in one stack). @default - none */
  readonly resourceNamePrefix?: string;
}

const SIZES = {
  istiod: { cpuMillicores: 500, memoryMiB: 2048 },
  ztunnel: { cpuMillicores: 200, memoryMiB: 512 },
  cni: { cpuMillicores: 100, memoryMiB: 128 },
} as const satisfies Record<string, ComputeSize>;

/** Istio's four ambient charts, in the order each needs the last: CRDs, istiod, the CNI agent, ztunnel. */
export class IstioAmbient extends pulumi.ComponentResource {
  /** The last release: policies and enrolled workloads wait for it. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: IstioAmbientArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:IstioAmbient", name, {}, opts);
    const replicas = args.istiodReplicas ?? 2;
    if (!Number.isInteger(replicas) || replicas < 1)
      throw new Error(`${name}: istiodReplicas must be a whole number >= 1, got ${replicas}`);
    const named = (release: string) =>
      args.resourceNamePrefix ? `${args.resourceNamePrefix}-${release}` : release;
    const image = { hub: args.image.hub, tag: args.image.tag };
    const base = pinnedRelease(
      "istio-base",
      args.charts.base,
      {
        resourceName: named("istio-base"),
        namespace: ISTIO_NAMESPACE,
        createNamespace: true,
        values: { profile: "ambient" },
      },
      { parent: this },
    );
    const istiod = pinnedRelease(
      "istiod",
      args.charts.istiod,
      {
        resourceName: named("istiod"),
        namespace: ISTIO_NAMESPACE,
        values: {
          profile: "ambient",
          global: image,
          replicaCount: replicas,
          autoscaleMin: replicas,
          autoscaleMax: replicas * 2,
          resources: resources(SIZES.istiod),
        },
      },
      { parent: this, dependsOn: [base] },
    );
    const cni = pinnedRelease(
      "istio-cni",
      args.charts.cni,
      {
        resourceName: named("istio-cni"),
        namespace: ISTIO_NAMESPACE,
        values: { profile: "ambient", global: image, resources: resources(SIZES.cni) },
      },
      { parent: this, dependsOn: [istiod] },
    );
    const ztunnel = pinnedRelease(
      "ztunnel",
      args.charts.ztunnel,
      {
        resourceName: named("ztunnel"),
        namespace: ISTIO_NAMESPACE,
        values: { profile: "ambient", ...image, resources: resources(SIZES.ztunnel) },
      },
      { parent: this, dependsOn: [cni] },
    );
    this.ready = [ztunnel];
    this.registerOutputs({});
  }
}

export interface MeshPoliciesArgs {
  readonly flows: FlowTable;
  /** The namespaces the platform owns and enrols in the mesh: each gets a default deny. */
  readonly namespaces: readonly pulumi.Input<string>[];
  /** The mesh's trust domain. @default "cluster.local" */
  readonly trustDomain?: string;
}

const SECURITY_API = "security.istio.io/v1";

/**
 * The mesh's policies from the flow table: STRICT mTLS mesh-wide, allow-nothing in each
 * namespace, one ALLOW per destination workload listing its callers; a port a load balancer
 * reaches in plain text is PERMISSIVE on that workload alone (its ALLOW still names the source).
 *
 * And the NetworkPolicies ambient needs beside the flow table's (istio.io, "Ambient and Kubernetes
 * NetworkPolicy"): into each destination, HBONE (TCP 15008) from exactly its meshed callers; in
 * each enrolled namespace, the kubelet's probes from their SNAT address (every port: the charts'
 * probe ports are theirs, and only the local kubelet sends from that link-local address).
 */
export class MeshPolicies extends pulumi.ComponentResource {
  constructor(name: string, args: MeshPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:MeshPolicies", name, {}, opts);
    const parent = { parent: this };
    const policy = (
      id: string,
      kind: "PeerAuthentication" | "AuthorizationPolicy",
      metadata: { name: string; namespace: pulumi.Input<string> },
      spec: object,
    ) =>
      new k8s.apiextensions.CustomResource(
        `${name}-${id}`,
        { apiVersion: SECURITY_API, kind, metadata, spec },
        parent,
      );
    policy(
      "mesh-mtls",
      "PeerAuthentication",
      { name: "default", namespace: ISTIO_NAMESPACE },
      { mtls: { mode: "STRICT" } },
    );
    const ingressOnly = (
      id: string,
      metadata: { name: string; namespace: pulumi.Input<string> },
      spec: Omit<k8s.types.input.networking.v1.NetworkPolicySpec, "policyTypes">,
    ) =>
      new k8s.networking.v1.NetworkPolicy(
        `${name}-${id}`,
        { metadata, spec: { ...spec, policyTypes: ["Ingress"] } },
        parent,
      );
    args.namespaces.forEach((namespace, i) => {
      policy(`deny-${i}`, "AuthorizationPolicy", { name: "default-deny", namespace }, {});
      ingressOnly(
        `probes-${i}`,
        { name: "allow-kubelet-probes", namespace },
        {
          podSelector: {},
          ingress: [{ from: [{ ipBlock: { cidr: PROBE_SNAT_CIDR } }] }],
        },
      );
    });
    for (const w of args.flows.workloads()) {
      // A namespace out of the mesh (kube-system's DNS, which Prometheus scrapes) enforces none.
      if (args.flows.into(w).length === 0 || !args.namespaces.includes(w.namespace)) continue;
      const id = workloadId(w);
      const meshed = meshedPeersInto(args.flows, w, args.namespaces);
      if (meshed.length)
        ingressOnly(
          `hbone-${id}`,
          { name: `hbone-${w.labels["app.kubernetes.io/name"] ?? id}`, namespace: w.namespace },
          {
            podSelector: { matchLabels: { ...w.labels } },
            ingress: [{ from: meshed, ports: [{ protocol: "TCP", port: HBONE_PORT }] }],
          },
        );
      policy(
        `allow-${id}`,
        "AuthorizationPolicy",
        { name: `allow-${w.labels["app.kubernetes.io/name"] ?? id}`, namespace: w.namespace },
        allowSpecFor(args.flows, w, args.trustDomain),
      );
      const plain = plainTextPortsOf(args.flows, w);
      if (plain.length)
        policy(
          `plaintext-${id}`,
          "PeerAuthentication",
          { name: `lb-${w.labels["app.kubernetes.io/name"] ?? id}`, namespace: w.namespace },
          {
            selector: { matchLabels: { ...w.labels } },
            mtls: { mode: "STRICT" },
            portLevelMtls: Object.fromEntries(
              plain.map((p) => [String(p), { mode: "PERMISSIVE" }]),
            ),
          },
        );
    }
    this.registerOutputs({});
  }
}
