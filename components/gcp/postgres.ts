import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { PostgresEndpoint } from "../contracts";
import { uniqueName, type GcpScope } from "./common";
import type { GcpKms } from "./kms";
import type { GcpNetwork } from "./network";
import { GcpSecret } from "./secret";

export const CLOUD_SQL_PORT = 5432;

/** Server flags the platform sets: every connection, disconnection, checkpoint and lock wait logged. */
export const DATABASE_FLAGS = {
  log_connections: "on",
  log_disconnections: "on",
  log_checkpoints: "on",
  log_lock_waits: "on",
} as const;

export interface CloudSqlPostgresArgs {
  readonly scope: GcpScope;
  readonly network: GcpNetwork;
  /** Its key encrypts the instance and the password's secret. */
  readonly kms: GcpKms;
  readonly majorVersion: "15" | "16" | "17";
  /** A Cloud SQL machine type: db-custom-<vCPUs>-<MiB>, or db-perf-optimized-N-<vCPUs>. */
  readonly tier: string;
  readonly storageGiB: number;
  /** The ceiling automatic storage growth stops at. */
  readonly maxStorageGiB: number;
  /** Daily backups kept (0: none); point-in-time recovery over the last 7 days of them at most. */
  readonly backupRetentionDays: number;
  /** A standby in another zone with automatic failover (REGIONAL). @default false */
  readonly regional?: boolean;
  /** Cloud SQL refuses to delete the instance, and so does `pulumi destroy`. @default false */
  readonly deletionProtection?: boolean;
  readonly databaseName: string;
  /** @default "rag" */
  readonly username?: string;
}

/**
 * Cloud SQL for PostgreSQL on a private IP only (private services access; no public IP),
 * encrypted with the stack's key, encrypted connections only, with its own server CA (the runtime
 * checks the chain against it: PGSSLMODE verify-ca), daily backups and point-in-time recovery,
 * connection and lock logging, Query Insights, a zone-redundant standby and deletion protection
 * when asked. Cloud SQL has pgvector: the runtime creates the extension. The user's password is
 * generated into Secret Manager.
 */
export class CloudSqlPostgres extends pulumi.ComponentResource {
  readonly endpoint: PostgresEndpoint;
  readonly instanceName: pulumi.Output<string>;
  /** The instance's server CA certificate (PEM): what the runtime's PGSSLROOTCERT holds. */
  readonly serverCaPem: pulumi.Output<string>;

  constructor(name: string, args: CloudSqlPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:Postgres", name, {}, opts);
    if (args.maxStorageGiB < args.storageGiB)
      throw new Error(
        `CloudSqlPostgres ${name}: maxStorageGiB ${args.maxStorageGiB} is below storageGiB ${args.storageGiB}`,
      );
    const parent = { parent: this };
    const { project, region } = args.scope;
    const protect = args.deletionProtection ?? false;
    const username = args.username ?? "rag";
    const days = args.backupRetentionDays;
    const instance = new gcp.sql.DatabaseInstance(
      name,
      {
        project,
        region,
        // Cloud SQL keeps a deleted instance's name for a week: the suffix lets a new stack reuse the prefix.
        name: uniqueName(name, args.scope.uniqueSuffix, 90),
        databaseVersion: `POSTGRES_${args.majorVersion}`,
        encryptionKeyName: args.kms.keyId,
        deletionProtection: protect,
        settings: {
          tier: args.tier,
          edition: args.tier.startsWith("db-perf-optimized") ? "ENTERPRISE_PLUS" : "ENTERPRISE",
          availabilityType: args.regional ? "REGIONAL" : "ZONAL",
          diskType: "PD_SSD",
          diskSize: args.storageGiB,
          diskAutoresize: true,
          diskAutoresizeLimit: args.maxStorageGiB,
          deletionProtectionEnabled: protect,
          ipConfiguration: {
            ipv4Enabled: false,
            privateNetwork: args.network.networkId,
            sslMode: "ENCRYPTED_ONLY",
            serverCaMode: "GOOGLE_MANAGED_INTERNAL_CA",
          },
          backupConfiguration: {
            enabled: days > 0,
            pointInTimeRecoveryEnabled: days > 0,
            startTime: "02:00",
            transactionLogRetentionDays: Math.max(1, Math.min(7, days)),
            backupRetentionSettings: { retainedBackups: Math.max(1, days), retentionUnit: "COUNT" },
          },
          databaseFlags: Object.entries(DATABASE_FLAGS).map(([flag, value]) => ({
            name: flag,
            value,
          })),
          insightsConfig: { queryInsightsEnabled: true, recordClientAddress: false },
          maintenanceWindow: { day: 7, hour: 3, updateTrack: "stable" },
          userLabels: { ...args.scope.labels },
        },
      },
      {
        parent: this,
        protect,
        dependsOn: [...args.scope.apis, args.network.privateServices, ...args.kms.keyReady],
      },
    );
    const database = new gcp.sql.Database(
      `${name}-${args.databaseName}`,
      { project, instance: instance.name, name: args.databaseName },
      { parent: this, protect },
    );
    const password = new GcpSecret(
      `${name}-password`,
      {
        scope: args.scope,
        kms: args.kms,
        secretId: `${name}-password`,
        description: "Cloud SQL password of the runtime's user",
        value: { generateLength: 40 },
      },
      parent,
    );
    const user = new gcp.sql.User(
      `${name}-${username}`,
      { project, instance: instance.name, name: username, password: password.value! },
      parent,
    );
    this.instanceName = instance.name;
    this.serverCaPem = instance.serverCaCerts.apply((certs) => certs[0]?.cert ?? "");
    this.endpoint = {
      resourceId: instance.selfLink,
      host: instance.privateIpAddress,
      port: pulumi.output(CLOUD_SQL_PORT),
      database: database.name,
      username: user.name,
      password: password.ref,
      // Cloud SQL's server certificate names the instance, not the private address the runtime dials: the chain is what identifies it.
      sslMode: "verify-ca",
    };
    this.registerOutputs({ host: this.endpoint.host });
  }
}
