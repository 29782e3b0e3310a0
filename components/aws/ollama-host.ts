import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { LlmEndpoint } from "../contracts";
import { AWS_GPU_HOST_TYPES } from "../shared/gpu-hosts";
import {
  assertOllamaModels,
  OLLAMA_PORT,
  ollamaEndpoint,
  ollamaHostScript,
} from "../shared/ollama";
import { assumedBy } from "./account";
import type { KmsKey } from "./kms-key";
import type { Network } from "./network";

export type HostGpu = keyof typeof AWS_GPU_HOST_TYPES;

/** AWS's public SSM parameter for the Deep Learning Base AMI (NVIDIA driver, Amazon Linux 2023). */
export const DLAMI_PARAMETER =
  "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id";

export interface OllamaGpuHostArgs {
  readonly network: Network;
  readonly kmsKey: KmsKey;
  /** Security groups whose members may call Ollama (and nothing else may). */
  readonly allowedSecurityGroupIds: readonly pulumi.Input<string>[];
  readonly gpu: HostGpu;
  /** Models pulled at boot: the generation model first. */
  readonly model: string;
  readonly embeddingModel: string;
  /** Pinned Ollama release installed at boot. */
  readonly ollamaVersion: string;
  /** @default 200 */
  readonly rootVolumeGiB?: number;
  /** @default - the latest Deep Learning Base AMI at creation (later AMI releases do not replace the instance) */
  readonly amiId?: pulumi.Input<string>;
}

/**
 * One GPU instance running Ollama, in a private subnet: no public IP, no SSH key (SSM Session
 * Manager only), IMDSv2 required, encrypted root volume, a role with the SSM policy alone, and
 * Ollama's port open to the given security groups only.
 */
export class OllamaGpuHost extends pulumi.ComponentResource {
  readonly endpoint: LlmEndpoint;
  readonly instanceId: pulumi.Output<string>;
  readonly instanceType: string;
  readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: OllamaGpuHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:OllamaHost", name, {}, opts);
    assertOllamaModels(`OllamaGpuHost ${name}`, [args.model, args.embeddingModel]);
    const parent = { parent: this };
    this.instanceType = AWS_GPU_HOST_TYPES[args.gpu];
    const sg = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      { vpcId: args.network.vpcId, description: "Ollama: API from the platform's services only" },
      parent,
    );
    args.allowedSecurityGroupIds.forEach((source, i) => {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-ollama-from-${i}`,
        {
          securityGroupId: sg.id,
          ipProtocol: "tcp",
          fromPort: OLLAMA_PORT,
          toPort: OLLAMA_PORT,
          referencedSecurityGroupId: source,
          description: "Ollama API",
        },
        parent,
      );
    });
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-https-out`,
      {
        securityGroupId: sg.id,
        ipProtocol: "tcp",
        fromPort: 443,
        toPort: 443,
        cidrIpv4: "0.0.0.0/0",
        description: "HTTPS out: model downloads, SSM",
      },
      parent,
    );
    const role = new aws.iam.Role(
      `${name}-role`,
      { assumeRolePolicy: assumedBy("ec2.amazonaws.com") },
      parent,
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-ssm`,
      {
        role: role.name,
        policyArn: aws
          .getPartitionOutput({}, parent)
          .partition.apply((p) => `arn:${p}:iam::aws:policy/AmazonSSMManagedInstanceCore`),
      },
      parent,
    );
    const profile = new aws.iam.InstanceProfile(`${name}-profile`, { role: role.name }, parent);
    const ami = args.amiId ?? aws.ssm.getParameterOutput({ name: DLAMI_PARAMETER }, parent).value;
    const instance = new aws.ec2.Instance(
      name,
      {
        ami,
        instanceType: this.instanceType,
        subnetId: args.network.privateSubnetIds[0]!,
        vpcSecurityGroupIds: [sg.id],
        associatePublicIpAddress: false,
        iamInstanceProfile: profile.name,
        metadataOptions: {
          httpTokens: "required",
          httpEndpoint: "enabled",
          httpPutResponseHopLimit: 1,
        },
        rootBlockDevice: {
          encrypted: true,
          kmsKeyId: args.kmsKey.arn,
          volumeType: "gp3",
          volumeSize: args.rootVolumeGiB ?? 200,
          deleteOnTermination: true,
        },
        monitoring: true,
        userData: ollamaHostScript(args.ollamaVersion, [args.model, args.embeddingModel]),
        userDataReplaceOnChange: true,
        tags: { Name: name },
      },
      { parent: this, ignoreChanges: ["ami"] },
    );
    const baseUrl = pulumi.interpolate`http://${instance.privateIp}:${OLLAMA_PORT}`;
    this.instanceId = instance.id;
    this.securityGroupId = sg.id;
    this.endpoint = ollamaEndpoint(baseUrl, args.model, args.embeddingModel);
    this.registerOutputs({ instanceId: this.instanceId });
  }
}
