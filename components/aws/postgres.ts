import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ENV } from "../../runtime/src/config";
import { DB_USER_NAME } from "../../runtime/src/db/iam-users";
import type { PostgresEndpoint, RuntimeEnvironment } from "../contracts";
import type { Statement } from "./account";
import type { KmsKey } from "./kms-key";
import type { Network } from "./network";
import { serviceSecurityGroup } from "./security-group";

export interface RdsPostgresArgs {
  readonly network: Network;
  readonly kmsKey: KmsKey;
  /** Security groups whose members may connect on 5432. */
  readonly allowedSecurityGroupIds: readonly pulumi.Input<string>[];
  /** Major version: 15, 16 or 17. */
  readonly majorVersion: "15" | "16" | "17";
  readonly instanceClass: string;
  readonly storageGiB: number;
  /** Storage autoscaling ceiling. */
  readonly maxStorageGiB: number;
  readonly backupRetentionDays: number;
  /** @default false */
  readonly multiAz?: boolean;
  /** @default false */
  readonly deletionProtection?: boolean;
  /** @default "rag" */
  readonly databaseName?: string;
  /** @default "rag_admin" */
  readonly masterUsername?: string;
}

/**
 * RDS PostgreSQL in private subnets: encrypted with our key, TLS forced, backups, master password
 * owned and rotated by Secrets Manager, IAM auth, encrypted Performance Insights. The runtime
 * creates the pgvector extension itself (`CREATE EXTENSION IF NOT EXISTS vector`).
 */
export class RdsPostgres extends pulumi.ComponentResource {
  readonly endpoint: PostgresEndpoint;
  readonly instanceId: pulumi.Output<string>;
  readonly masterSecretArn: pulumi.Output<string>;
  /** The instance's resource id: what `rds-db:connect` names (`dbuser:<id>/<user>`). */
  readonly iamResourceId: pulumi.Output<string>;

  constructor(name: string, args: RdsPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:Postgres", name, {}, opts);
    if (args.maxStorageGiB < args.storageGiB) {
      throw new Error(
        `RdsPostgres ${name}: maxStorageGiB (${args.maxStorageGiB}) must be at least storageGiB (${args.storageGiB})`,
      );
    }
    const parent = { parent: this };
    const databaseName = args.databaseName ?? "rag";
    const username = args.masterUsername ?? "rag_admin";
    const subnets = new aws.rds.SubnetGroup(
      name,
      { subnetIds: args.network.privateSubnetIds, description: `${name} private subnets` },
      parent,
    );
    const sg = serviceSecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.network.vpcId,
        port: 5432,
        description: "PostgreSQL from the platform's services",
        allowedFrom: args.allowedSecurityGroupIds,
      },
      parent,
    );
    const params = new aws.rds.ParameterGroup(
      name,
      {
        family: `postgres${args.majorVersion}`,
        description: `${name}: TLS only, slow-query logging`,
        parameters: [
          { name: "rds.force_ssl", value: "1" },
          { name: "ssl_min_protocol_version", value: "TLSv1.2" },
          { name: "log_min_duration_statement", value: "1000" },
        ],
      },
      parent,
    );
    const protect = args.deletionProtection ?? false;
    // Snapshot names are unique per account and region, and a snapshot outlives its instance: a
    // fixed name would make the next destroy of a re-created stack fail.
    const snapshotSuffix = new random.RandomId(`${name}-final-snapshot`, { byteLength: 4 }, parent);
    const instance = new aws.rds.Instance(
      name,
      {
        identifierPrefix: `${name}-`,
        engine: "postgres",
        engineVersion: args.majorVersion,
        autoMinorVersionUpgrade: true,
        instanceClass: args.instanceClass,
        allocatedStorage: args.storageGiB,
        maxAllocatedStorage: args.maxStorageGiB,
        storageType: "gp3",
        storageEncrypted: true,
        kmsKeyId: args.kmsKey.arn,
        dbName: databaseName,
        username,
        manageMasterUserPassword: true,
        masterUserSecretKmsKeyId: args.kmsKey.arn,
        iamDatabaseAuthenticationEnabled: true,
        dbSubnetGroupName: subnets.name,
        vpcSecurityGroupIds: [sg.id],
        publiclyAccessible: false,
        parameterGroupName: params.name,
        multiAz: args.multiAz ?? false,
        backupRetentionPeriod: args.backupRetentionDays,
        backupWindow: "02:00-03:00",
        maintenanceWindow: "sun:03:30-sun:04:30",
        copyTagsToSnapshot: true,
        deletionProtection: protect,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: pulumi.interpolate`${name}-final-${snapshotSuffix.hex}`,
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: args.kmsKey.arn,
        performanceInsightsRetentionPeriod: 7,
        enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
      },
      { parent: this, protect },
    );
    this.instanceId = instance.identifier;
    this.iamResourceId = instance.resourceId;
    this.masterSecretArn = instance.masterUserSecrets.apply(
      (secrets) => secrets[0]?.secretArn ?? "",
    );
    this.endpoint = {
      resourceId: instance.arn,
      host: instance.address,
      port: instance.port,
      database: pulumi.output(databaseName),
      username: pulumi.output(username),
      password: { kind: "aws-secretsmanager", arn: this.masterSecretArn, jsonKey: "password" },
      sslMode: "verify-full",
    };
    this.registerOutputs({ host: this.endpoint.host });
  }
}

/**
 * The database password as the runtime reads it on AWS: RDS rotates its managed master password
 * every 7 days, and a value injected at start (ECS `secrets`, an environment variable) would be
 * refused for new connections a week later. The runtime reads RDS's secret itself instead
 * (PGPASSWORD_SECRET_ARN) with its own role, for new connections, again whenever the server
 * refuses it. Returns the environment without the password and the secret the role must read.
 */
export function passwordReadAtConnect(env: RuntimeEnvironment): {
  env: RuntimeEnvironment;
  databaseSecretArn?: pulumi.Output<string>;
} {
  const ref = env.secrets[ENV.pgPassword];
  if (ref?.kind !== "aws-secretsmanager") return { env };
  const secrets = { ...env.secrets };
  delete secrets[ENV.pgPassword];
  return {
    env: { plain: { ...env.plain, [ENV.pgPasswordSecretArn]: ref.arn }, secrets },
    databaseSecretArn: ref.arn,
  };
}

/** What reading the database password takes: that one secret, and the key it is encrypted with. */
export function databasePasswordStatements(
  secretArn: pulumi.Input<string>,
  keyArn: pulumi.Input<string>,
): Statement[] {
  return [
    {
      Sid: "ReadTheDatabasePassword",
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      Resource: secretArn,
    },
    { Sid: "DecryptTheDatabasePassword", Effect: "Allow", Action: "kms:Decrypt", Resource: keyArn },
  ];
}

/** A database taking IAM tokens: where its users' `dbuser` ARNs are. */
export interface IamDatabase {
  readonly partition: pulumi.Input<string>;
  readonly region: string;
  readonly accountId: pulumi.Input<string>;
  /** The cluster's or instance's resource id (`cluster-…`, `db-…`). */
  readonly resourceId: pulumi.Input<string>;
}

/** The one database user `rds-db:connect` on this ARN lets a role sign in as. */
export function dbUserArn(db: IamDatabase, user: string): pulumi.Output<string> {
  if (!DB_USER_NAME.test(user))
    throw new Error(`dbUserArn: ${JSON.stringify(user)} is not a database user name`);
  return pulumi.interpolate`arn:${db.partition}:rds-db:${db.region}:${db.accountId}:dbuser:${db.resourceId}/${user}`;
}

/**
 * The runtime signing in as `user` with IAM tokens (DATABASE_AUTH=aws-rds-iam): the environment
 * with that user and no password, and the one statement letting its role connect as that user.
 */
export function iamDatabaseLogin(
  env: RuntimeEnvironment,
  db: IamDatabase,
  user: string,
): { env: RuntimeEnvironment; statements: Statement[] } {
  const secrets = { ...env.secrets };
  delete secrets[ENV.pgPassword];
  return {
    env: {
      plain: {
        ...env.plain,
        [ENV.databaseAuth]: "aws-rds-iam",
        [ENV.databaseAwsRegion]: db.region,
        [ENV.pgUser]: user,
      },
      secrets,
    },
    statements: [
      {
        Sid: "SignInToTheDatabase",
        Effect: "Allow",
        Action: "rds-db:connect",
        Resource: dbUserArn(db, user),
      },
    ],
  };
}
