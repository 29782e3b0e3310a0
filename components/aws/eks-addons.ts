import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SecretRef } from "../contracts";
import { clusterSecretStore, externalSecretsValues } from "../kubernetes/external-secret";
import { pinnedRelease, type PinnedChart } from "../kubernetes/helm";
import { CONTAINER_SECURITY, resources, type ComputeSize } from "../kubernetes/pod-security";
import { policyDocument, type AwsAccount } from "./account";
import type { EksCluster } from "./eks-cluster";
import { LOAD_BALANCER_CONTROLLER_STATEMENTS } from "./lbc-policy";
import type { Network } from "./network";
import { podIdentityRole } from "./pod-identity";

export interface EksAddonsArgs {
  readonly account: AwsAccount;
  readonly cluster: EksCluster;
  readonly network: Network;
  /** Cluster Autoscaler's image tag: the release of the cluster's Kubernetes minor version. */
  readonly clusterAutoscalerTag: string;
  readonly charts: {
    readonly awsLoadBalancerController: PinnedChart;
    readonly clusterAutoscaler: PinnedChart;
    readonly externalSecrets: PinnedChart;
  };
  /**
   * Prefix of the Helm releases' Pulumi names, so several clusters fit in one stack (the releases
   * keep their names in the cluster). @default - none: the release names
   */
  readonly resourceNamePrefix?: string;
}

export const SECRET_STORE_NAME = "aws-secrets-manager";

/** Requests (and limits) of the AWS add-ons: a cluster of a few dozen nodes. */
const ADDON_SIZES = {
  loadBalancerController: { cpuMillicores: 100, memoryMiB: 256 },
  // AWS's own example for the autoscaler.
  clusterAutoscaler: { cpuMillicores: 100, memoryMiB: 600 },
} as const satisfies Record<string, ComputeSize>;

/**
 * The AWS-specific add-ons, each from its official chart at a pinned version and with its own
 * Pod Identity role: the AWS Load Balancer Controller (Ingress -> ALB), Cluster Autoscaler
 * (chosen over Karpenter for an SME: it scales the managed node groups we already declare,
 * GPU pool included, with one small IAM policy and nothing new to operate), and External Secrets
 * Operator with a ClusterSecretStore on Secrets Manager.
 */
export class EksAddons extends pulumi.ComponentResource {
  readonly secretStoreName = SECRET_STORE_NAME;
  /** Resources that must exist before an ExternalSecret can be created. */
  readonly secretStoreReady: pulumi.Resource[];
  /** The External Secrets role: grant it read access to exactly the secrets that are synced. */
  readonly externalSecretsRole: aws.iam.Role;
  readonly loadBalancerController: k8s.helm.v3.Release;

  constructor(name: string, args: EksAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:EksAddons", name, {}, opts);
    const parent = { parent: this };
    const named = (release: string) =>
      args.resourceNamePrefix ? `${args.resourceNamePrefix}-${release}` : release;
    const clusterName = args.cluster.name;
    const onCluster = { parent: this, provider: args.cluster.provider };

    podIdentityRole(
      `${name}-lbc`,
      {
        clusterName,
        namespace: "kube-system",
        serviceAccount: "aws-load-balancer-controller",
        statements: LOAD_BALANCER_CONTROLLER_STATEMENTS,
      },
      parent,
    );
    this.loadBalancerController = pinnedRelease(
      "aws-load-balancer-controller",
      args.charts.awsLoadBalancerController,
      {
        resourceName: named("aws-load-balancer-controller"),
        namespace: "kube-system",
        values: {
          clusterName,
          region: args.account.region,
          vpcId: args.network.vpcId,
          replicaCount: 2,
          serviceAccount: { create: true, name: "aws-load-balancer-controller" },
          enableShield: false,
          enableWaf: false,
          enableWafv2: false,
          // We expose through Ingress only. The Service webhook (failurePolicy Fail) would refuse
          // every Service created while the controller's pods start, such as the other add-ons'.
          enableServiceMutatorWebhook: false,
          // Reuse the webhook's certificate on upgrade (the chart's default mints a new CA each time).
          keepTLSSecret: true,
          podDisruptionBudget: { maxUnavailable: 1 },
          resources: resources(ADDON_SIZES.loadBalancerController),
          securityContext: CONTAINER_SECURITY,
          podSecurityContext: { fsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
        },
      },
      onCluster,
    );

    podIdentityRole(
      `${name}-autoscaler`,
      {
        clusterName,
        namespace: "kube-system",
        serviceAccount: "cluster-autoscaler",
        statements: [
          {
            Effect: "Allow",
            Action: [
              "autoscaling:DescribeAutoScalingGroups",
              "autoscaling:DescribeAutoScalingInstances",
              "autoscaling:DescribeLaunchConfigurations",
              "autoscaling:DescribeScalingActivities",
              "autoscaling:DescribeTags",
              "ec2:DescribeImages",
              "ec2:DescribeInstanceTypes",
              "ec2:DescribeLaunchTemplateVersions",
              "ec2:GetInstanceTypesFromInstanceRequirements",
              "eks:DescribeNodegroup",
            ],
            Resource: "*",
          },
          {
            Effect: "Allow",
            Action: [
              "autoscaling:SetDesiredCapacity",
              "autoscaling:TerminateInstanceInAutoScalingGroup",
            ],
            Resource: "*",
            Condition: {
              StringEquals: {
                [`aws:ResourceTag/k8s.io/cluster-autoscaler/${args.cluster.physicalName}`]: "owned",
              },
            },
          },
        ],
      },
      parent,
    );
    pinnedRelease(
      "cluster-autoscaler",
      args.charts.clusterAutoscaler,
      {
        resourceName: named("cluster-autoscaler"),
        namespace: "kube-system",
        values: {
          cloudProvider: "aws",
          image: { tag: args.clusterAutoscalerTag },
          awsRegion: args.account.region,
          autoDiscovery: { clusterName },
          rbac: { serviceAccount: { create: true, name: "cluster-autoscaler" } },
          extraArgs: {
            "balance-similar-node-groups": true,
            "skip-nodes-with-system-pods": false,
            expander: "least-waste",
            "scale-down-unneeded-time": "10m",
          },
          podDisruptionBudget: { maxUnavailable: 1 },
          resources: resources(ADDON_SIZES.clusterAutoscaler),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65534,
            runAsGroup: 65534,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containerSecurityContext: CONTAINER_SECURITY,
        },
      },
      onCluster,
    );

    this.externalSecretsRole = podIdentityRole(
      `${name}-external-secrets`,
      { clusterName, namespace: "external-secrets", serviceAccount: "external-secrets" },
      parent,
    );
    const eso = pinnedRelease(
      "external-secrets",
      args.charts.externalSecrets,
      {
        resourceName: named("external-secrets"),
        namespace: "external-secrets",
        createNamespace: true,
        values: externalSecretsValues({ serviceAccount: { name: "external-secrets" } }),
      },
      onCluster,
    );
    // Pod Identity: the store needs no auth block (the SDK's default chain finds the role).
    const store = clusterSecretStore(
      `${name}-secret-store`,
      SECRET_STORE_NAME,
      { aws: { service: "SecretsManager", region: args.account.region } },
      { ...onCluster, dependsOn: [eso] },
    );
    this.secretStoreReady = [eso, store];
    this.registerOutputs({ secretStoreName: SECRET_STORE_NAME });
  }
}

/**
 * Lets External Secrets (its Pod Identity role) read exactly these Secrets Manager secrets and
 * decrypt them with their key (one inline policy, `name`); says where each is in the store.
 */
export function grantExternalSecretsRead(
  name: string,
  args: {
    readonly role: aws.iam.Role;
    readonly refs: readonly SecretRef[];
    readonly keyArn: pulumi.Input<string>;
  },
  opts: pulumi.CustomResourceOptions,
): { remoteKey: pulumi.Output<string>; property?: string }[] {
  const held = args.refs.map((ref) => {
    if (ref.kind !== "aws-secretsmanager")
      throw new Error(
        `${name}: a secret must live in Secrets Manager to reach pods (got ${ref.kind})`,
      );
    return ref;
  });
  new aws.iam.RolePolicy(
    name,
    {
      role: args.role.id,
      policy: policyDocument([
        {
          Effect: "Allow",
          Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
          Resource: held.map((ref) => ref.arn),
        },
        { Effect: "Allow", Action: "kms:Decrypt", Resource: args.keyArn },
      ]),
    },
    opts,
  );
  return held.map((ref) => ({ remoteKey: ref.arn, property: ref.jsonKey }));
}
