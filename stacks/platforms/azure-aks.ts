/**
 * Azure for the Kubernetes tiers: AKS as a ClusterHost. The cluster and its pools, the Azure
 * add-ons (External Secrets on Key Vault through workload identity, Traefik behind an Azure load
 * balancer), the runtime's workload identity, Azure Monitor alerts, and the data services of
 * AzurePlatformBase. The workloads come from the cloud-neutral KubernetesPlatform.
 */
import type { Provider } from "@pulumi/azure-native/provider";
import * as pulumi from "@pulumi/pulumi";
import {
  AksAddons,
  WORKLOAD_IDENTITY_POD_LABEL,
  workloadIdentity,
} from "../../components/azure/aks-addons";
import { AksCluster, type AksGpu } from "../../components/azure/aks-cluster";
import { builtinRoleId, grant } from "../../components/azure/common";
import { customerKeyDiskEncryption } from "../../components/azure/disk-encryption";
import { AzureAlerts, type MetricAlertSpec } from "../../components/azure/monitoring";
import { POSTGRES_PORT } from "../../components/azure/postgres";
import { MANAGED_REDIS_PORT } from "../../components/azure/redis";
import { AzureRuntimeImage } from "../../components/azure/runtime-image";
import { AKS_OVERLAY } from "../../components/azure/subnet-plan";
import type { RuntimeEnvironment } from "../../components/contracts";
import { podsIn, type CidrEgress } from "../../components/kubernetes/network-policy";
import {
  TRAEFIK_INGRESS_CLASS,
  TRAEFIK_LABELS,
  TRAEFIK_NAMESPACE,
} from "../../components/kubernetes/traefik";
import { API_LABELS } from "../../components/kubernetes/runtime-workloads";
import { TELEMETRY_NAMESPACE } from "../../components/kubernetes/telemetry";
import { RUNTIME_PROCESSES } from "../../components/shared/runtime-image";
import type { PlatformConfig } from "../config";
import type { RegionSite } from "../regions";
import { BUILD_CONTEXT, runtimeSourceTag } from "../source-hash";
import { CHARTS, type SupportedChart } from "../versions";
import { AzurePlatformBase, dataServiceAlerts } from "./azure-base";
import type {
  ClusterHost,
  ClusterIngress,
  ClusterSecretStore,
  RuntimeIdentity,
} from "./cluster-host";
import {
  type ChartChoices,
  KUBERNETES_NAMESPACE,
  KubernetesPlatform,
  kubernetesCharts,
} from "./kubernetes";
import type { ObservabilityRequest, Platform } from "./platform";

/** AKS runs metrics-server itself and installs GPU drivers, not the NVIDIA device plugin. */
const AKS_PROVIDES = { metricsServer: true, gpuDevicePlugin: false } as const;

/** Every chart an AKS cluster of this configuration runs: the Azure add-ons and the platform's. */
export function aksCharts(cfg: ChartChoices): SupportedChart[] {
  return [CHARTS.externalSecrets, CHARTS.traefik, ...kubernetesCharts(cfg, AKS_PROVIDES)];
}

export class AksHost extends AzurePlatformBase implements ClusterHost {
  readonly cluster: AksCluster;
  readonly cloudProvider: Provider;
  readonly kubernetes: AksCluster["provider"];
  readonly storageClassName: pulumi.Output<string>;
  readonly networkCidr: string;
  readonly provides = AKS_PROVIDES;
  readonly secretStore: ClusterSecretStore;
  readonly ingress: ClusterIngress;
  private readonly addons: AksAddons;
  private alerts?: AzureAlerts;

  constructor(cfg: PlatformConfig, site: RegionSite) {
    super(cfg, site, "kubernetes");
    const k = cfg.kubernetes;
    const disks = customerKeyDiskEncryption(
      `${this.prefix}-aks-disks`,
      { scope: this.scope, vault: this.vault },
      this.opts(),
    );
    this.cluster = new AksCluster(
      `${this.prefix}-aks`,
      {
        scope: this.scope,
        network: this.network,
        vault: this.vault,
        logs: this.logs,
        version: k.version,
        apiAllowedCidrs: cfg.network.clusterApiAllowedCidrs,
        adminPrincipals: k.adminPrincipals,
        deployer: this.deployer,
        workloadPool: { vmSize: k.systemNodeType, ...k.systemNodes },
        gpuPool:
          cfg.llm.mode === "self-hosted"
            ? { gpu: cfg.llm.gpuType as AksGpu, gpusPerNode: cfg.llm.gpuCount, ...k.gpuNodes }
            : undefined,
        diskEncryptionSetId: disks.id,
      },
      this.opts(),
    );
    this.cloudProvider = this.provider;
    this.kubernetes = this.cluster.provider;
    this.storageClassName = this.cluster.storageClassName;
    this.networkCidr = this.network.addressSpace;
    this.addons = new AksAddons(
      `${this.prefix}-addons`,
      {
        scope: this.scope,
        cluster: this.cluster,
        vault: this.vault,
        charts: CHARTS,
        secretNamespaces: [KUBERNETES_NAMESPACE, TELEMETRY_NAMESPACE],
        ingressNamespaces: [KUBERNETES_NAMESPACE],
        backends: {
          peer: podsIn(KUBERNETES_NAMESPACE, API_LABELS),
          ports: [RUNTIME_PROCESSES.api.port],
        },
        certificateSecretUrl: cfg.domain.certificate,
        resourceNamePrefix: site.namePrefix,
      },
      this.opts(),
    );
    this.secretStore = {
      name: this.addons.secretStoreName,
      ready: this.addons.secretStoreReady,
      grantRead: (name, refs) => this.addons.grantRead(name, refs),
    };
    this.ingress = {
      kind: "ingress",
      className: TRAEFIK_INGRESS_CLASS,
      // Traefik routes to Ready endpoints only; the API's own drain covers the rest.
      annotations: () => ({}),
      sources: [podsIn(TRAEFIK_NAMESPACE, TRAEFIK_LABELS)],
      // Traefik's pods send from the overlay's addresses.
      proxyCidrs: [AKS_OVERLAY.podCidr],
      ready: [this.addons.traefik],
    };
  }

  /** The configured image, or built from runtime/ into the stack's registry, which the nodes pull from. */
  runtimeImage(): pulumi.Input<string> {
    if (this.cfg.runtimeImage) return this.cfg.runtimeImage;
    const built = new AzureRuntimeImage(
      `${this.prefix}-runtime`,
      { scope: this.scope, tag: runtimeSourceTag(), buildContext: BUILD_CONTEXT },
      this.opts(),
    );
    const pull = grant(
      `${this.prefix}-kubelet-acr-pull`,
      {
        principalId: this.cluster.kubeletPrincipalId,
        roleDefinitionId: builtinRoleId(this.scope.subscriptionId, "acrPull"),
        scope: built.registryId,
        description: "the cluster's nodes pull the runtime image",
      },
      this.opts(),
    );
    // Pods are created once the nodes may pull.
    return pulumi.all([built.imageRef, pull.id]).apply(([image]) => image);
  }

  /**
   * The runtime's Azure identity through workload identity (no node identity reaches pods): the
   * documents container, nothing else. Its secrets reach it through External Secrets.
   */
  bindRuntimeIdentity(args: {
    namespace: string;
    serviceAccount: string;
    env: RuntimeEnvironment;
  }): RuntimeIdentity {
    const documents = this.requireDocuments();
    const { identity } = workloadIdentity(
      `${this.prefix}-runtime`,
      { scope: this.scope, cluster: this.cluster, ...args },
      this.opts(),
    );
    grant(
      `${this.prefix}-runtime-documents`,
      {
        principalId: identity.principalId,
        roleDefinitionId: documents.documentRoleId,
        scope: documents.containerId,
        description: "the runtime reads, writes and deletes documents (and their versions)",
      },
      this.opts(),
    );
    return {
      env: args.env,
      serviceAccountAnnotations: { "azure.workload.identity/client-id": identity.clientId },
      podLabels: WORKLOAD_IDENTITY_POD_LABEL,
    };
  }

  runtimeEgress(): CidrEgress[] {
    const vnet = this.network.addressSpace;
    return [
      // PostgreSQL, Redis, and the private endpoints of Blob Storage and Key Vault.
      { cidr: vnet, ports: [443, POSTGRES_PORT, MANAGED_REDIS_PORT] },
      // Entra ID, which trades the workload identity's token for Azure's; hosted models.
      { cidr: "0.0.0.0/0", ports: [443], except: [vnet] },
    ];
  }

  /** Azure Monitor alerts on what Azure runs: the data stores and the cluster's pools, whatever the exporter. */
  observeDataServices(req: ObservabilityRequest): void {
    const { postgresServer: postgres, redisCluster: redis } = this;
    if (!postgres || !redis)
      throw new Error(`${this.prefix}: create the data stores before watching them`);
    this.alerts = new AzureAlerts(
      `${this.prefix}-alerts`,
      {
        scope: this.scope,
        alertEmails: req.alertEmails,
        extraActionGroupIds: this.cfg.observability.azureActionGroupIds,
        alerts: [...dataServiceAlerts(postgres, redis), ...clusterAlerts(this.cluster.clusterId)],
      },
      this.opts(),
    );
  }

  override accessOutputs(): Record<string, pulumi.Input<unknown>> {
    return {
      ...super.accessOutputs(),
      cluster: this.cluster.access,
      alertActionGroupId: this.alerts?.actionGroupId,
      // External Secrets reads the certificate where it is: grant its identity there once.
      certificateAccess: this.addons.certificateAccess,
    };
  }
}

/** The cluster's pools: nodes short of memory or CPU, and pods the autoscaler cannot place (a pool at its max, GPU quota). */
function clusterAlerts(clusterId: pulumi.Input<string>): MetricAlertSpec[] {
  const aks = "Microsoft.ContainerService/managedClusters";
  const perPool = [{ name: "nodepool", values: ["*"] }];
  return [
    {
      name: "nodes-memory",
      description: "A node pool's nodes used over 90% of their memory for 15 minutes",
      scope: clusterId,
      namespace: aks,
      metric: "node_memory_working_set_percentage",
      aggregation: "Average",
      operator: "GreaterThan",
      threshold: 90,
      window: "PT15M",
      severity: 2,
      dimensions: perPool,
    },
    {
      name: "nodes-cpu",
      description: "A node pool's nodes used over 90% of their CPU for 15 minutes",
      scope: clusterId,
      namespace: aks,
      metric: "node_cpu_usage_percentage",
      aggregation: "Average",
      operator: "GreaterThan",
      threshold: 90,
      window: "PT15M",
      severity: 3,
      dimensions: perPool,
    },
    {
      name: "unschedulable-pods",
      description:
        "Pods waited 15 minutes for a node the autoscaler could not add (a pool at its max, GPU quota, zone capacity)",
      scope: clusterId,
      namespace: aks,
      metric: "cluster_autoscaler_unschedulable_pods_count",
      aggregation: "Average",
      operator: "GreaterThan",
      threshold: 0,
      window: "PT15M",
      // Kept every 5 minutes.
      frequency: "PT5M",
      severity: 2,
    },
    {
      name: "platform-pods-pending",
      description: "The platform's pods stayed Pending for 15 minutes (no node fits them)",
      scope: clusterId,
      namespace: aks,
      metric: "kube_pod_status_phase",
      aggregation: "Average",
      operator: "GreaterThan",
      threshold: 0.9,
      window: "PT15M",
      severity: 3,
      dimensions: [
        { name: "phase", values: ["Pending"] },
        { name: "namespace", values: [KUBERNETES_NAMESPACE] },
      ],
    },
  ];
}

/** The Kubernetes platform on AKS, in one region. */
export function aksPlatform(cfg: PlatformConfig, site: RegionSite): Platform {
  return new KubernetesPlatform(new AksHost(cfg, site), cfg, site);
}
