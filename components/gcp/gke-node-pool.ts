/**
 * A GKE cluster's node pools: what every pool shares (hardened nodes under the customer key,
 * autoscaled across zones, repaired and upgraded by GKE) and the GPU machines a pool can have.
 */
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { GPU_POOL_LABEL, GPU_TAINT } from "../kubernetes/gpu-scheduling";
import { type GpuMachines, smallestWithGpus } from "../shared/gpu-hosts";
import type { GcpScope } from "./common";
import { NETWORK_TAGS } from "./network";

/**
 * The machine types of a GKE GPU pool, by GPU and GPUs per node (ascending). Each leaves the model
 * server its 4 vCPUs and 24 GiB beside the GPUs: N1 high-memory with T4s attached (N1 takes up to
 * 4), G2 with its L4s (g2-standard-4 has 16 GB, too little), A2 high-GPU with its 40 GB A100s.
 * GCP offers no A10.
 */
export const GKE_GPU_MACHINE_TYPES = {
  t4: [
    [1, "n1-highmem-8"],
    [2, "n1-highmem-16"],
    [4, "n1-highmem-32"],
  ],
  l4: [
    [1, "g2-standard-8"],
    [2, "g2-standard-24"],
    [4, "g2-standard-48"],
    [8, "g2-standard-96"],
  ],
  a100: [
    [1, "a2-highgpu-1g"],
    [2, "a2-highgpu-2g"],
    [4, "a2-highgpu-4g"],
    [8, "a2-highgpu-8g"],
  ],
} as const satisfies Record<string, GpuMachines>;
export type GkeGpu = keyof typeof GKE_GPU_MACHINE_TYPES;

/** Compute Engine's accelerator type of each GPU (the count is the machine's, stated again). */
export const GKE_ACCELERATOR_TYPES = {
  t4: "nvidia-tesla-t4",
  l4: "nvidia-l4",
  a100: "nvidia-tesla-a100",
} as const satisfies Record<GkeGpu, string>;

/** The smallest GKE machine type with at least `gpusPerNode` of `gpu`. */
export function gkeGpuMachineType(gpu: GkeGpu, gpusPerNode: number): string {
  return smallestWithGpus(GKE_GPU_MACHINE_TYPES[gpu], gpusPerNode, `GKE ${gpu} machine type`);
}

/** The GPUs of a machine type the table names (what GKE's node pool must declare). */
export function gpusOf(gpu: GkeGpu, machineType: string): number {
  const row = GKE_GPU_MACHINE_TYPES[gpu].find(([, machine]) => machine === machineType);
  if (!row) throw new Error(`${machineType} is not a GKE ${gpu} machine type`);
  return row[0];
}

/** A pool's bounds over all its zones: the autoscaler keeps it within them. */
export interface GkePoolSize {
  readonly min: number;
  readonly max: number;
  /** The nodes to start with, over all zones (rounded up to the same count in each). @default min */
  readonly desired?: number;
}

/** How the nodes of a pool are reached and what they run as. */
export interface GkeNodeIdentity {
  readonly scope: GcpScope;
  /** The cluster's `id` (projects/.../clusters/...), which its pools are created in. */
  readonly clusterId: pulumi.Input<string>;
  /** The nodes' own service account (logs, metrics, image pulls; nothing else). */
  readonly serviceAccountEmail: pulumi.Input<string>;
  /** The Cloud KMS key every boot disk is encrypted with. */
  readonly bootDiskKmsKey: pulumi.Input<string>;
}

/** The label every pool's nodes carry: which pool, for the platform's node selectors. */
const POOL_LABEL_KEY = GPU_POOL_LABEL.key;

/**
 * One node pool: COS with containerd, Shielded VMs (Secure Boot, integrity monitoring), the GKE
 * metadata server (pods get their own Workload Identity, never the node's account), the kubelet's
 * read-only port closed, balanced PDs under the customer key, the nodes' tag (the load balancers'
 * firewall rule), autoscaled on total bounds, repaired and upgraded by GKE one surge node at a
 * time. A GPU pool also gets its accelerators with GKE's driver, the GPU taint and label.
 */
export function gkeNodePool(
  name: string,
  args: GkeNodeIdentity & {
    readonly poolName: string;
    readonly machineType: string;
    readonly size: GkePoolSize;
    readonly zones: pulumi.Input<pulumi.Input<string>[]>;
    /** How many zones `zones` names (the per-zone start count divides by it). */
    readonly zoneCount: number;
    readonly diskGiB: number;
    /** GPUs on each node, with GKE installing NVIDIA's driver. @default - no GPU */
    readonly gpu?: { readonly type: GkeGpu; readonly count: number };
  },
  opts: pulumi.CustomResourceOptions,
): gcp.container.NodePool {
  const { scope, size, gpu } = args;
  const desired = size.desired ?? size.min;
  return new gcp.container.NodePool(
    name,
    {
      project: scope.project,
      location: scope.region,
      cluster: args.clusterId,
      name: args.poolName,
      nodeLocations: args.zones,
      // GKE starts each zone with the same count; the autoscaler then holds the total bounds.
      initialNodeCount: Math.ceil(desired / args.zoneCount),
      autoscaling: {
        totalMinNodeCount: size.min,
        totalMaxNodeCount: size.max,
        // GPUs are scarce: take them in whichever zone has them.
        locationPolicy: gpu ? "ANY" : "BALANCED",
      },
      management: { autoRepair: true, autoUpgrade: true },
      upgradeSettings: { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 },
      nodeConfig: {
        machineType: args.machineType,
        imageType: "COS_CONTAINERD",
        diskType: "pd-balanced",
        diskSizeGb: args.diskGiB,
        bootDiskKmsKey: args.bootDiskKmsKey,
        serviceAccount: args.serviceAccountEmail,
        oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
        shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
        workloadMetadataConfig: { mode: "GKE_METADATA" },
        kubeletConfig: { insecureKubeletReadonlyPortEnabled: "FALSE" },
        metadata: { "disable-legacy-endpoints": "true" },
        tags: [NETWORK_TAGS.gkeNode],
        labels: { [POOL_LABEL_KEY]: gpu ? GPU_POOL_LABEL.value : args.poolName },
        resourceLabels: { ...scope.labels },
        ...(gpu
          ? {
              guestAccelerators: [
                {
                  type: GKE_ACCELERATOR_TYPES[gpu.type],
                  count: gpu.count,
                  gpuDriverInstallationConfig: { gpuDriverVersion: "LATEST" },
                },
              ],
              taints: [{ key: GPU_TAINT.key, value: GPU_TAINT.value, effect: "NO_SCHEDULE" }],
            }
          : {}),
      },
    },
    // The autoscaler owns the node count after creation.
    { ...opts, ignoreChanges: ["initialNodeCount", "nodeCount"] },
  );
}
