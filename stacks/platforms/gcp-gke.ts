/**
 * GCP for the Kubernetes tiers: GKE as a ClusterHost. The cluster and its system and GPU pools,
 * External Secrets on Secret Manager through Workload Identity, the GKE Gateway in front of the
 * API, the runtime's Workload Identity, Cloud Monitoring alerts, and the data services of
 * GcpPlatformBase. The workloads come from the cloud-neutral KubernetesPlatform.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { GcpAlerts, type GcpAlert } from "../../components/gcp/alerts";
import { DOCUMENT_ROLE } from "../../components/gcp/document-store";
import { GkeAddons, workloadPrincipal } from "../../components/gcp/gke-addons";
import { GkeCluster } from "../../components/gcp/gke-cluster";
import { GATEWAY_UPSTREAM_IDLE_SECONDS, GkeGateway } from "../../components/gcp/gke-gateway";
import type { GkeGpu } from "../../components/gcp/gke-node-pool";
import { CLOUD_SQL_PORT } from "../../components/gcp/postgres";
import { GcpRuntimeImage } from "../../components/gcp/runtime-image";
import type { RuntimeEnvironment } from "../../components/contracts";
import type { CidrEgress } from "../../components/kubernetes/network-policy";
import { API_DRAIN_SECONDS } from "../../components/kubernetes/runtime-workloads";
import { TELEMETRY_NAMESPACE } from "../../components/kubernetes/telemetry";
import { API_DRAIN_LIMIT_SECONDS, RUNTIME_PROCESSES } from "../../components/shared/runtime-image";
import type { PlatformConfig } from "../config";
import type { RegionSite } from "../regions";
import { BUILD_CONTEXT, runtimeSourceTag } from "../source-hash";
import { CHARTS, type SupportedChart } from "../versions";
import { DATA_SERVICE_APIS, dataServiceAlerts, GcpPlatformBase } from "./gcp-base";
import type {
  ClusterHost,
  ClusterSecretStore,
  GatewayRoutes,
  RuntimeFile,
  RuntimeIdentity,
} from "./cluster-host";
import {
  type ChartChoices,
  KUBERNETES_NAMESPACE,
  KubernetesPlatform,
  kubernetesCharts,
} from "./kubernetes";
import type { ObservabilityRequest, Platform } from "./platform";

/** GKE runs metrics-server, and the NVIDIA device plugin on GPU nodes, itself. */
const GKE_PROVIDES = { metricsServer: true, gpuDevicePlugin: true } as const;
/** The APIs GKE and its image registry call, besides the data services'. */
const GKE_APIS = ["container.googleapis.com", "artifactregistry.googleapis.com"] as const;
/** Every API the sme platform on GCP enables in the project. */
export const GKE_REQUIRED_APIS = [...DATA_SERVICE_APIS, ...GKE_APIS];
/** Memorystore's TLS port (in-transit encryption serves on 6378 only). */
const MEMORYSTORE_TLS_PORT = 6378;
/**
 * The GKE metadata server, which hands pods their Workload Identity tokens: pods ask
 * 169.254.169.254:80, which Dataplane V2 sends to 169.254.169.252:988.
 */
const GKE_METADATA_SERVER: CidrEgress[] = [
  { cidr: "169.254.169.254/32", ports: [80] },
  { cidr: "169.254.169.252/32", ports: [988] },
];

/** Every chart a GKE cluster of this configuration runs: External Secrets and the platform's. */
export function gkeCharts(cfg: ChartChoices): SupportedChart[] {
  return [CHARTS.externalSecrets, ...kubernetesCharts(cfg, GKE_PROVIDES)];
}

export class GkeHost extends GcpPlatformBase implements ClusterHost {
  readonly cluster: GkeCluster;
  readonly cloudProvider: gcp.Provider;
  readonly kubernetes: GkeCluster["provider"];
  readonly storageClassName: pulumi.Output<string>;
  readonly networkCidr: string;
  readonly provides = GKE_PROVIDES;
  readonly secretStore: ClusterSecretStore;
  readonly ingress: GatewayRoutes;
  readonly gateway: GkeGateway;
  private readonly addons: GkeAddons;
  private alerts?: GcpAlerts;

  constructor(cfg: PlatformConfig, site: RegionSite) {
    super(cfg, site, {
      apis: GKE_APIS,
      network: { kind: "kubernetes", backendPorts: [RUNTIME_PROCESSES.api.port] },
    });
    const k = cfg.kubernetes;
    const zones = gcp.compute
      .getZonesOutput(
        { project: this.scope.project, region: site.region, status: "UP" },
        this.opts(),
      )
      .names.apply((names) => {
        if (names.length < 3)
          throw new Error(`${site.region} has ${names.length} zones up; GKE's pools need 3`);
        return [...names].sort().slice(0, 3);
      });
    this.cluster = new GkeCluster(
      `${this.prefix}-gke`,
      {
        scope: this.scope,
        network: this.network,
        kms: this.kms,
        version: k.version,
        zones,
        apiAllowedCidrs: cfg.network.clusterApiAllowedCidrs,
        adminPrincipals: k.adminPrincipals,
        systemPool: { machineType: k.systemNodeType, ...k.systemNodes },
        gpuPool:
          cfg.llm.mode === "self-hosted"
            ? {
                gpu: cfg.llm.gpuType as GkeGpu,
                gpusPerNode: cfg.llm.gpuCount,
                zones: k.gpuZones,
                ...k.gpuNodes,
              }
            : undefined,
      },
      this.opts(),
    );
    this.cloudProvider = this.provider;
    this.kubernetes = this.cluster.provider;
    this.storageClassName = this.cluster.storageClassName;
    this.networkCidr = cfg.network.cidr;
    this.addons = new GkeAddons(
      `${this.prefix}-addons`,
      {
        scope: this.scope,
        cluster: this.cluster,
        charts: CHARTS,
        secretNamespaces: [KUBERNETES_NAMESPACE, TELEMETRY_NAMESPACE],
        resourceNamePrefix: site.namePrefix,
      },
      this.opts(),
    );
    this.secretStore = {
      name: this.addons.secretStoreName,
      ready: this.addons.secretStoreReady,
      grantRead: (name, refs) => this.addons.grantRead(name, refs),
    };
    const domain = cfg.domain;
    this.gateway = new GkeGateway(
      `${this.prefix}-gateway`,
      {
        scope: this.scope,
        network: this.network,
        public:
          domain.hostname && domain.certificate
            ? { hostname: domain.hostname, certificate: domain.certificate }
            : undefined,
        drainSeconds: API_DRAIN_SECONDS + API_DRAIN_LIMIT_SECONDS,
      },
      this.opts(),
    );
    const gateway = this.gateway;
    this.ingress = {
      kind: "gateway",
      // Container-native load balancing: the proxies and health checks reach the pods themselves.
      sources: gateway.sourceCidrs.map((cidr) => ({ ipBlock: { cidr } })),
      // Google's proxies, and the load balancer's own address, which X-Forwarded-For ends with.
      proxyCidrs: [...gateway.sourceCidrs, gateway.address.apply((ip) => `${ip}/32`)],
      ready: [],
      upstreamIdleSeconds: GATEWAY_UPSTREAM_IDLE_SECONDS,
      route: (api, after) => gateway.route(api, { provider: this.kubernetes, dependsOn: after }),
    };
  }

  /** The configured image, or built from runtime/ into the stack's registry, which the nodes may read. */
  runtimeImage(): pulumi.Input<string> {
    if (this.cfg.runtimeImage) return this.cfg.runtimeImage;
    const built = new GcpRuntimeImage(
      `${this.prefix}-runtime`,
      { scope: this.scope, kms: this.kms, tag: runtimeSourceTag(), buildContext: BUILD_CONTEXT },
      this.opts(),
    );
    const pull = new gcp.artifactregistry.RepositoryIamMember(
      `${this.prefix}-nodes-pull`,
      {
        project: this.scope.project,
        location: this.scope.region,
        repository: built.repositoryId,
        role: "roles/artifactregistry.reader",
        member: pulumi.interpolate`serviceAccount:${this.cluster.nodeServiceAccountEmail}`,
      },
      this.opts(),
    );
    // Pods are created once the nodes may pull.
    return pulumi.all([built.imageRef, pull.id]).apply(([image]) => image);
  }

  /**
   * The runtime's Google identity: its Kubernetes service account itself, through Workload
   * Identity Federation (no Google service account, no key). It may use the documents bucket's
   * objects, nothing else; its secrets reach it through External Secrets.
   */
  bindRuntimeIdentity(args: {
    namespace: string;
    serviceAccount: string;
    env: RuntimeEnvironment;
  }): RuntimeIdentity {
    const documents = this.documents;
    if (!documents) throw new Error(`${this.prefix}: create the document store before the runtime`);
    new gcp.storage.BucketIAMMember(
      `${this.prefix}-runtime-documents`,
      {
        bucket: documents.bucketName,
        role: DOCUMENT_ROLE,
        member: workloadPrincipal(
          this.scope,
          this.cluster.workloadPool,
          args.namespace,
          args.serviceAccount,
        ),
      },
      this.opts(),
    );
    return { env: args.env };
  }

  /** Cloud SQL's and Memorystore's own CAs, which the runtime checks their certificates against. */
  runtimeFiles(): RuntimeFile[] {
    return this.caCertificateFiles();
  }

  runtimeEgress(): CidrEgress[] {
    const { postgresInstance: postgres, redisInstance: redis } = this;
    if (!postgres || !redis) throw new Error(`${this.prefix}: create the data stores first`);
    const vpc = this.cfg.network.cidr;
    return [
      // Cloud SQL and Memorystore answer on private services access, outside the VPC's range.
      { cidr: pulumi.interpolate`${postgres.endpoint.host}/32`, ports: [CLOUD_SQL_PORT] },
      { cidr: pulumi.interpolate`${redis.endpoint.host}/32`, ports: [MEMORYSTORE_TLS_PORT] },
      // Cloud Storage and the other Google APIs; hosted models.
      { cidr: "0.0.0.0/0", ports: [443], except: [vpc] },
      ...GKE_METADATA_SERVER,
    ];
  }

  /** Cloud Monitoring alerts on the data stores and the pools, whatever the exporter. */
  observeDataServices(req: ObservabilityRequest): void {
    const { postgresInstance: postgres, redisInstance: redis } = this;
    if (!postgres || !redis)
      throw new Error(`${this.prefix}: create the data stores before watching them`);
    this.alerts = new GcpAlerts(
      `${this.prefix}-alerts`,
      {
        scope: this.scope,
        alertEmails: req.alertEmails,
        extraChannelIds: this.cfg.observability.gcpNotificationChannels,
        alerts: [
          ...dataServiceAlerts(this.scope.project, postgres, redis),
          ...clusterAlerts(this.cluster),
        ],
      },
      this.opts(),
    );
  }

  override accessOutputs(): Record<string, pulumi.Input<unknown>> {
    return {
      ...super.accessOutputs(),
      cluster: this.cluster.access,
      gatewayAddress: this.gateway.address,
      // Clients of the internal Gateway trust the stack's CA (its certificate is not public).
      apiCaCertificate: this.gateway.caCertificatePem,
      alertChannels: this.alerts?.channelIds,
    };
  }
}

/**
 * The cluster's alerts: nodes short of memory or CPU, pods waiting for a node, the autoscaler
 * unable to add one (a pool at its max, GPU quota, a zone out of GPUs), the GPU pool at its max.
 */
export function clusterAlerts(cluster: GkeCluster): GcpAlert[] {
  const inCluster = pulumi.interpolate`resource.type="k8s_node" resource.label."cluster_name"="${cluster.name}"`;
  const node = (metric: string) =>
    pulumi.interpolate`metric.type="kubernetes.io/node/${metric}" ${inCluster}`;
  const gpu = cluster.gpuPool;
  return [
    {
      kind: "threshold",
      name: "nodes-memory",
      description: "a node used over 90% of its allocatable memory for 15 minutes",
      filter: node("memory/allocatable_utilization"),
      aligner: "ALIGN_MEAN",
      comparison: "COMPARISON_GT",
      threshold: 0.9,
      duration: "900s",
      severity: "ERROR",
    },
    {
      kind: "threshold",
      name: "nodes-cpu",
      description: "a node used over 90% of its allocatable CPU for 15 minutes",
      filter: node("cpu/allocatable_utilization"),
      aligner: "ALIGN_MEAN",
      comparison: "COMPARISON_GT",
      threshold: 0.9,
      duration: "900s",
      severity: "WARNING",
    },
    {
      kind: "promql",
      name: "platform-pods-pending",
      description: "the platform's pods stayed Pending for 15 minutes (no node fits them)",
      query: pulumi.interpolate`sum by (pod) (kube_pod_status_phase{cluster="${cluster.name}", namespace="${KUBERNETES_NAMESPACE}", phase="Pending"}) > 0`,
      duration: "900s",
      severity: "WARNING",
    },
    {
      kind: "log",
      name: "scale-up-failed",
      description:
        "the cluster autoscaler could not add a node (a pool at its max, GPU quota, a zone out of capacity)",
      filter: pulumi.interpolate`resource.type="k8s_cluster" resource.labels.cluster_name="${cluster.name}" logName:"container.googleapis.com%2Fcluster-autoscaler-visibility" jsonPayload.noDecisionStatus.noScaleUp:*`,
      severity: "ERROR",
    },
    ...(gpu
      ? [
          {
            kind: "promql" as const,
            name: "gpu-pool-at-max",
            description: `the GPU pool has run all ${gpu.max} of its nodes for 30 minutes (raise kubernetes.gpuNodes.max, or the GPU quota)`,
            query: pulumi.interpolate`count(count by (node_name) (kubernetes_io:node_accelerator_duty_cycle{monitored_resource="k8s_node", cluster_name="${cluster.name}"})) >= ${gpu.max}`,
            duration: "1800s",
            severity: "WARNING" as const,
          },
        ]
      : []),
  ];
}

/** The Kubernetes platform on GKE, in one region. */
export function gkePlatform(cfg: PlatformConfig, site: RegionSite): Platform {
  return new KubernetesPlatform(new GkeHost(cfg, site), cfg, site);
}
