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
  | { readonly kind: "writer" }
  | {
      readonly kind: "secondary";
      /** The writer's cluster: a secondary joins once it is up. */
      readonly writer: AuroraGlobalPostgres;
    };

export interface AuroraGlobalDatabaseArgs {
  /** The global database's identifier (unique in the account). */
  readonly globalClusterId: string;
  /** The home region's key: the master password's secret. */
  readonly kmsKey: KmsKey;
  /** The other regions, where the password's secret is replicated (each with its key). */
  readonly secretReplicas: readonly {
    readonly region: string;
    readonly kmsKeyId: pulumi.Input<string>;
  }[];
  readonly majorVersion: keyof typeof AURORA_ENGINE_VERSIONS;
  readonly deletionProtection: boolean;
  /** @default "rag" */
  readonly databaseName?: string;
  /** Days between rotations of the master password. @default 30 */
  readonly passwordRotationDays?: number;
}

const USERNAME = "rag_admin";
const PORT = 5432;

/**
 * The global database itself and its master password, made once in the home region: the
 * regions' clusters join it. Kept apart from any region's cluster, so the writer can move (a
 * switchover, then `regions` reordered) without the global database or its secret moving.
 * The password is a generated secret (JSON with `username` and `password`, what the runtime
 * reads at connect), replicated to every other region: each region's runtime reads its own
 * replica, which outlives the home region. RDS cannot manage the password of a global
 * database's cluster (manageMasterUserPassword is refused there), so AWS's rotation function,
 * beside the home region's cluster, changes it on a schedule; the replicas follow.
 */
export class AuroraGlobalDatabase extends pulumi.ComponentResource {
  readonly globalClusterId: pulumi.Output<string>;
  /** The global writer endpoint: it follows the writer through switchovers and failovers. */
  readonly globalWriterEndpoint: pulumi.Output<string>;
  /** The password's secret in the home region (other regions read replicaArn of it). */
  readonly passwordSecretArn: pulumi.Output<string>;
  /** The master password, for the writer's cluster. */
  readonly masterPassword: pulumi.Output<string>;
  readonly username = USERNAME;
  readonly databaseName: string;
  readonly majorVersion: keyof typeof AURORA_ENGINE_VERSIONS;
  readonly deletionProtection: boolean;
  readonly passwordRotationDays: number | undefined;
  /** The password's secret and its first version, for the home region's rotation. */
  readonly passwordSecret: aws.secretsmanager.Secret;
  readonly passwordVersion: aws.secretsmanager.SecretVersion;

  constructor(
    name: string,
    args: AuroraGlobalDatabaseArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("rag:aws:AuroraGlobalDatabase", name, {}, opts);
    const parent = { parent: this };
    this.databaseName = args.databaseName ?? "rag";
    this.majorVersion = args.majorVersion;
    this.deletionProtection = args.deletionProtection;
    this.passwordRotationDays = args.passwordRotationDays;
    const protect = args.deletionProtection;
    const global = new aws.rds.GlobalCluster(
      name,
      {
        globalClusterIdentifier: args.globalClusterId,
        engine: "aurora-postgresql",
        engineVersion: AURORA_ENGINE_VERSIONS[args.majorVersion],
        databaseName: this.databaseName,
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
        replicas: args.secretReplicas.map((r) => ({ region: r.region, kmsKeyId: r.kmsKeyId })),
      },
      parent,
    );
    const version = new aws.secretsmanager.SecretVersion(
      `${name}-password`,
      {
        secretId: secret.id,
        // What the rotation function reads: the engine, where the writer is (the global writer
        // endpoint follows it), who and which database.
        secretString: pulumi.secret(
          pulumi.jsonStringify({
            engine: "postgres",
            host: global.endpoint,
            port: PORT,
            username: USERNAME,
            password: password.result,
            dbname: this.databaseName,
          }),
        ),
      },
      // Later versions are the rotation's: the first one is never written again.
      { parent: this, ignoreChanges: ["secretString"] },
    );
    this.passwordSecret = secret;
    this.passwordVersion = version;
    this.passwordSecretArn = pulumi.all([secret.arn, version.id]).apply(([arn]) => arn);
    this.masterPassword = password.result;
    this.globalClusterId = global.globalClusterIdentifier;
    this.globalWriterEndpoint = global.endpoint;
    this.registerOutputs({ globalClusterId: this.globalClusterId });
  }
}

export interface AuroraGlobalPostgresArgs {
  /** The global database the cluster joins (its engine, database name, deletion protection). */
  readonly global: AuroraGlobalDatabase;
  readonly role: AuroraRole;
  /** The cluster's region (the secret replica read here). */
  readonly region: string;
  readonly network: Network;
  /** This region's key (the multi-region key's primary or replica): storage, Performance Insights, the password. */
  readonly kmsKey: KmsKey;
  readonly allowedSecurityGroupIds: readonly pulumi.Input<string>[];
  readonly instanceClass: string;
  /** Instances in the cluster (a writer and readers in other zones; a secondary's are all readers). */
  readonly instances: number;
  readonly backupRetentionDays: number;
  /**
   * Run the password's rotation function beside this cluster: the home region's, where the
   * secret is (a rotation function runs in its secret's region). @default false
   */
  readonly rotatesPassword?: boolean;
}

/**
 * What the writer's cluster is given that a secondary's is not (the master user, the database):
 * ignored once created, so a failover that swaps the roles (regions reordered) changes neither
 * cluster. AWS changes the roles; the global database keeps the user and the data.
 */
export const AURORA_ROLE_INPUTS = [
  "globalClusterIdentifier",
  "replicationSourceIdentifier",
  "databaseName",
  "masterUsername",
  "masterPassword",
];

/**
 * One region's cluster of an Aurora PostgreSQL Global Database: encrypted with the region's key,
 * TLS only, IAM authentication, backups, deletion protection, logs to CloudWatch. The writer's
 * region holds the writer; a secondary replicates it (under a second of lag, typically) and
 * forwards the writes its clients send to the writer (write forwarding), so every region's API
 * takes uploads. Each region's runtime reads the password from its own replica of the secret,
 * and reads it afresh when the server refuses the one it holds (after a rotation).
 */
export class AuroraGlobalPostgres extends pulumi.ComponentResource {
  readonly endpoint: PostgresEndpoint;
  readonly clusterArn: pulumi.Output<string>;
  readonly clusterId: pulumi.Output<string>;
  /** The global database's identifier (the switchover and failover commands name it). */
  readonly globalClusterId: pulumi.Output<string>;
  readonly instanceIds: pulumi.Output<string>[];
  /** The password's secret as this region reads it (the home region's, or its replica here). */
  readonly passwordSecretArn: pulumi.Output<string>;
  /** The global writer endpoint: it follows the writer through switchovers and failovers. */
  readonly globalWriterEndpoint: pulumi.Output<string>;
  /** What a secondary waits for: the writer's cluster and instances. */
  readonly ready: pulumi.Resource[];
  /** The function rotating the master password (the home region's; elsewhere undefined). */
  readonly passwordRotationFunctionArn: pulumi.Output<string> | undefined;
  /** The cluster's resource id: what `rds-db:connect` names (`dbuser:<id>/<user>`). */
  readonly iamResourceId: pulumi.Output<string>;

  constructor(
    name: string,
    args: AuroraGlobalPostgresArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("rag:aws:AuroraGlobalPostgres", name, {}, opts);
    if (args.instances < 1)
      throw new Error(`AuroraGlobalPostgres ${name}: needs at least 1 instance`);
    const parent = { parent: this };
    const global = args.global;
    const engineVersion = AURORA_ENGINE_VERSIONS[global.majorVersion];
    const role = args.role;
    const subnets = new aws.rds.SubnetGroup(
      name,
      { subnetIds: args.network.privateSubnetIds, description: `${name} private subnets` },
      parent,
    );
    // The rotation function connects like the platform's services.
    const rotationSg = args.rotatesPassword
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
        family: `aurora-postgresql${global.majorVersion}`,
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
    const protect = global.deletionProtection;
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
      globalClusterIdentifier: global.globalClusterId,
    };
    let cluster: aws.rds.Cluster;
    switch (role.kind) {
      case "writer":
        cluster = new aws.rds.Cluster(
          name,
          {
            ...common,
            databaseName: global.databaseName,
            masterUsername: global.username,
            masterPassword: global.masterPassword,
          },
          { parent: this, protect, ignoreChanges: AURORA_ROLE_INPUTS },
        );
        break;
      case "secondary":
        cluster = new aws.rds.Cluster(
          name,
          {
            ...common,
            // Writes sent here reach the writer, and read back here.
            enableGlobalWriteForwarding: true,
          },
          {
            parent: this,
            protect,
            dependsOn: role.writer.ready,
            ignoreChanges: AURORA_ROLE_INPUTS,
          },
        );
        break;
      default: {
        const unknown: never = role;
        throw new Error(`AuroraGlobalPostgres ${name}: unknown role ${JSON.stringify(unknown)}`);
      }
    }
    this.passwordSecretArn = replicaArn(global.passwordSecretArn, args.region);
    this.globalClusterId = global.globalClusterId;
    this.globalWriterEndpoint = global.globalWriterEndpoint;
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
      rotationSg &&
      rotatePostgresPassword(
        `${name}-rotation`,
        {
          secret: global.passwordSecret,
          region: args.region,
          kmsKey: args.kmsKey,
          network: args.network,
          securityGroup: rotationSg,
          database: { securityGroupId: sg.id, port: PORT },
          rotationDays: global.passwordRotationDays,
          after: [global.passwordVersion, ...instances],
        },
        parent,
      ).functionArn;
    this.ready = [cluster, ...instances];
    this.clusterArn = cluster.arn;
    this.clusterId = cluster.clusterIdentifier;
    this.iamResourceId = cluster.clusterResourceId;
    this.instanceIds = instances.map((i) => i.identifier);
    this.endpoint = {
      resourceId: cluster.arn,
      // The writer's runtime writes through the global writer endpoint (which follows the writer
      // through a switchover); a secondary's reads its own readers, which forward its writes.
      host: role.kind === "writer" ? this.globalWriterEndpoint : cluster.readerEndpoint,
      port: cluster.port,
      database: pulumi.output(global.databaseName),
      username: pulumi.output(global.username),
      password: { kind: "aws-secretsmanager", arn: this.passwordSecretArn, jsonKey: "password" },
      sslMode: "verify-full",
    };
    this.registerOutputs({ host: this.endpoint.host });
  }
}
