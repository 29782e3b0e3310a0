import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { GPU_POOL_LABEL, GPU_TAINT } from "../kubernetes/gpu-scheduling";
import { type GpuMachines, smallestWithGpus } from "../shared/gpu-hosts";
import type { EksCluster } from "./eks-cluster";
import type { KmsKey } from "./kms-key";
import type { Network } from "./network";

/** The GPU instance types for a node, by GPU and GPUs per node (smallest that fits). */
export const GPU_NODE_TYPES = {
  t4: [
    [1, "g4dn.xlarge"],
    [4, "g4dn.12xlarge"],
    [8, "g4dn.metal"],
  ],
  a10g: [
    [1, "g5.2xlarge"],
    [4, "g5.12xlarge"],
    [8, "g5.48xlarge"],
  ],
  l4: [
    [1, "g6.2xlarge"],
    [4, "g6.12xlarge"],
    [8, "g6.48xlarge"],
  ],
  a100: [[8, "p4d.24xlarge"]],
} as const satisfies Record<string, GpuMachines>;
export type NodeGpu = keyof typeof GPU_NODE_TYPES;

export function gpuInstanceType(gpu: NodeGpu, gpusPerNode: number): string {
  return smallestWithGpus(GPU_NODE_TYPES[gpu], gpusPerNode, `${gpu} instance type`);
}

export type NodePoolKind = "system" | "gpu";

export interface EksNodeGroupArgs {
  readonly cluster: EksCluster;
  readonly network: Network;
  readonly kmsKey: KmsKey;
  readonly kind: NodePoolKind;
  readonly instanceTypes: readonly string[];
  readonly minSize: number;
  readonly maxSize: number;
  readonly desiredSize: number;
  /** Extra security groups for the nodes (the cluster's own is always attached). @default - none */
  readonly extraSecurityGroupIds?: readonly pulumi.Input<string>[];
  /** The GPU pool's name in its node label (model servers select it). @default GPU_POOL_LABEL's value */
  readonly pool?: string;
  /** @default 100 for GPU nodes (model images are large), 50 otherwise */
  readonly diskGiB?: number;
}

/** AL2023 AMIs: the standard one, and the one with NVIDIA drivers and the container toolkit. */
export const AMI_TYPES: Record<NodePoolKind, string> = {
  system: "AL2023_x86_64_STANDARD",
  gpu: "AL2023_x86_64_NVIDIA",
};

/**
 * A managed node group on AL2023 with IMDSv2 (hop limit 1: pods cannot reach node credentials)
 * and a KMS-encrypted root volume. GPU pools are tainted `nvidia.com/gpu=true:NoSchedule` and
 * labelled, so only workloads that ask land there. Cluster Autoscaler needs no tags from us: EKS
 * puts its discovery tags on the group's Auto Scaling group itself, and the autoscaler reads a
 * group's labels and taints from EKS (`eks:DescribeNodegroup`) to scale it up from zero. Tags on a
 * managed node group never reach its Auto Scaling group, so `node-template` tags here would do
 * nothing.
 */
export class EksNodeGroup extends pulumi.ComponentResource {
  readonly nodeGroupName: pulumi.Output<string>;

  constructor(name: string, args: EksNodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:EksNodeGroup", name, {}, opts);
    if (
      args.minSize > args.maxSize ||
      args.desiredSize < args.minSize ||
      args.desiredSize > args.maxSize
    ) {
      throw new Error(
        `EksNodeGroup ${name}: sizes must satisfy min <= desired <= max (got ${args.minSize} <= ${args.desiredSize} <= ${args.maxSize})`,
      );
    }
    const parent = { parent: this };
    const gpu = args.kind === "gpu";
    const template = new aws.ec2.LaunchTemplate(
      name,
      {
        namePrefix: `${name}-`,
        metadataOptions: {
          httpTokens: "required",
          httpEndpoint: "enabled",
          httpPutResponseHopLimit: 1,
        },
        blockDeviceMappings: [
          {
            deviceName: "/dev/xvda",
            ebs: {
              volumeSize: args.diskGiB ?? (gpu ? 100 : 50),
              volumeType: "gp3",
              encrypted: "true",
              kmsKeyId: args.kmsKey.arn,
              deleteOnTermination: "true",
            },
          },
        ],
        vpcSecurityGroupIds: [
          args.cluster.clusterSecurityGroupId,
          ...(args.extraSecurityGroupIds ?? []),
        ],
        updateDefaultVersion: true,
      },
      parent,
    );
    const labels: Record<string, string> = gpu
      ? {
          [GPU_POOL_LABEL.key]: args.pool ?? GPU_POOL_LABEL.value,
          "nvidia.com/gpu.present": "true",
        }
      : { "rag-platform/pool": "system" };
    const group = new aws.eks.NodeGroup(
      name,
      {
        clusterName: args.cluster.name,
        nodeGroupNamePrefix: `${name}-`,
        nodeRoleArn: args.cluster.nodeRole.arn,
        subnetIds: args.network.privateSubnetIds,
        amiType: AMI_TYPES[args.kind],
        capacityType: "ON_DEMAND",
        instanceTypes: [...args.instanceTypes],
        scalingConfig: {
          minSize: args.minSize,
          maxSize: args.maxSize,
          desiredSize: args.desiredSize,
        },
        updateConfig: { maxUnavailable: 1 },
        launchTemplate: { id: template.id, version: pulumi.interpolate`${template.latestVersion}` },
        labels,
        taints: gpu ? [{ key: GPU_TAINT.key, value: GPU_TAINT.value, effect: "NO_SCHEDULE" }] : [],
      },
      // The autoscaler owns the desired size after creation.
      {
        parent: this,
        ignoreChanges: ["scalingConfig.desiredSize"],
        dependsOn: args.cluster.nodePrerequisites,
      },
    );
    this.nodeGroupName = group.nodeGroupName;
    this.registerOutputs({ nodeGroupName: this.nodeGroupName });
  }
}
