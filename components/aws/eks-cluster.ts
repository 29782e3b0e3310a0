import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { execKubeconfig } from "../kubernetes/kubeconfig";
import { assumedBy, policyDocument, type AwsAccount } from "./account";
import { POD_IDENTITY_TRUST } from "./pod-identity";
import { EksNodeGroup } from "./eks-node-group";
import type { KmsKey } from "./kms-key";
import type { Network } from "./network";

export interface EksClusterArgs {
  readonly account: AwsAccount;
  readonly network: Network;
  /** Kubernetes minor version, pinned (e.g. "1.34"). */
  readonly version: string;
  /** Envelope-encrypts Kubernetes Secrets and encrypts EBS volumes. */
  readonly kmsKey: KmsKey;
  /** Encrypts the control-plane log group. */
  readonly logsKey: KmsKey;
  readonly logRetentionDays: number;
  /** CIDRs allowed to reach the public API endpoint. @default - none: the endpoint is private only */
  readonly publicAccessCidrs?: readonly string[];
  /** IAM roles or users given cluster-admin through access entries. @default - none */
  readonly adminPrincipalArns?: readonly string[];
  /** The system node group, created with the cluster: add-ons and every workload without a GPU run there. */
  readonly systemNodes: {
    readonly instanceType: string;
    readonly minSize: number;
    readonly maxSize: number;
    readonly desiredSize: number;
    /** Security groups besides the cluster's own. @default - none */
    readonly extraSecurityGroupIds?: readonly pulumi.Input<string>[];
  };
}

/** All five control-plane log types. */
export const CONTROL_PLANE_LOGS = [
  "api",
  "audit",
  "authenticator",
  "controllerManager",
  "scheduler",
] as const;

/** The log groups Container Insights writes (the containers' logs in `application`). */
export const CONTAINER_INSIGHTS_LOG_GROUPS = [
  "application",
  "dataplane",
  "host",
  "performance",
] as const;

/**
 * An EKS cluster: private API endpoint (public only for listed CIDRs), Secrets encrypted with
 * our key, every control-plane log type to an encrypted log group, access entries (API
 * authentication mode, no aws-auth ConfigMap), Pod Identity, VPC CNI with network policies,
 * the EBS CSI driver and an encrypted gp3 default StorageClass.
 *
 * A new cluster comes up in the order EKS needs (two of its managed add-ons cannot turn ACTIVE
 * before a node runs them, and nodes cannot turn Ready without the CNI):
 * 1. the node role's policies, the VPC CNI, kube-proxy and the Pod Identity agent (DaemonSets,
 *    ACTIVE with no node yet): `nodePrerequisites`, which every node group waits for;
 * 2. the system node group;
 * 3. CoreDNS and the EBS CSI driver (Deployments: DEGRADED until scheduled, and the provider
 *    gives up after 20 minutes of that);
 * 4. anything on the Kubernetes API: `provider` depends on 3, so Helm releases and workloads
 *    start once nodes, DNS and volumes work, and are deleted before them.
 */
export class EksCluster extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;
  /** The cluster's name as plain text (it is set, not generated): for tag keys and conditions. */
  readonly physicalName: string;
  /** The control plane's log group (audit, API, authenticator...), which the SIEM export reads. */
  readonly controlPlaneLogGroup: {
    readonly name: pulumi.Output<string>;
    readonly arn: pulumi.Output<string>;
  };
  readonly clusterSecurityGroupId: pulumi.Output<string>;
  readonly nodeRole: aws.iam.Role;
  /** What a node group must wait for: nodes join and turn Ready only once these exist. */
  readonly nodePrerequisites: pulumi.Resource[];
  readonly systemNodes: EksNodeGroup;
  readonly kubeconfig: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  readonly storageClassName: pulumi.Output<string>;
  readonly publicEndpoint: boolean;
  /** How an operator reaches the cluster: its name, the kubeconfig command, where the endpoint is. */
  readonly access: {
    readonly name: pulumi.Output<string>;
    readonly updateKubeconfig: pulumi.Output<string>;
    readonly apiEndpoint: string;
  };

  constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:EksCluster", name, {}, opts);
    const parent = { parent: this };
    const { partition } = args.account;
    const managed = (policy: string) =>
      pulumi.interpolate`arn:${partition}:iam::aws:policy/${policy}`;
    const publicCidrs = args.publicAccessCidrs ?? [];
    this.publicEndpoint = publicCidrs.length > 0;

    const role = new aws.iam.Role(
      `${name}-cluster`,
      { assumeRolePolicy: assumedBy("eks.amazonaws.com") },
      parent,
    );
    const rolePolicy = new aws.iam.RolePolicyAttachment(
      `${name}-cluster`,
      { role: role.name, policyArn: managed("AmazonEKSClusterPolicy") },
      parent,
    );
    // Created before the cluster so EKS writes into an encrypted group with a retention.
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-control-plane`,
      {
        name: `/aws/eks/${name}/cluster`,
        kmsKeyId: args.logsKey.arn,
        retentionInDays: args.logRetentionDays,
      },
      parent,
    );
    const cluster = new aws.eks.Cluster(
      name,
      {
        name,
        version: args.version,
        roleArn: role.arn,
        vpcConfig: {
          subnetIds: args.network.privateSubnetIds,
          endpointPrivateAccess: true,
          endpointPublicAccess: this.publicEndpoint,
          publicAccessCidrs: this.publicEndpoint ? [...publicCidrs] : undefined,
        },
        encryptionConfig: { provider: { keyArn: args.kmsKey.arn }, resources: ["secrets"] },
        enabledClusterLogTypes: [...CONTROL_PLANE_LOGS],
        accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
        upgradePolicy: { supportType: "STANDARD" },
        bootstrapSelfManagedAddons: false,
      },
      { parent: this, dependsOn: [rolePolicy, logGroup] },
    );
    this.name = cluster.name;
    this.physicalName = name;
    this.controlPlaneLogGroup = { name: logGroup.name, arn: logGroup.arn };
    this.clusterSecurityGroupId = cluster.vpcConfig.apply((v) => v.clusterSecurityGroupId ?? "");

    (args.adminPrincipalArns ?? []).forEach((principalArn, i) => {
      const entry = new aws.eks.AccessEntry(
        `${name}-admin-${i}`,
        { clusterName: cluster.name, principalArn, type: "STANDARD" },
        parent,
      );
      new aws.eks.AccessPolicyAssociation(
        `${name}-admin-${i}`,
        {
          clusterName: cluster.name,
          principalArn,
          policyArn: pulumi.interpolate`arn:${partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`,
          accessScope: { type: "cluster" },
        },
        { parent: this, dependsOn: [entry] },
      );
    });

    this.nodeRole = new aws.iam.Role(
      `${name}-node`,
      { assumeRolePolicy: assumedBy("ec2.amazonaws.com") },
      parent,
    );
    // Attached before any node exists and detached only after the last is gone (EKS needs them to tear nodes down).
    const nodePolicies = [
      "AmazonEKSWorkerNodePolicy",
      "AmazonEKS_CNI_Policy",
      "AmazonEC2ContainerRegistryReadOnly",
    ].map(
      (policy) =>
        new aws.iam.RolePolicyAttachment(
          `${name}-node-${policy}`,
          { role: this.nodeRole.name, policyArn: managed(policy) },
          parent,
        ),
    );

    const addon = (
      addonName: string,
      extra: Partial<aws.eks.AddonArgs> = {},
      dependsOn: pulumi.Resource[] = [],
    ) =>
      new aws.eks.Addon(
        `${name}-${addonName}`,
        {
          clusterName: cluster.name,
          addonName,
          resolveConflictsOnCreate: "OVERWRITE",
          resolveConflictsOnUpdate: "PRESERVE",
          ...extra,
        },
        { parent: this, dependsOn },
      );
    this.nodePrerequisites = [
      ...nodePolicies,
      addon("vpc-cni", { configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }) }),
      addon("kube-proxy"),
      addon("eks-pod-identity-agent"),
    ];
    const { instanceType, ...systemSizes } = args.systemNodes;
    this.systemNodes = new EksNodeGroup(
      `${name}-system`,
      {
        cluster: this,
        network: args.network,
        kmsKey: args.kmsKey,
        kind: "system",
        instanceTypes: [instanceType],
        ...systemSizes,
      },
      parent,
    );
    const onNodes = [this.systemNodes];
    const coredns = addon("coredns", {}, onNodes);
    // The add-on creates the Pod Identity association itself (podIdentityAssociations below).
    const ebsRole = new aws.iam.Role(
      `${name}-ebs-csi`,
      { assumeRolePolicy: POD_IDENTITY_TRUST },
      parent,
    );
    const ebsPolicy = new aws.iam.RolePolicyAttachment(
      `${name}-ebs-csi`,
      { role: ebsRole.name, policyArn: managed("service-role/AmazonEBSCSIDriverPolicy") },
      parent,
    );
    const ebsKeyPolicy = new aws.iam.RolePolicy(
      `${name}-ebs-csi-kms`,
      {
        role: ebsRole.id,
        policy: policyDocument([
          {
            Effect: "Allow",
            Action: ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            Resource: args.kmsKey.arn,
            Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
          },
          {
            Effect: "Allow",
            Action: [
              "kms:Encrypt",
              "kms:Decrypt",
              "kms:ReEncrypt*",
              "kms:GenerateDataKey*",
              "kms:DescribeKey",
            ],
            Resource: args.kmsKey.arn,
          },
        ]),
      },
      parent,
    );
    const ebsCsi = addon(
      "aws-ebs-csi-driver",
      {
        podIdentityAssociations: [
          { roleArn: ebsRole.arn, serviceAccount: "ebs-csi-controller-sa" },
        ],
      },
      [...onNodes, ebsPolicy, ebsKeyPolicy],
    );

    // Every container's logs (Fluent Bit) and the cluster's metrics to CloudWatch, through the
    // CloudWatch Observability add-on with its own Pod Identity role. Its log groups are created
    // first, so they are encrypted with the logs key and expire like the others.
    const insightsLogs = CONTAINER_INSIGHTS_LOG_GROUPS.map(
      (kind) =>
        new aws.cloudwatch.LogGroup(
          `${name}-insights-${kind}`,
          {
            name: `/aws/containerinsights/${name}/${kind}`,
            kmsKeyId: args.logsKey.arn,
            retentionInDays: args.logRetentionDays,
          },
          parent,
        ),
    );
    const insightsRole = new aws.iam.Role(
      `${name}-cloudwatch-agent`,
      { assumeRolePolicy: POD_IDENTITY_TRUST },
      parent,
    );
    const insightsPolicy = new aws.iam.RolePolicyAttachment(
      `${name}-cloudwatch-agent`,
      { role: insightsRole.name, policyArn: managed("CloudWatchAgentServerPolicy") },
      parent,
    );
    addon(
      "amazon-cloudwatch-observability",
      {
        podIdentityAssociations: [
          { roleArn: insightsRole.arn, serviceAccount: "cloudwatch-agent" },
        ],
      },
      [...onNodes, insightsPolicy, ...insightsLogs],
    );

    this.kubeconfig = pulumi
      .all([cluster.name, cluster.endpoint, cluster.certificateAuthority])
      .apply(([clusterName, endpoint, ca]) =>
        kubeconfigFor(clusterName, endpoint, ca?.data ?? "", args.account.region),
      );
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig: this.kubeconfig, enableServerSideApply: true },
      { parent: this, dependsOn: [coredns, ebsCsi] },
    );

    const storageClass = new k8s.storage.v1.StorageClass(
      `${name}-gp3-encrypted`,
      {
        metadata: {
          name: "gp3-encrypted",
          annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        },
        provisioner: "ebs.csi.aws.com",
        parameters: { type: "gp3", encrypted: "true", kmsKeyId: args.kmsKey.arn },
        reclaimPolicy: "Retain",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
      },
      { parent: this, provider: this.provider },
    );
    this.storageClassName = storageClass.metadata.name;
    this.access = {
      name: this.name,
      updateKubeconfig: pulumi.interpolate`aws eks update-kubeconfig --region ${args.account.region} --name ${this.name}`,
      apiEndpoint: this.publicEndpoint
        ? "public (allowed CIDRs only) and private"
        : "private: reach it from inside the VPC (VPN, peering or an SSM port forward)",
    };
    this.registerOutputs({ name: this.name });
  }
}

/** A kubeconfig that authenticates through `aws eks get-token` (no static credentials). */
export function kubeconfigFor(
  clusterName: string,
  endpoint: string,
  caData: string,
  region: string,
): string {
  return execKubeconfig(clusterName, endpoint, caData, {
    command: "aws",
    args: [
      "eks",
      "get-token",
      "--cluster-name",
      clusterName,
      "--region",
      region,
      "--output",
      "json",
    ],
  });
}
