import * as containerservice from "@pulumi/azure-native/containerservice";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { parse, stringify } from "yaml";
import { GPU_POOL_LABEL, GPU_TAINT } from "../kubernetes/gpu-scheduling";
import { type GpuMachines, smallestWithGpus } from "../shared/gpu-hosts";
import {
  type AzurePrincipalType,
  builtinRoleId,
  grant,
  parsePrincipal,
  placed,
  type AzureScope,
  type BuiltinRole,
} from "./common";
import type { KeyVault } from "./key-vault";
import type { LogWorkspace } from "./log-workspace";
import type { AzureNetwork } from "./network";
import { AKS_OVERLAY } from "./subnet-plan";

/**
 * The VM sizes of an AKS GPU pool, by GPU and GPUs per node (ascending): whole GPUs only (the
 * smaller NVads A10 v5 sizes are vGPU slices), each a size AKS installs the NVIDIA driver on.
 */
export const AKS_GPU_NODE_SIZES = {
  t4: [
    [1, "Standard_NC4as_T4_v3"],
    [4, "Standard_NC64as_T4_v3"],
  ],
  a10g: [
    [1, "Standard_NV36ads_A10_v5"],
    [2, "Standard_NV72ads_A10_v5"],
  ],
  a100: [
    [1, "Standard_NC24ads_A100_v4"],
    [2, "Standard_NC48ads_A100_v4"],
    [4, "Standard_NC96ads_A100_v4"],
  ],
} as const satisfies Record<string, GpuMachines>;
export type AksGpu = keyof typeof AKS_GPU_NODE_SIZES;
/** Azure's A100s in the NC A100 v4 sizes have 80 GB each (AWS's p4d has 40 GB ones). */
export const AKS_GPU_MEMORY_GIB = { a100: 80 } as const;

/** The smallest AKS size with at least `gpusPerNode` of `gpu`. */
export function aksGpuVmSize(gpu: AksGpu, gpusPerNode: number): string {
  return smallestWithGpus(AKS_GPU_NODE_SIZES[gpu], gpusPerNode, `AKS ${gpu} size`);
}

/** The control plane's logs the workspace keeps: writes to the API, Entra sign-ins, the autoscaler's decisions. */
export const AKS_LOG_CATEGORIES = ["kube-audit-admin", "guard", "cluster-autoscaler"] as const;

/** The machine AKS's own add-ons run on (a system pool needs 4 vCPU; they take no more). */
export const AKS_SYSTEM_POOL = { vmSize: "Standard_D4ds_v5", min: 2, max: 3 } as const;
/** The AKS server application every Entra token for a cluster is issued to (kubelogin's --server-id). */
export const AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630";
/** When AKS patches Kubernetes and the node images: weekly, Sunday night (UTC), four hours each. */
export const AKS_MAINTENANCE = {
  aksManagedAutoUpgradeSchedule: "01:00",
  aksManagedNodeOSUpgradeSchedule: "05:00",
} as const;

export interface AksPoolSize {
  readonly vmSize: string;
  readonly min: number;
  readonly max: number;
  /** The nodes to start with (the autoscaler owns the count after). @default min */
  readonly desired?: number;
}

export interface AksClusterArgs {
  readonly scope: AzureScope;
  /** A network built for Kubernetes (workloads "kubernetes": the nodes' and the API server's subnets). */
  readonly network: AzureNetwork;
  /** Its data key encrypts Secrets in etcd (KMS, over the vault's private network). */
  readonly vault: KeyVault;
  /** Where the API server's audit log goes. */
  readonly logs: LogWorkspace;
  /** The Kubernetes minor ("1.35"): AKS takes its newest patch and patches it in the window. */
  readonly version: string;
  /** CIDRs allowed on the public API server; none keeps it private to the network. */
  readonly apiAllowedCidrs: readonly string[];
  /** Principals (`user:<id>`, `group:<id>`, `servicePrincipal:<id>`) given cluster-admin through Azure RBAC. */
  readonly adminPrincipals: readonly string[];
  /** Whoever runs `pulumi up`: cluster-admin too, to create what runs on it. */
  readonly deployer: {
    readonly objectId: pulumi.Input<string>;
    readonly type: pulumi.Input<AzurePrincipalType>;
  };
  /** The pool the platform's own workloads run on (the ingress, the runtime, Qdrant, the operators). */
  readonly workloadPool: AksPoolSize;
  /** A pool of GPU nodes for the model servers, tainted for them. @default - none */
  readonly gpuPool?: { readonly gpu: AksGpu; readonly gpusPerNode: number } & Omit<
    AksPoolSize,
    "vmSize"
  >;
  /** The disk encryption set every node's OS disk and every volume is encrypted with. */
  readonly diskEncryptionSetId: pulumi.Input<string>;
  /** @default "Standard" (the API server's uptime SLA) */
  readonly tier?: "Free" | "Standard" | "Premium";
}

const ZONES = ["1", "2", "3"];

/**
 * An AKS cluster on the stack's network: a private API server on its own subnet (VNet
 * integration; public only for allowed CIDRs), Entra ID sign-in with Azure RBAC and no local
 * accounts, workload identity, Azure CNI overlay with Cilium enforcing NetworkPolicies, etcd
 * Secrets encrypted with the vault's key (KMS over the private network), node OS disks and
 * volumes encrypted with the customer key, patch and node-image upgrades in a weekly window,
 * the image cleaner, the API server's audit log in the workspace.
 *
 * Three pools: AKS's add-ons alone on a small system pool (CriticalAddonsOnly) and the platform's
 * workloads on a user pool, both across zones 1-3, and the model servers on a GPU pool (tainted,
 * in whichever zones have the size; AKS installs the driver, the platform the device plugin).
 * AKS's cluster autoscaler scales each between its bounds.
 */
export class AksCluster extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;
  readonly clusterId: pulumi.Output<string>;
  /** The OIDC issuer workload identity's federated credentials trust. */
  readonly oidcIssuerUrl: pulumi.Output<string>;
  /** The nodes' identity (pulls images: grant it AcrPull on a registry). */
  readonly kubeletPrincipalId: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  /** Premium zone-redundant SSDs under the customer key, kept on delete. */
  readonly storageClassName: pulumi.Output<string>;
  readonly access: {
    readonly name: pulumi.Output<string>;
    readonly getCredentials: pulumi.Output<string>;
    readonly apiEndpoint: string;
    readonly runCommand: pulumi.Output<string>;
  };

  constructor(name: string, args: AksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:azure:AksCluster", name, {}, opts);
    const parent = { parent: this };
    const where = placed(args.scope);
    const { network, vault } = args;
    if (!network.apiServerSubnetId)
      throw new Error(`AksCluster ${name}: the network was not built for Kubernetes`);
    const role = (r: BuiltinRole) => builtinRoleId(args.scope.subscriptionId, r);

    // KMS needs a user-assigned control-plane identity, with its grants in place before the cluster.
    const controlPlane = new managedidentity.UserAssignedIdentity(
      `${name}-control-plane`,
      where,
      parent,
    );
    const kubelet = new managedidentity.UserAssignedIdentity(`${name}-kubelet`, where, parent);
    const cp = controlPlane.principalId;
    const grants = [
      grant(
        `${name}-kubelet-operator`,
        {
          principalId: cp,
          roleDefinitionId: role("managedIdentityOperator"),
          scope: kubelet.id,
          description: "AKS assigns the kubelet identity to its nodes",
        },
        parent,
      ),
      ...(
        [
          ["nodes-subnet", network.appsSubnetId, "the nodes' subnet (load balancers, NICs)"],
          ["api-subnet", network.apiServerSubnetId, "the API server's subnet (VNet integration)"],
        ] as const
      ).map(([key, subnetId, what]) =>
        grant(
          `${name}-${key}`,
          {
            principalId: cp,
            roleDefinitionId: role("networkContributor"),
            scope: subnetId,
            description: `AKS joins ${what}`,
          },
          parent,
        ),
      ),
      grant(
        `${name}-kms-crypto`,
        {
          principalId: cp,
          roleDefinitionId: role("keyVaultCryptoUser"),
          scope: vault.vaultId,
          description: "AKS's KMS plugin encrypts Secrets in etcd with the data key",
        },
        parent,
      ),
      grant(
        `${name}-kms-link`,
        {
          principalId: cp,
          roleDefinitionId: role("keyVaultContributor"),
          scope: vault.vaultId,
          description: "AKS's KMS plugin links the API server to the private vault",
        },
        parent,
      ),
      grant(
        `${name}-disk-encryption`,
        {
          principalId: cp,
          roleDefinitionId: role("reader"),
          scope: args.diskEncryptionSetId,
          description: "AKS and its disk driver encrypt OS disks and volumes with this set",
        },
        parent,
      ),
    ];

    const publicApi = args.apiAllowedCidrs.length > 0;
    const cluster = new containerservice.ManagedCluster(
      name,
      {
        ...where,
        dnsPrefix: name.replace(/[^a-zA-Z0-9-]/g, "-").slice(0, 54),
        kubernetesVersion: args.version,
        sku: { name: "Base", tier: args.tier ?? "Standard" },
        identity: { type: "UserAssigned", userAssignedIdentities: [controlPlane.id] },
        identityProfile: {
          kubeletidentity: {
            resourceId: kubelet.id,
            clientId: kubelet.clientId,
            objectId: kubelet.principalId,
          },
        },
        aadProfile: { managed: true, enableAzureRBAC: true, tenantID: args.scope.tenantId },
        disableLocalAccounts: true,
        enableRBAC: true,
        oidcIssuerProfile: { enabled: true },
        apiServerAccessProfile: {
          enableVnetIntegration: true,
          subnetId: network.apiServerSubnetId,
          ...(publicApi
            ? { enablePrivateCluster: false, authorizedIPRanges: [...args.apiAllowedCidrs] }
            : {
                enablePrivateCluster: true,
                privateDNSZone: "system",
                enablePrivateClusterPublicFQDN: false,
              }),
        },
        securityProfile: {
          workloadIdentity: { enabled: true },
          azureKeyVaultKms: {
            enabled: true,
            keyId: vault.dataKeyVersionedUri,
            keyVaultNetworkAccess: "Private",
            keyVaultResourceId: vault.vaultId,
          },
          imageCleaner: { enabled: true, intervalHours: 168 },
        },
        // Every field set: the SDK fills in defaults (10.0.0.0/16 services) for any left out.
        networkProfile: {
          networkPlugin: "azure",
          networkPluginMode: "overlay",
          networkDataplane: "cilium",
          networkPolicy: "cilium",
          podCidr: AKS_OVERLAY.podCidr,
          serviceCidr: AKS_OVERLAY.serviceCidr,
          dnsServiceIP: AKS_OVERLAY.dnsServiceIP,
          outboundType: "userAssignedNATGateway",
          loadBalancerSku: "standard",
        },
        autoUpgradeProfile: { upgradeChannel: "patch", nodeOSUpgradeChannel: "NodeImage" },
        // An SME's cluster: pack pods (least waste), give nodes back after 10 idle minutes.
        autoScalerProfile: {
          expander: "least-waste",
          balanceSimilarNodeGroups: "true",
          scaleDownUnneededTime: "10m",
          scaleDownDelayAfterAdd: "10m",
          scaleDownUtilizationThreshold: "0.5",
          skipNodesWithLocalStorage: "false",
          skipNodesWithSystemPods: "true",
          // A node drained for scale-down lets the API finish its longest answers.
          maxGracefulTerminationSec: "600",
          maxNodeProvisionTime: "15m",
        },
        storageProfile: {
          diskCSIDriver: { enabled: true },
          fileCSIDriver: { enabled: false },
          blobCSIDriver: { enabled: false },
          snapshotController: { enabled: true },
        },
        diskEncryptionSetID: args.diskEncryptionSetId,
        // The one pool declared inline (AKS requires one); the others are AgentPools.
        agentPoolProfiles: [
          {
            ...nodePool({ ...AKS_SYSTEM_POOL, subnetId: network.appsSubnetId, osDiskGiB: 128 }),
            name: "system",
            mode: "System",
            nodeTaints: ["CriticalAddonsOnly=true:NoSchedule"],
            nodeLabels: { "rag-platform/pool": "system" },
          },
        ],
      },
      {
        parent: this,
        dependsOn: [...grants, ...vault.keyReady],
        // The autoscaler owns each pool's node count.
        ignoreChanges: ["agentPoolProfiles[0].count"],
      },
    );
    // Every change to the cluster and every sign-in (not each read: kube-audit would cost more than the cluster).
    args.logs.collect(`${name}-audit`, cluster.id, parent, AKS_LOG_CATEGORIES);
    const clusterOf = {
      resourceGroupName: args.scope.resourceGroupName,
      resourceName: cluster.name,
    };
    const onCluster = { parent: this, dependsOn: [cluster] };

    // One window at a time: AKS refuses concurrent changes to one cluster.
    let previous: pulumi.Resource = cluster;
    for (const [configName, startTime] of Object.entries(AKS_MAINTENANCE)) {
      previous = new containerservice.MaintenanceConfiguration(
        `${name}-${configName}`,
        {
          ...clusterOf,
          configName,
          maintenanceWindow: {
            schedule: { weekly: { dayOfWeek: "Sunday", intervalWeeks: 1 } },
            durationHours: 4,
            startTime,
            utcOffset: "+00:00",
          },
        },
        { parent: this, dependsOn: [previous] },
      );
    }

    const workloads = new containerservice.AgentPool(
      `${name}-apps`,
      {
        ...clusterOf,
        ...nodePool({ ...args.workloadPool, subnetId: network.appsSubnetId, osDiskGiB: 128 }),
        agentPoolName: "apps",
        mode: "User",
        nodeLabels: { "rag-platform/pool": "apps" },
      },
      { ...onCluster, dependsOn: [previous], ignoreChanges: ["count"] },
    );
    if (args.gpuPool) {
      const g = args.gpuPool;
      new containerservice.AgentPool(
        `${name}-gpu`,
        {
          ...clusterOf,
          ...nodePool({
            vmSize: aksGpuVmSize(g.gpu, g.gpusPerNode),
            min: g.min,
            max: g.max,
            desired: g.desired,
            subnetId: network.appsSubnetId,
            // Model images and weights are large.
            osDiskGiB: 256,
          }),
          agentPoolName: "gpu",
          mode: "User",
          // Ubuntu: the Azure Linux GPU images cover T4s only.
          osSKU: "Ubuntu",
          // GPU sizes are seldom in every zone: the pool takes what the region has.
          availabilityZones: undefined,
          gpuProfile: { driver: "Install" },
          nodeTaints: [`${GPU_TAINT.key}=${GPU_TAINT.value}:${GPU_TAINT.effect}`],
          nodeLabels: {
            [GPU_POOL_LABEL.key]: GPU_POOL_LABEL.value,
            "nvidia.com/gpu.present": "true",
          },
          upgradeSettings: { maxSurge: "1", drainTimeoutInMinutes: 30 },
        },
        { ...onCluster, dependsOn: [workloads], ignoreChanges: ["count"] },
      );
    }

    // Cluster-admin through Azure RBAC: whoever deploys, and the configured people or groups.
    const admins = [
      grant(
        `${name}-deployer-admin`,
        {
          principalId: args.deployer.objectId,
          principalType: args.deployer.type,
          roleDefinitionId: role("aksRbacClusterAdmin"),
          scope: cluster.id,
          description: "the deployer creates the platform's Kubernetes resources",
        },
        parent,
      ),
      ...args.adminPrincipals.map(parsePrincipal).map(({ type, objectId }, i) =>
        grant(
          `${name}-admin-${i}`,
          {
            principalId: objectId,
            principalType: type,
            roleDefinitionId: role("aksRbacClusterAdmin"),
            scope: cluster.id,
            description: "kubernetes.adminPrincipals: cluster-admin",
          },
          parent,
        ),
      ),
    ];

    const credentials = containerservice.listManagedClusterUserCredentialsOutput(
      { ...clusterOf, format: "exec" },
      { parent: this },
    );
    const kubeconfig = pulumi.secret(
      credentials.kubeconfigs.apply((configs) => {
        const value = configs?.[0]?.value;
        if (!value) throw new Error(`AksCluster ${name}: AKS returned no kubeconfig`);
        return azureCliKubeconfig(Buffer.from(value, "base64").toString("utf8"));
      }),
    );
    // Workloads start once the platform's pool has nodes and the deployer is admin.
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig, enableServerSideApply: true },
      { parent: this, dependsOn: [workloads, ...admins] },
    );
    const storageClass = new k8s.storage.v1.StorageClass(
      `${name}-premium-zrs-cmk`,
      {
        metadata: { name: "premium-zrs-cmk" },
        provisioner: "disk.csi.azure.com",
        parameters: {
          skuName: "Premium_ZRS",
          diskEncryptionSetID: args.diskEncryptionSetId,
          networkAccessPolicy: "DenyAll",
        },
        reclaimPolicy: "Retain",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
      },
      { parent: this, provider: this.provider },
    );

    this.name = cluster.name;
    this.clusterId = cluster.id;
    this.oidcIssuerUrl = cluster.oidcIssuerProfile.apply((p) => {
      if (!p?.issuerURL) throw new Error(`AksCluster ${name}: the OIDC issuer is not enabled`);
      return p.issuerURL;
    });
    this.kubeletPrincipalId = kubelet.principalId;
    this.storageClassName = storageClass.metadata.name;
    const group = args.scope.resourceGroupName;
    this.access = {
      name: cluster.name,
      getCredentials: pulumi.interpolate`az aks get-credentials --resource-group ${group} --name ${cluster.name} && kubelogin convert-kubeconfig --login azurecli`,
      apiEndpoint: publicApi
        ? "public (allowed CIDRs only); nodes reach it inside the network"
        : "private: from inside the network (VPN, peering, a jump host), or az aks command invoke",
      runCommand: pulumi.interpolate`az aks command invoke --resource-group ${group} --name ${cluster.name} --command "kubectl get pods -A"`,
    };
    this.registerOutputs({ name: this.name });
  }
}

/** What every pool shares: VM scale sets across zones, autoscaled, CMK-encrypted managed OS disks. */
function nodePool(p: AksPoolSize & { subnetId: pulumi.Input<string>; osDiskGiB: number }) {
  return {
    type: "VirtualMachineScaleSets",
    vmSize: p.vmSize,
    count: p.desired ?? p.min,
    enableAutoScaling: true,
    minCount: p.min,
    maxCount: p.max,
    availabilityZones: ZONES as string[] | undefined,
    osType: "Linux",
    osSKU: "AzureLinux",
    // Managed: an ephemeral OS disk cannot take the customer key.
    osDiskType: "Managed",
    osDiskSizeGB: p.osDiskGiB,
    vnetSubnetID: p.subnetId,
    maxPods: 110,
    upgradeSettings: { maxSurge: "33%", drainTimeoutInMinutes: 30 },
  };
}

/**
 * AKS's exec kubeconfig, signing in with the Azure CLI's session (`az login`, locally or in CI):
 * kubelogin turns it into an Entra token for the cluster (no static credential exists).
 */
export function azureCliKubeconfig(kubeconfig: string): string {
  const doc = parse(kubeconfig) as {
    users?: { user?: { exec?: Record<string, unknown> } }[];
  };
  if (!doc.users?.length) throw new Error("the AKS kubeconfig has no user");
  for (const u of doc.users) {
    u.user = {
      exec: {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command: "kubelogin",
        args: ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER_APP_ID],
        interactiveMode: "Never",
        provideClusterInfo: false,
      },
    };
  }
  return stringify(doc);
}
