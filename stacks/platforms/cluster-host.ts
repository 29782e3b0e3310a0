/**
 * What a cloud gives the Kubernetes platform: a cluster and what only that cloud knows about it.
 * EKS is the first host (aws-eks.ts); AKS and GKE implement the same interface, and the
 * workloads above them (kubernetes.ts) are written once.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { RuntimeEnvironment, SecretRef } from "../../components/contracts";
import type { RemoteSecretKey } from "../../components/kubernetes/external-secret";
import type { CidrEgress } from "../../components/kubernetes/network-policy";
import type { DataServices, ObservabilityRequest } from "./platform";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

/** Where External Secrets reads the cloud's secret manager, and how it is let in. */
export interface ClusterSecretStore {
  /** The ClusterSecretStore's name. */
  readonly name: string;
  /** What must exist before an ExternalSecret: the operator and the store. */
  readonly ready: pulumi.Resource[];
  /**
   * Lets External Secrets read exactly `refs` (one grant, named after `grant`), and says where each
   * lives in the store. Fails on a secret held elsewhere than this cloud's secret manager.
   */
  grantRead(grant: string, refs: readonly SecretRef[]): Omit<RemoteSecretKey, "secretKey">[];
}

/** How the cloud's load balancer reaches the API: the ingress class and what it reads. */
export interface ClusterIngress {
  readonly className: string;
  /** The Ingress's annotations (scheme, certificate, health check, timeouts, logs). */
  annotations(): Record<string, pulumi.Input<string>>;
  /** Where the load balancer's requests come from, for the API's NetworkPolicy. */
  readonly sources: Peer[];
  /**
   * Where the proxy in front of the API sends from, when not the network's addresses (an
   * in-cluster controller's pods): the API believes their X-Forwarded-For. @default - none
   */
  readonly proxyCidrs?: readonly string[];
  /** Labels the workloads' namespace needs for the controller (readiness gates). @default - none */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** What must run before an Ingress is created (the controller and its webhook). */
  readonly ready: pulumi.Resource[];
}

/** The runtime's cloud identity, bound to its service account. */
export interface RuntimeIdentity {
  /** The runtime's environment once the identity reads what it can (a password read at connect). */
  readonly env: RuntimeEnvironment;
  /** Annotations the service account needs (a workload identity's client id). @default - none */
  readonly serviceAccountAnnotations?: Record<string, pulumi.Input<string>>;
  /** Labels the pods need (a workload identity webhook's opt-in). @default - none */
  readonly podLabels?: Record<string, string>;
}

export interface ClusterHost extends DataServices {
  /** The cloud's provider in the host's region. */
  readonly cloudProvider: pulumi.ProviderResource;
  /** The cluster's Kubernetes provider. */
  readonly kubernetes: k8s.Provider;
  /** The default StorageClass (encrypted with the stack's key). */
  readonly storageClassName: pulumi.Input<string>;
  /** The cluster network's address range: nodes, load balancers and the managed services. */
  readonly networkCidr: pulumi.Input<string>;
  /** What the cloud already runs on the cluster (ClusterAddons leaves it out). */
  readonly provides: { readonly metricsServer: boolean; readonly gpuDevicePlugin: boolean };
  readonly secretStore: ClusterSecretStore;
  readonly ingress: ClusterIngress;
  /**
   * Binds the runtime's service account to a cloud identity that reads the documents and the
   * secrets the runtime reads itself (created after objectStore()).
   */
  bindRuntimeIdentity(args: {
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly env: RuntimeEnvironment;
  }): RuntimeIdentity;
  /** The runtime's image: the configured reference, or built from runtime/ into the cloud's registry. */
  runtimeImage(): pulumi.Input<string>;
  /** What the runtime's pods reach outside the cluster: managed services, cloud APIs, the identity agent. */
  runtimeEgress(): CidrEgress[];
  /** Alarms on what the cloud runs for the tier (the data stores), whatever the exporter. */
  observeDataServices(req: ObservabilityRequest): void;
  /** How an operator reaches the cluster (kubeconfig, endpoint) and the data services. */
  accessOutputs(): Record<string, pulumi.Input<unknown>>;
}
