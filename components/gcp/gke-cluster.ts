import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { execKubeconfig } from "../kubernetes/kubeconfig";
import { serviceAccountMember, type GcpScope } from "./common";
import {
  type GkeGpu,
  gkeGpuMachineType,
  gkeNodePool,
  type GkePoolSize,
  gpusOf,
} from "./gke-node-pool";
import type { GcpKms } from "./kms";
import { GKE_RANGE_NAMES, NETWORK_TAGS, type GcpNetwork } from "./network";

/** GKE's release channel: a few upgrades a month, each tested in Rapid first. */
export const GKE_RELEASE_CHANNEL = "REGULAR";
/**
 * When GKE may upgrade the control plane and the nodes: Saturday and Sunday, 00:00-08:00 UTC (GKE
 * asks for 48 hours of windows in any 32 days; every weekend gives 64 at least).
 */
export const GKE_MAINTENANCE_WINDOW = {
  startTime: "2026-01-03T00:00:00Z",
  endTime: "2026-01-03T08:00:00Z",
  recurrence: "FREQ=WEEKLY;BYDAY=SA,SU",
} as const;
/** The role GKE documents for a node service account: logs, metrics, metadata, nothing else. */
export const GKE_NODE_ROLE = "roles/container.defaultNodeServiceAccount";
/** What kubernetes.adminPrincipals get: every Kubernetes object of the project's clusters. */
export const GKE_ADMIN_ROLE = "roles/container.admin";
/** The GKE components whose logs Cloud Logging keeps: the control plane's and the workloads'. */
export const GKE_LOG_COMPONENTS = [
  "SYSTEM_COMPONENTS",
  "APISERVER",
  "CONTROLLER_MANAGER",
  "SCHEDULER",
  "WORKLOADS",
] as const;

export interface GkeClusterArgs {
  readonly scope: GcpScope;
  /** A network built for Kubernetes (GcpNetwork with workloads kind "kubernetes"). */
  readonly network: GcpNetwork;
  /** Its key encrypts Secrets in etcd (application-layer encryption), every boot disk and volume. */
  readonly kms: GcpKms;
  /** The Kubernetes minor ("1.35"): GKE takes its newest patch in the channel, and no newer minor. */
  readonly version: string;
  /** The zones of the nodes (three of the region). */
  readonly zones: pulumi.Input<pulumi.Input<string>[]>;
  /** CIDRs allowed on a public endpoint; none keeps the control plane private to the network. */
  readonly apiAllowedCidrs: readonly string[];
  /** IAM members (`user:`, `group:`, `serviceAccount:`, `domain:`) given GKE_ADMIN_ROLE. */
  readonly adminPrincipals: readonly string[];
  /** The pool every workload without a GPU runs on (the add-ons, the runtime, Qdrant). */
  readonly systemPool: GkePoolSize & { readonly machineType: string };
  /**
   * A pool of GPU nodes for the model servers, tainted for them, in `zones` (those that offer the
   * GPU). @default - none
   */
  readonly gpuPool?: GkePoolSize & {
    readonly gpu: GkeGpu;
    readonly gpusPerNode: number;
    /** @default - the cluster's zones */
    readonly zones?: readonly string[];
  };
}

/**
 * A regional GKE Standard cluster on the stack's network: private nodes and a private endpoint
 * (public only for allowed CIDRs, always behind master authorized networks), VPC-native with
 * Dataplane V2 enforcing NetworkPolicies, Workload Identity Federation, Shielded nodes,
 * application-layer Secrets encryption with the stack's key, legacy ABAC and client certificates
 * off, the Gateway API controller, the kubelet's read-only port closed, logs of the control plane
 * and the workloads, Managed Service for Prometheus for the cluster's own metrics. It follows the
 * Regular channel at the pinned minor (no minor upgrade of its own), in a weekend window.
 *
 * Its nodes run as their own service account (GKE_NODE_ROLE only). A system pool across the
 * zones; a GPU pool, tainted and labelled as on EKS, with GKE installing NVIDIA's driver and
 * running the device plugin. A StorageClass of balanced PDs under the stack's key, kept on delete.
 */
export class GkeCluster extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;
  /** projects/<project>/locations/<region>/clusters/<name> */
  readonly clusterId: pulumi.Output<string>;
  /** The identity pool pods' Kubernetes service accounts belong to: `<project>.svc.id.goog`. */
  readonly workloadPool: string;
  /** The nodes' service account (grant it the image registry's reader role). */
  readonly nodeServiceAccountEmail: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  /** Balanced persistent disks under the customer key, kept on delete. */
  readonly storageClassName: pulumi.Output<string>;
  /** The GPU pool's machine type and node count bounds, when there is one. */
  readonly gpuPool?: { readonly machineType: string; readonly max: number };
  readonly access: {
    readonly name: pulumi.Output<string>;
    readonly getCredentials: pulumi.Output<string>;
    readonly apiEndpoint: string;
    /** A small VM in the cluster's subnet (no public IP, SSH through Identity-Aware Proxy only), running a proxy. */
    readonly createBastion: pulumi.Output<string>;
    /** The tunnel to the bastion's proxy: then HTTPS_PROXY=localhost:8888 for kubectl and pulumi. */
    readonly proxyTunnel: pulumi.Output<string>;
  };

  constructor(name: string, args: GkeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:GkeCluster", name, {}, opts);
    const { scope, network, kms } = args;
    const plan = network.clusterPlan;
    if (!plan) throw new Error(`GkeCluster ${name}: the network was not built for Kubernetes`);
    const { project, region, projectNumber } = scope;
    const parent = { parent: this, dependsOn: [...scope.apis] };

    const nodes = new gcp.serviceaccount.Account(
      `${name}-nodes`,
      { project, accountId: `${name}-nodes`.slice(0, 30), displayName: "rag GKE nodes" },
      parent,
    );
    const nodeRole = new gcp.projects.IAMMember(
      `${name}-nodes-role`,
      { project, role: GKE_NODE_ROLE, member: serviceAccountMember(nodes.email) },
      { parent: this },
    );
    // GKE's service agent encrypts etcd's Secrets with the key (Compute Engine's, the disks: GcpKms).
    const etcdKey = new gcp.kms.CryptoKeyIAMMember(
      `${name}-etcd-key`,
      {
        cryptoKeyId: kms.keyId,
        role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        member: pulumi.interpolate`serviceAccount:service-${projectNumber}@container-engine-robot.iam.gserviceaccount.com`,
      },
      parent,
    );

    const publicEndpoint = args.apiAllowedCidrs.length > 0;
    const authorized = [
      { cidrBlock: plan.nodes, displayName: "the cluster's subnet (nodes, a bastion)" },
      ...args.apiAllowedCidrs.map((cidrBlock, i) => ({
        cidrBlock,
        displayName: `network.clusterApiAllowedCidrs[${i}]`,
      })),
    ];
    this.workloadPool = `${project}.svc.id.goog`;
    const cluster = new gcp.container.Cluster(
      name,
      {
        project,
        name,
        location: region,
        nodeLocations: args.zones,
        network: network.networkId,
        subnetwork: network.subnetworkId,
        networkingMode: "VPC_NATIVE",
        ipAllocationPolicy: {
          clusterSecondaryRangeName: GKE_RANGE_NAMES.pods,
          servicesSecondaryRangeName: GKE_RANGE_NAMES.services,
          stackType: "IPV4",
        },
        // The pools are their own resources; GKE needs a first pool, which goes at once.
        removeDefaultNodePool: true,
        initialNodeCount: 1,
        nodeConfig: {
          serviceAccount: nodes.email,
          oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
          shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
          workloadMetadataConfig: { mode: "GKE_METADATA" },
        },
        minMasterVersion: args.version,
        releaseChannel: { channel: GKE_RELEASE_CHANNEL },
        maintenancePolicy: {
          recurringWindow: { ...GKE_MAINTENANCE_WINDOW },
          // The minor moves when kubernetes.version does (its charts are checked against it), or
          // when GKE's support for it ends.
          maintenanceExclusions: [
            {
              exclusionName: "pinned-minor",
              startTime: GKE_MAINTENANCE_WINDOW.startTime,
              exclusionOptions: {
                scope: "NO_MINOR_UPGRADES",
                endTimeBehavior: "UNTIL_END_OF_SUPPORT",
              },
            },
          ],
        },
        privateClusterConfig: {
          enablePrivateNodes: true,
          enablePrivateEndpoint: !publicEndpoint,
          masterGlobalAccessConfig: { enabled: false },
        },
        masterAuthorizedNetworksConfig: {
          cidrBlocks: authorized,
          gcpPublicCidrsAccessEnabled: false,
          privateEndpointEnforcementEnabled: true,
        },
        masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
        enableLegacyAbac: false,
        enableShieldedNodes: true,
        datapathProvider: "ADVANCED_DATAPATH",
        workloadIdentityConfig: { workloadPool: this.workloadPool },
        databaseEncryption: { state: "ENCRYPTED", keyName: kms.keyId },
        gatewayApiConfig: { channel: "CHANNEL_STANDARD" },
        addonsConfig: {
          httpLoadBalancing: { disabled: false },
          horizontalPodAutoscaling: { disabled: false },
          gcePersistentDiskCsiDriverConfig: { enabled: true },
        },
        nodePoolDefaults: { nodeConfigDefaults: { insecureKubeletReadonlyPortEnabled: "FALSE" } },
        // Node auto-provisioning off (the pools are declared); idle nodes go sooner.
        clusterAutoscaling: { enabled: false, autoscalingProfile: "OPTIMIZE_UTILIZATION" },
        loggingConfig: { enableComponents: [...GKE_LOG_COMPONENTS] },
        monitoringConfig: {
          enableComponents: [
            "SYSTEM_COMPONENTS",
            "POD",
            "DEPLOYMENT",
            "HPA",
            "STORAGE",
            ...(args.gpuPool ? ["DCGM"] : []),
          ],
          managedPrometheus: { enabled: true },
        },
        securityPostureConfig: { mode: "BASIC" },
        costManagementConfig: { enabled: true },
        resourceLabels: { ...scope.labels },
        // The data lives outside the cluster (Cloud SQL, Cloud Storage, retained disks).
        deletionProtection: false,
      },
      {
        parent: this,
        dependsOn: [...scope.apis, nodeRole, etcdKey, ...kms.keyReady],
        // The first pool's settings are GKE's once it is gone.
        ignoreChanges: ["nodeConfig", "initialNodeCount"],
      },
    );

    const identity = {
      scope,
      clusterId: cluster.id,
      serviceAccountEmail: nodes.email,
      bootDiskKmsKey: kms.keyId,
    };
    const system = gkeNodePool(
      `${name}-system`,
      {
        ...identity,
        poolName: "system",
        machineType: args.systemPool.machineType,
        size: args.systemPool,
        zones: args.zones,
        zoneCount: 3,
        diskGiB: 100,
      },
      { parent: this },
    );
    const pools: pulumi.Resource[] = [system];
    if (args.gpuPool) {
      const g = args.gpuPool;
      const machineType = gkeGpuMachineType(g.gpu, g.gpusPerNode);
      pools.push(
        gkeNodePool(
          `${name}-gpu`,
          {
            ...identity,
            poolName: "gpu",
            machineType,
            size: g,
            zones: g.zones ? [...g.zones] : args.zones,
            zoneCount: g.zones?.length ?? 3,
            // Model images and weights are large.
            diskGiB: 200,
            gpu: { type: g.gpu, count: gpusOf(g.gpu, machineType) },
          },
          { parent: this, dependsOn: [system] },
        ),
      );
      this.gpuPool = { machineType, max: g.max };
    }

    args.adminPrincipals.forEach((member, i) => {
      new gcp.projects.IAMMember(
        `${name}-admin-${i}`,
        { project, role: GKE_ADMIN_ROLE, member },
        { parent: this },
      );
    });

    const kubeconfig = pulumi.secret(
      pulumi
        .all([cluster.name, cluster.endpoint, cluster.masterAuth])
        .apply(([clusterName, endpoint, auth]) =>
          gkeKubeconfig(clusterName, endpoint, auth.clusterCaCertificate ?? ""),
        ),
    );
    // Workloads start once the pools have nodes.
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig, enableServerSideApply: true },
      { parent: this, dependsOn: pools },
    );
    const storageClass = new k8s.storage.v1.StorageClass(
      `${name}-balanced-cmek`,
      {
        metadata: { name: "balanced-cmek" },
        provisioner: "pd.csi.storage.gke.io",
        parameters: { type: "pd-balanced", "disk-encryption-kms-key": kms.keyId },
        reclaimPolicy: "Retain",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
      },
      { parent: this, provider: this.provider },
    );

    this.name = cluster.name;
    this.clusterId = cluster.id;
    this.nodeServiceAccountEmail = nodes.email;
    this.storageClassName = storageClass.metadata.name;
    const zone = pulumi.output(args.zones).apply((z) => z[0]!);
    this.access = {
      name: cluster.name,
      getCredentials: pulumi.interpolate`gcloud container clusters get-credentials ${cluster.name} --region ${region} --project ${project}${publicEndpoint ? "" : " --internal-ip"}`,
      apiEndpoint: publicEndpoint
        ? "public (allowed CIDRs only); nodes and the cluster's subnet reach it privately"
        : "private: from the cluster's subnet (a bastion through Identity-Aware Proxy: docs/tiers/sme-gcp.md)",
      createBastion: pulumi.interpolate`gcloud compute instances create ${name}-bastion --project ${project} --zone ${zone} --machine-type e2-small --subnet ${network.subnetworkName} --no-address --no-service-account --no-scopes --tags ${NETWORK_TAGS.bastion} --shielded-secure-boot --shielded-vtpm --shielded-integrity-monitoring --metadata enable-oslogin=TRUE,block-project-ssh-keys=TRUE,startup-script='apt-get update && apt-get install -y tinyproxy' --image-family debian-12 --image-project debian-cloud`,
      proxyTunnel: pulumi.interpolate`gcloud compute ssh ${name}-bastion --project ${project} --zone ${zone} --tunnel-through-iap -- -N -L 8888:localhost:8888`,
    };
    this.registerOutputs({ name: this.name });
  }
}

/**
 * A kubeconfig that signs in with gke-gcloud-auth-plugin, from the gcloud CLI's session or
 * Application Default Credentials (no static credential exists: client certificates are off).
 */
export function gkeKubeconfig(clusterName: string, endpoint: string, caData: string): string {
  return execKubeconfig(clusterName, `https://${endpoint}`, caData, {
    command: "gke-gcloud-auth-plugin",
    installHint: "gcloud components install gke-gcloud-auth-plugin",
    provideClusterInfo: true,
    interactiveMode: "Never",
  });
}
