import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { PostgresEndpoint } from "../contracts";
import type { KmsKey } from "./kms-key";
import type { Network } from "./network";
import { replicaArn } from "./secret";
import { rotatePostgresPassword, rotationSecurityGroup } from "./secret-rotation";
import { serviceSecurityGroup } from "./security-group";

/** The Aurora PostgreSQL release of each major version the config allows (global databases and write forwarding need these or later). */
export const AURORA_ENGINE_VERSIONS = { "15": "15.10", "16": "16.6", "17": "17.4" } as const;

/** Where a region's cluster sits in the global database. */
export type AuroraRole =
  | {
      readonly kind: "primary";
      /** The global database's identifier (unique in the account). */
      readonly globalClusterId: string;
      /** The other regions, where the master password's secret is replicated (each with its key). */
      readonly secretReplicas: readonly {
        readonly region: string;
        readonly kmsKeyId: pulumi.Input<string>;
      }[];
    }
  | {
      readonly kind: "secondary";
      /** The primary's component: the global database, and the password's secret replicated here. */
      readonly primary: AuroraGlobalPostgres;
    };

export interface AuroraGlobalPostgresArgs {
  readonly role: AuroraRole;
  /** The cluster's region (the secret replica read here). */
  readonly region: string;
  readonly network: Network;
  /** This region's key (the multi-region key's primary or replica): storage, Performance Insights, the password. */
  readonly kmsKey: KmsKey;
  readonly allowedSecurityGroupIds: readonly pulumi.Input<string>[];
  readonly majorVersion: keyof typeof AURORA_ENGINE_VERSIONS;
  readonly instanceClass: string;
  /** Instances in the cluster (a writer and readers in other zones; a secondary's are all readers). */
  readonly instances: number;
  readonly backupRetentionDays: number;
  readonly deletionProtection: boolean;
  /** @default "rag" */
  readonly databaseName?: string;
  /** Days between rotations of the master password (the primary's secret). @default 30 */
  readonly passwordRotationDays?: number;
}

const USERNAME = "rag_admin";
const PORT = 5432;

/**
 * One region's cluster of an Aurora PostgreSQL Global Database: encrypted with the region's key,
 * TLS only, IAM authentication, backups, deletion protection, logs to CloudWatch. The primary
 * holds the writer; a secondary replicates it (under a second of lag, typically) and forwards the
 * writes its clients send to the primary (write forwarding), so every region's API takes uploads.
 *
 * The master password is a generated secret of the primary (JSON with `username` and `password`,
 * what the runtime reads at connect), replicated to every secondary region: each region's runtime
 * reads its own replica, which outlives the primary region. RDS cannot manage the password of a
 * global database's cluster (manageMasterUserPassword is refused there), so AWS's rotation
 * function changes it on a schedule instead; the replicas follow, and the runtime reads the
 * password afresh when the server refuses the one it holds.
 */
export class AuroraGlobalPostgres extends pulumi.ComponentResource {
  readonly endpoint: PostgresEndpoint;
  readonly clusterArn: pulumi.Output<string>;
  readonly clusterId: pulumi.Output<string>;
  /** The global database's identifier (the switchover and failover commands name it). */
  readonly globalClusterId: pulumi.Output<string>;
  readonly instanceIds: pulumi.Output<string>[];
  /** The password's secret (the primary's ARN; secondaries read replicaArn of it). */
  readonly passwordSecretArn: pulumi.Output<string>;
  /** The function rotating the master password (the primary's; a secondary's is undefined). */
  readonly passwordRotationFunctionArn: pulumi.Output<string> | undefined;
  /** The global writer endpoint: it follows the writer through switchovers and failovers. */
  readonly globalWriterEndpoint: pulumi.Output<string>;
  /** What a secondary waits for: the primary's cluster and writer. */
  readonly ready: pulumi.Resource[];

  constructor(
    name: string,
    args: AuroraGlobalPostgresArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("rag:aws:AuroraGlobalPostgres", name, {}, opts);
    if (args.instances < 1)
      throw new Error(`AuroraGlobalPostgres ${name}: needs at least 1 instance`);
    const parent = { parent: this };
    const databaseName = args.databaseName ?? "rag";
    const engineVersion = AURORA_ENGINE_VERSIONS[args.majorVersion];
    const role = args.role;
    const subnets = new aws.rds.SubnetGroup(
      name,
      { subnetIds: args.network.privateSubnetIds, description: `${name} private subnets` },
      parent,
    );
    // The primary's password rotation function connects like the platform's services.
    const rotationSg =
      role.kind === "primary"
        ? rotationSecurityGroup(`${name}-rotation`, args.network, parent)
        : undefined;
    const sg = serviceSecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.network.vpcId,
        port: PORT,
        description: "PostgreSQL from the platform's services",
        allowedFrom: [...args.allowedSecurityGroupIds, ...(rotationSg ? [rotationSg.id] : [])],
      },
      parent,
    );
    const params = new aws.rds.ClusterParameterGroup(
      name,
      {
        family: `aurora-postgresql${args.majorVersion}`,
        description: `${name}: TLS only, slow-query logging`,
        parameters: [
          { name: "rds.force_ssl", value: "1" },
          { name: "ssl_min_protocol_version", value: "TLSv1.2" },
          { name: "log_min_duration_statement", value: "1000" },
          // A forwarded write is visible to the session that made it (read-your-writes).
          { name: "apg_write_forward.consistency_mode", value: "SESSION" },
        ],
      },
      parent,
    );
    const protect = args.deletionProtection;
    const snapshotSuffix = new random.RandomId(`${name}-final-snapshot`, { byteLength: 4 }, parent);
    const common = {
      engine: "aurora-postgresql",
      engineVersion,
      storageEncrypted: true,
      kmsKeyId: args.kmsKey.arn,
      iamDatabaseAuthenticationEnabled: true,
      dbSubnetGroupName: subnets.name,
      vpcSecurityGroupIds: [sg.id],
      dbClusterParameterGroupName: params.name,
      backupRetentionPeriod: args.backupRetentionDays,
      preferredBackupWindow: "02:00-03:00",
      preferredMaintenanceWindow: "sun:03:30-sun:04:30",
      copyTagsToSnapshot: true,
      deletionProtection: protect,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: pulumi.interpolate`${name}-final-${snapshotSuffix.hex}`,
      enabledCloudwatchLogsExports: ["postgresql"],
      clusterIdentifierPrefix: `${name}-`,
    };
    let cluster: aws.rds.Cluster;
    let rotated:
      { secret: aws.secretsmanager.Secret; version: aws.secretsmanager.SecretVersion } | undefined;
    if (role.kind === "primary") {
      const global = new aws.rds.GlobalCluster(
        name,
        {
          globalClusterIdentifier: role.globalClusterId,
          engine: "aurora-postgresql",
          engineVersion,
          databaseName,
          storageEncrypted: true,
          deletionProtection: protect,
        },
        { parent: this, protect },
      );
      const password = new random.RandomPassword(
        `${name}-password`,
        // RDS refuses / @ " and spaces in a master password.
        { length: 40, special: false },
        parent,
      );
      const secret = new aws.secretsmanager.Secret(
        `${name}-password`,
        {
          namePrefix: `${name}-password-`,
          description: `${name}: the master user's password (username, password), rotated`,
          kmsKeyId: args.kmsKey.arn,
          recoveryWindowInDays: 7,
          replicas: role.secretReplicas.map((r) => ({ region: r.region, kmsKeyId: r.kmsKeyId })),
        },
        parent,
      );
      cluster = new aws.rds.Cluster(
        name,
        {
          ...common,
          globalClusterIdentifier: global.globalClusterIdentifier,
          databaseName,
          masterUsername: USERNAME,
          masterPassword: password.result,
        },
        // The rotation owns the password once the cluster exists.
        { parent: this, protect, ignoreChanges: ["globalClusterIdentifier", "masterPassword"] },
      );
      const version = new aws.secretsmanager.SecretVersion(
        `${name}-password`,
        {
          secretId: secret.id,
          // What the rotation function reads: the engine, where the writer is, who and which database.
          secretString: pulumi.secret(
            pulumi.jsonStringify({
              engine: "postgres",
              host: cluster.endpoint,
              port: PORT,
              username: USERNAME,
              password: password.result,
              dbname: databaseName,
            }),
          ),
        },
        // Later versions are the rotation's: the first one is never written again.
        { parent: this, ignoreChanges: ["secretString"] },
      );
      this.passwordSecretArn = pulumi.all([secret.arn, version.id]).apply(([arn]) => arn);
      rotated = { secret, version };
      this.globalClusterId = global.globalClusterIdentifier;
      this.globalWriterEndpoint = global.endpoint;
    } else {
      const primary = role.primary;
      this.passwordSecretArn = replicaArn(primary.passwordSecretArn, args.region);
      this.globalClusterId = primary.globalClusterId;
      this.globalWriterEndpoint = primary.globalWriterEndpoint;
      cluster = new aws.rds.Cluster(
        name,
        {
          ...common,
          globalClusterIdentifier: primary.globalClusterId,
          // Writes sent here reach the writer in the primary region, and read back here.
          enableGlobalWriteForwarding: true,
        },
        {
          parent: this,
          protect,
          dependsOn: primary.ready,
          // A switchover makes this cluster the writer: its role is AWS's to change, not ours.
          ignoreChanges: ["replicationSourceIdentifier", "globalClusterIdentifier"],
        },
      );
    }
    const instances = Array.from(
      { length: args.instances },
      (_, i) =>
        new aws.rds.ClusterInstance(
          `${name}-${i + 1}`,
          {
            identifierPrefix: `${name}-${i + 1}-`,
            clusterIdentifier: cluster.id,
            engine: "aurora-postgresql",
            engineVersion,
            instanceClass: args.instanceClass,
            dbSubnetGroupName: subnets.name,
            publiclyAccessible: false,
            autoMinorVersionUpgrade: true,
            performanceInsightsEnabled: true,
            performanceInsightsKmsKeyId: args.kmsKey.arn,
            performanceInsightsRetentionPeriod: 7,
            promotionTier: i,
          },
          parent,
        ),
    );
    this.passwordRotationFunctionArn =
      rotated &&
      rotationSg &&
      rotatePostgresPassword(
        `${name}-rotation`,
        {
          secret: rotated.secret,
          region: args.region,
          kmsKey: args.kmsKey,
          network: args.network,
          securityGroup: rotationSg,
          database: { securityGroupId: sg.id, port: PORT },
          rotationDays: args.passwordRotationDays,
          after: [rotated.version, ...instances],
        },
        parent,
      ).functionArn;
    this.ready = [cluster, ...instances];
    this.clusterArn = cluster.arn;
    this.clusterId = cluster.clusterIdentifier;
    this.instanceIds = instances.map((i) => i.identifier);
    this.endpoint = {
      resourceId: cluster.arn,
      // The primary's runtime writes through the global writer endpoint (which follows the writer
      // through a switchover); a secondary's reads its own readers, which forward its writes.
      host: role.kind === "primary" ? this.globalWriterEndpoint : cluster.readerEndpoint,
      port: cluster.port,
      database: pulumi.output(databaseName),
      username: pulumi.output(USERNAME),
      password: { kind: "aws-secretsmanager", arn: this.passwordSecretArn, jsonKey: "password" },
      sslMode: "verify-full",
    };
    this.registerOutputs({ host: this.endpoint.host });
  }
}
