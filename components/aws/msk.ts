import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumedBy, policyDocument, type AwsAccount, type Statement } from "./account";
import type { KmsKey } from "./kms-key";
import type { Network } from "./network";
import { serviceSecurityGroup } from "./security-group";

/** The port of MSK's brokers for SASL/IAM over TLS (the only listener we open). */
export const MSK_IAM_TLS_PORT = 9098;

export interface MskClusterArgs {
  readonly account: AwsAccount;
  readonly network: Network;
  /** Encrypts the brokers' storage (a customer key). */
  readonly kmsKey: KmsKey;
  /** Encrypts the broker log group. */
  readonly logsKey: KmsKey;
  readonly logRetentionDays: number;
  readonly kafkaVersion: string;
  readonly brokerType: string;
  readonly brokerStorageGiB: number;
  readonly retentionHours: number;
  /** Security groups whose members (the cluster's pods) reach the brokers. */
  readonly allowedSecurityGroupIds: readonly pulumi.Input<string>[];
  /**
   * Let MSK Replicator in other regions read this cluster over multi-VPC private connectivity
   * (IAM): the source of a cross-region replicator needs it. @default false
   */
  readonly replicationSource?: boolean;
}

/**
 * Amazon MSK, provisioned: three brokers over three zones, IAM authentication only (no
 * unauthenticated or plaintext listener), TLS between clients and brokers and between brokers,
 * storage encrypted with our key, broker logs to an encrypted CloudWatch log group, no public
 * access. Topics are replicated three times with two in sync before a write is acknowledged.
 */
export class MskCluster extends pulumi.ComponentResource {
  readonly arn: pulumi.Output<string>;
  readonly clusterName: pulumi.Output<string>;
  /** The SASL/IAM over TLS bootstrap brokers (host:9098,...). */
  readonly bootstrapBrokers: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  /** The network's private subnets the brokers sit in. */
  readonly subnetIds: pulumi.Input<string>[];
  /** A replication source's group for MSK Replicator's interfaces in this network. */
  readonly replicatorSecurityGroupId: pulumi.Output<string> | undefined;

  constructor(name: string, args: MskClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:MskCluster", name, {}, opts);
    const parent = { parent: this };
    if (args.network.privateSubnetIds.length < 3) {
      throw new Error(`MskCluster ${name}: three brokers over three zones need 3 private subnets`);
    }
    const sg = serviceSecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.network.vpcId,
        port: MSK_IAM_TLS_PORT,
        description: "Kafka (SASL/IAM over TLS) from the platform's services",
        allowedFrom: args.allowedSecurityGroupIds,
      },
      parent,
    );
    const logs = new aws.cloudwatch.LogGroup(
      `${name}-brokers`,
      {
        name: `/aws/msk/${name}`,
        retentionInDays: args.logRetentionDays,
        kmsKeyId: args.logsKey.arn,
      },
      parent,
    );
    const config = new aws.msk.Configuration(
      name,
      {
        name: `${name}-config`,
        kafkaVersions: [args.kafkaVersion],
        serverProperties: [
          "auto.create.topics.enable=false",
          "default.replication.factor=3",
          "min.insync.replicas=2",
          "unclean.leader.election.enable=false",
          `log.retention.hours=${args.retentionHours}`,
          "allow.everyone.if.no.acl.found=false",
        ].join("\n"),
      },
      parent,
    );
    const cluster = new aws.msk.Cluster(
      name,
      {
        clusterName: name,
        kafkaVersion: args.kafkaVersion,
        numberOfBrokerNodes: 3,
        brokerNodeGroupInfo: {
          instanceType: args.brokerType,
          clientSubnets: args.network.privateSubnetIds.slice(0, 3),
          securityGroups: [sg.id],
          storageInfo: { ebsStorageInfo: { volumeSize: args.brokerStorageGiB } },
          connectivityInfo: {
            publicAccess: { type: "DISABLED" },
            ...(args.replicationSource
              ? { vpcConnectivity: { clientAuthentication: { sasl: { iam: true } } } }
              : {}),
          },
        },
        clientAuthentication: { sasl: { iam: true }, unauthenticated: false },
        encryptionInfo: {
          encryptionAtRestKmsKeyArn: args.kmsKey.arn,
          encryptionInTransit: { clientBroker: "TLS", inCluster: true },
        },
        loggingInfo: {
          brokerLogs: { cloudwatchLogs: { enabled: true, logGroup: logs.name } },
        },
        configurationInfo: { arn: config.arn, revision: config.latestRevision },
        enhancedMonitoring: "PER_TOPIC_PER_BROKER",
      },
      parent,
    );
    this.subnetIds = args.network.privateSubnetIds.slice(0, 3);
    this.replicatorSecurityGroupId = undefined;
    if (args.replicationSource) {
      const replicatorSg = replicatorSecurityGroup(
        `${name}-replicator`,
        args.network,
        sg.id,
        parent,
      );
      this.replicatorSecurityGroupId = replicatorSg.id;
      // MSK Replicator reads the source cluster through the service principal, for this account.
      new aws.msk.ClusterPolicy(
        name,
        {
          clusterArn: cluster.arn,
          policy: policyDocument([
            {
              Sid: "ReplicatorReads",
              Effect: "Allow",
              Principal: { Service: "kafka.amazonaws.com" },
              Action: [
                "kafka:CreateVpcConnection",
                "kafka:GetBootstrapBrokers",
                "kafka:DescribeClusterV2",
              ],
              Resource: cluster.arn,
              Condition: { StringEquals: { "aws:SourceAccount": args.account.accountId } },
            },
          ]),
        },
        parent,
      );
    }
    this.arn = cluster.arn;
    this.clusterName = cluster.clusterName;
    this.bootstrapBrokers = cluster.bootstrapBrokersSaslIam;
    this.securityGroupId = sg.id;
    this.registerOutputs({ arn: this.arn });
  }
}

/** What one client does on the cluster: the topics it reads and writes, the groups it joins. */
export interface KafkaClientAccess {
  /** Topics it may see. */
  readonly topics: readonly string[];
  /** It may create them when missing (the runtime makes the ones it lacks at start). */
  readonly createsTopics: boolean;
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  /** Groups it may describe (their lag). */
  readonly describesGroups: readonly string[];
  /** Groups it joins and commits offsets in. */
  readonly joinsGroups: readonly string[];
}

/** The ARNs of named topics or groups of a cluster (`arn:...:topic/<cluster>/<uuid>/<name>`). */
function namedUnder(
  clusterArn: pulumi.Input<string>,
  kind: "topic" | "group",
  names: readonly string[],
): pulumi.Output<string[]> {
  return pulumi
    .output(clusterArn)
    .apply((arn) =>
      names.map((n) => `${arn.replace(":cluster/", `:${kind}/`).replace(/\/?$/, "")}/${n}`),
    );
}

/**
 * IAM for a client of the cluster (MSK IAM): connect, see (and create) the named topics, read and
 * write only those it reads and writes, describe and join only the named groups. Statements with
 * nothing to grant are left out: a reader of the groups' lag (KEDA) gets connect and describe.
 */
export function kafkaClientStatements(
  clusterArn: pulumi.Input<string>,
  access: KafkaClientAccess,
): Statement[] {
  const topics = (names: readonly string[]) =>
    namedUnder(clusterArn, "topic", names) as unknown as string;
  /** One action on named topics or groups; nothing when there are none. */
  const onNamed = (
    Sid: string,
    action: string,
    kind: "topic" | "group",
    names: readonly string[],
  ): Statement[] =>
    names.length > 0
      ? [
          {
            Sid,
            Effect: "Allow",
            Action: [`kafka-cluster:${action}`],
            Resource: namedUnder(clusterArn, kind, names) as unknown as string,
          },
        ]
      : [];
  return [
    {
      Sid: "ConnectToTheIngestLog",
      Effect: "Allow",
      Action: ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"],
      Resource: clusterArn,
    },
    {
      Sid: "SeeTheIngestTopics",
      Effect: "Allow",
      Action: [
        "kafka-cluster:DescribeTopic",
        ...(access.createsTopics ? ["kafka-cluster:CreateTopic"] : []),
      ],
      Resource: topics(access.topics),
    },
    ...onNamed("ReadItsTopics", "ReadData", "topic", access.reads),
    ...onNamed("WriteItsTopics", "WriteData", "topic", access.writes),
    ...onNamed("DescribeTheGroups", "DescribeGroup", "group", access.describesGroups),
    ...onNamed("JoinItsGroup", "AlterGroup", "group", access.joinsGroups),
  ];
}

export interface MskReplicatorArgs {
  readonly account: AwsAccount;
  readonly source: MskCluster;
  readonly target: MskCluster;
  /** The target's network (the replicator's interfaces live there). */
  readonly targetNetwork: Network;
  readonly topics: readonly string[];
  /** Groups whose offsets follow to the target. @default - none */
  readonly consumerGroups?: readonly string[];
}

/**
 * MSK Replicator from one region's cluster to another's, in the target region, topics under
 * their own names: the primary's ingest topics to each other region (consumers there read the
 * same topics) with the consumer groups' offsets, so a region that takes over ingest resumes
 * where the primary stopped; and each other region's uploads topic back to the primary.
 */
export class MskReplicator extends pulumi.ComponentResource {
  readonly arn: pulumi.Output<string>;

  constructor(name: string, args: MskReplicatorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:MskReplicator", name, {}, opts);
    const parent = { parent: this };
    const role = new aws.iam.Role(
      name,
      {
        namePrefix: `${name}-`.slice(0, 38),
        assumeRolePolicy: assumedBy("kafka.amazonaws.com"),
      },
      parent,
    );
    const clusters = [args.source.arn, args.target.arn];
    const scoped = (kind: string) =>
      pulumi
        .all(clusters)
        .apply((arns) => arns.map((arn) => `${arn.replace(":cluster/", `:${kind}/`)}/*`));
    new aws.iam.RolePolicy(
      name,
      {
        role: role.id,
        policy: policyDocument([
          {
            Sid: "ConnectBoth",
            Effect: "Allow",
            Action: [
              "kafka-cluster:Connect",
              "kafka-cluster:DescribeCluster",
              "kafka-cluster:AlterCluster",
              "kafka-cluster:DescribeClusterDynamicConfiguration",
            ],
            Resource: clusters,
          },
          {
            Sid: "CopyTopics",
            Effect: "Allow",
            Action: [
              "kafka-cluster:DescribeTopic",
              "kafka-cluster:CreateTopic",
              "kafka-cluster:AlterTopic",
              "kafka-cluster:ReadData",
              "kafka-cluster:WriteData",
              "kafka-cluster:DescribeTopicDynamicConfiguration",
              "kafka-cluster:AlterTopicDynamicConfiguration",
            ],
            Resource: scoped("topic") as unknown as string,
          },
          {
            Sid: "CopyGroupOffsets",
            Effect: "Allow",
            Action: ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
            Resource: scoped("group") as unknown as string,
          },
        ]),
      },
      parent,
    );
    const targetSg = replicatorSecurityGroup(
      `${name}-target`,
      args.targetNetwork,
      args.target.securityGroupId,
      parent,
    );
    const sourceSg = args.source.replicatorSecurityGroupId;
    if (!sourceSg)
      throw new Error(
        `MskReplicator ${name}: the source cluster must be built with replicationSource`,
      );
    const vpc = (cluster: MskCluster, group: pulumi.Input<string>) => ({
      subnetIds: cluster.subnetIds,
      securityGroupsIds: [group],
    });
    const replicator = new aws.msk.Replicator(
      name,
      {
        replicatorName: name,
        description: `${name}: the ingest topics and their groups' offsets`,
        serviceExecutionRoleArn: role.arn,
        kafkaClusters: [
          {
            amazonMskCluster: { mskClusterArn: args.source.arn },
            vpcConfig: vpc(args.source, sourceSg),
          },
          {
            amazonMskCluster: { mskClusterArn: args.target.arn },
            vpcConfig: vpc(args.target, targetSg.id),
          },
        ],
        replicationInfoList: {
          sourceKafkaClusterArn: args.source.arn,
          targetKafkaClusterArn: args.target.arn,
          targetCompressionType: "ZSTD",
          topicReplications: [
            {
              topicsToReplicates: [...args.topics],
              topicNameConfiguration: { type: "IDENTICAL" },
              copyTopicConfigurations: true,
              copyAccessControlListsForTopics: true,
              detectAndCopyNewTopics: true,
              startingPosition: { type: "EARLIEST" },
            },
          ],
          consumerGroupReplications: [
            {
              consumerGroupsToReplicates: [...(args.consumerGroups ?? [])],
              synchroniseConsumerGroupOffsets: (args.consumerGroups ?? []).length > 0,
              detectAndCopyNewConsumerGroups: (args.consumerGroups ?? []).length > 0,
            },
          ],
        },
      },
      parent,
    );
    this.arn = replicator.arn;
    this.registerOutputs({ arn: this.arn });
  }
}

/** A group for MSK Replicator's interfaces in a network: out to Kafka only, let into that network's brokers. */
function replicatorSecurityGroup(
  name: string,
  network: Network,
  brokersSecurityGroupId: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): aws.ec2.SecurityGroup {
  const sg = new aws.ec2.SecurityGroup(
    name,
    {
      vpcId: network.vpcId,
      description: `${name}: MSK Replicator to the brokers`,
      egress: [
        {
          protocol: "tcp",
          fromPort: MSK_IAM_TLS_PORT,
          toPort: MSK_IAM_TLS_PORT,
          cidrBlocks: [network.vpcCidr],
          description: "Kafka (SASL/IAM over TLS) in this network",
        },
      ],
    },
    opts,
  );
  new aws.vpc.SecurityGroupIngressRule(
    `${name}-to-brokers`,
    {
      securityGroupId: brokersSecurityGroupId,
      ipProtocol: "tcp",
      fromPort: MSK_IAM_TLS_PORT,
      toPort: MSK_IAM_TLS_PORT,
      referencedSecurityGroupId: sg.id,
      description: "MSK Replicator",
    },
    opts,
  );
  return sg;
}
