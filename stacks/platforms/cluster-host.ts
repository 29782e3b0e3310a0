/**
 * What a cloud gives the Kubernetes platform: a cluster and what only that cloud knows about it.
 * EKS is the first host (aws-eks.ts); AKS and GKE implement the same interface, and the
 * workloads above them (kubernetes.ts) are written once.
 */
import type { AuditDestination } from "../../components/kubernetes/audit-export";
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { ObjectStorage } from "../../components/kubernetes/observability-stack";
import type { KafkaEndpoint, RuntimeEnvironment, SecretRef } from "../../components/contracts";
import type { IngestRole } from "../ingest-log";
import type { EnvName } from "../../runtime/src/config";
import type { RemoteSecretKey } from "../../components/kubernetes/external-secret";
import type { CidrEgress } from "../../components/kubernetes/network-policy";
import type { CanaryRouter } from "../../components/kubernetes/canary-routing";
import type { DataServices, ObservabilityRequest } from "./platform";
import type { ModelSource } from "../model-source";

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

/** What every way in has: where requests come from, and what must run first. */
interface IngressCommon {
  /** Where the load balancer's requests come from, for the API's NetworkPolicy. */
  readonly sources: Peer[];
  /**
   * Where the proxy in front of the API sends from, when not the network's addresses (an
   * in-cluster controller's pods, Google's front ends, the load balancer's own address): the API
   * believes their X-Forwarded-For. @default - none
   */
  readonly proxyCidrs?: readonly pulumi.Input<string>[];
  /** Labels the workloads' namespace needs for the controller (readiness gates). @default - none */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** What must run before the API is exposed (the controller and its webhook). */
  readonly ready: pulumi.Resource[];
  /**
   * How long the load balancer keeps an idle connection to a pod open: the API keeps its own open
   * longer. @default - API_IDLE_TIMEOUT_SECONDS (an ALB's idle timeout, as set)
   */
  readonly upstreamIdleSeconds?: number;
}

/** An Ingress of the controller's class, with the cloud's annotations. */
export interface IngressClassIngress extends IngressCommon {
  readonly kind: "ingress";
  readonly className: string;
  /** The load balancer answers HTTPS with a certificate the host made. @default - when domain.certificate is set */
  readonly https?: boolean;
  /**
   * The Ingress answers any Host, not only domain.hostname: a global router's health checks
   * name the regional load balancer. @default false
   */
  readonly anyHost?: boolean;
  /** The Ingress's annotations (scheme, certificate, health check, timeouts, logs). */
  annotations(): Record<string, pulumi.Input<string>>;
  /**
   * The Argo Rollouts traffic router this class's load balancer takes: a canary then splits
   * requests by weight there. @default - none: a canary splits by pod count
   */
  readonly canaryRouter?: CanaryRouter;
}

/** Routes the cloud's Gateway controller serves (Gateway API), made by the host for the API's Service. */
export interface GatewayRoutes extends IngressCommon {
  readonly kind: "gateway";
  /**
   * Routes every path to the API's Service (with the cloud's policies for it), once `after`
   * exists; the API's URL on the load balancer's own address.
   */
  route(
    api: {
      readonly namespace: pulumi.Input<string>;
      readonly serviceName: string;
      readonly port: number;
    },
    after: pulumi.Resource[],
  ): { readonly url: pulumi.Output<string> };
}

/** How the cloud's load balancer reaches the API: an Ingress class, or a Gateway's routes. */
export type ClusterIngress = IngressClassIngress | GatewayRoutes;

/** A file the runtime reads that its cloud keeps in the secret manager (a managed service's own CA). */
export interface RuntimeFile {
  /** The variable naming the file's path (PGSSLROOTCERT). */
  readonly variable: EnvName;
  readonly ref: SecretRef;
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

/** How a model server copies its weights from the store, as the host gives it. */
export interface ModelReader {
  readonly image: string;
  readonly command: readonly string[];
  readonly serviceAccountAnnotations?: Record<string, pulumi.Input<string>>;
  /** Out of the cluster: the store, and the identity agent. */
  readonly egress: readonly CidrEgress[];
}

/**
 * The region's Kafka bus, for a tier whose ingest runs on Kafka: the brokers, and identities that
 * may do on it (and on the cloud's services) what each client does.
 */
export interface ClusterIngestBus {
  readonly endpoint: KafkaEndpoint;
  /** Runs parse and embed: the log's primary. Elsewhere they stand by, stopped. */
  readonly runsStages: boolean;
  /** Where the brokers listen: the API's way to them. */
  readonly brokers: CidrEgress;
  /**
   * What a role reaches outside the cluster: the brokers, the object store and the cloud APIs its
   * identity signs with, and the database for the roles that open it (CATALOGUE_ROLES).
   */
  roleEgress(role: IngestRole): readonly CidrEgress[];
  /** KEDA's Kafka trigger's connection settings (TLS, SASL, the cloud's region). */
  readonly scalerMetadata: Record<string, string>;
  /**
   * Binds a role's service account to an identity with what that role reads and writes (its
   * topics and group, its part of the object store, and for a role that opens the catalogue the
   * database password it reads at connect).
   */
  bindRole(
    role: IngestRole,
    args: {
      readonly namespace: string;
      readonly serviceAccount: string;
      readonly env: RuntimeEnvironment;
    },
  ): RuntimeIdentity;
  /** The TriggerAuthentication spec KEDA's Kafka scaler signs in with (an identity that reads the groups' lag). */
  readonly scalerAuthentication: Record<string, unknown>;
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
    /** What workloads the host adds to the namespace wait for (the namespace). @default - none */
    readonly after?: readonly pulumi.Resource[];
    /** Their PriorityClass: they gate serving. @default - none: the cluster's default */
    readonly priorityClassName?: pulumi.Input<string>;
  }): RuntimeIdentity;
  /** The runtime's image: the configured reference, or built from runtime/ into the cloud's registry. */
  runtimeImage(): pulumi.Input<string>;
  /**
   * Files the runtime reads beside its secrets, synced with them (created after postgres() and
   * redis()). @default - none
   */
  runtimeFiles?(): RuntimeFile[];
  /** Replicas of the generation model server (each on a GPU node of its own). @default 1 */
  readonly modelServerReplicas?: number;
  /** What the runtime's pods reach outside the cluster: managed services, cloud APIs, the identity agent. */
  runtimeEgress(): CidrEgress[];
  /**
   * Lets `serviceAccount` read one prefix of the organisation's object store (the model
   * server's weights) with an identity of its own; the copy's image and command, and what the
   * pod reaches for it. @default - no object-store model sources on this host
   */
  bindModelReader?(args: {
    readonly name: string;
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly source: Extract<ModelSource, { kind: "s3" }>;
    readonly kmsKeyArn?: string;
  }): ModelReader;
  /** Alarms on what the cloud runs for the tier (the data stores), whatever the exporter. */
  observeDataServices(req: ObservabilityRequest): void;
  /**
   * Object storage for in-cluster stores (Loki, Tempo): a bucket each, its service account given
   * a role that reads and writes that bucket alone. @default - none: no in-cluster stack here
   */
  telemetryStorage?(
    stores: readonly {
      readonly name: string;
      readonly namespace: string;
      readonly serviceAccount: string;
    }[],
  ): ObjectStorage[];
  /**
   * Where the runtime's audit stream goes when the tier exports audit to a SIEM (after
   * observeDataServices); `agent` is the log agent's service account, given what it needs to
   * send there, and `forwarder` the SIEM forwarder's, given read access to the cloud's audit
   * logs when the destination is OTLP. @default - none: the audit lines stay among the logs
   */
  runtimeAuditExport?(
    agent: { readonly namespace: string; readonly serviceAccount: string },
    forwarder: { readonly namespace: string; readonly serviceAccount: string },
  ): AuditDestination | undefined;
  /** The region's Kafka bus, when ingest runs on Kafka. @default - none: BullMQ on Redis */
  ingestBus?(): ClusterIngestBus;
  /** Identities the cluster add-ons pick up at their pods' start (KEDA's): made before them. @default - none */
  readonly addonIdentities?: readonly pulumi.Resource[];
  /** How an operator reaches the cluster (kubeconfig, endpoint) and the data services. */
  accessOutputs(): Record<string, pulumi.Input<unknown>>;
}
