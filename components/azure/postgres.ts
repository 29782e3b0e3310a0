import * as authorization from "@pulumi/azure-native/authorization";
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql";
import * as pulumi from "@pulumi/pulumi";
import type { PostgresEndpoint } from "../contracts";
import { globalName, placed, type AzureScope } from "./common";
import type { KeyVault } from "./key-vault";
import type { LogWorkspace } from "./log-workspace";
import type { AzureNetwork } from "./network";
import { KeyVaultSecret } from "./secret";

export const POSTGRES_PORT = 5432;

/** The storage sizes (GiB) a flexible server offers; a request is rounded up to the next one. */
export const FLEXIBLE_SERVER_STORAGE_GIB = [
  32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767,
] as const;

/** The compute tier a flexible server SKU belongs to, from its name (Standard_B2s, Standard_D4ds_v5...). */
export function skuTier(skuName: string): "Burstable" | "GeneralPurpose" | "MemoryOptimized" {
  const family = /^Standard_([A-Z])\d/.exec(skuName)?.[1];
  switch (family) {
    case "B":
      return "Burstable";
    case "D":
      return "GeneralPurpose";
    case "E":
      return "MemoryOptimized";
    default:
      throw new Error(
        `"${skuName}" is not a PostgreSQL flexible server size (Standard_B2s, Standard_D4ds_v5, Standard_E4ds_v5...)`,
      );
  }
}

export interface FlexiblePostgresArgs {
  readonly scope: AzureScope;
  readonly network: AzureNetwork;
  /** Holds the administrator password; its data key encrypts the server. */
  readonly vault: KeyVault;
  /** Where the server's logs go. */
  readonly logs: LogWorkspace;
  readonly majorVersion: "15" | "16" | "17";
  /** e.g. Standard_B2s (burstable), Standard_D4ds_v5 (general purpose). */
  readonly skuName: string;
  /** Rounded up to the next size Azure offers; storage grows on its own after that. */
  readonly storageGiB: number;
  readonly backupRetentionDays: number;
  /** A standby in another zone with automatic failover (general purpose or memory optimized sizes). @default false */
  readonly zoneRedundant?: boolean;
  /** A delete lock on the server, and `pulumi destroy` refuses. @default false */
  readonly deletionProtection?: boolean;
  readonly databaseName: string;
  /** @default "ragadmin" */
  readonly administratorLogin?: string;
}

/**
 * Azure Database for PostgreSQL flexible server in its delegated subnet (no public access; its
 * name resolves privately in the network), encrypted with the vault's customer-managed key,
 * TLS 1.2 required, pgvector allowed (the runtime creates the extension), backups kept as the
 * tier asks, zone-redundant standby and a delete lock when it asks. The administrator password
 * is generated and kept in the vault.
 */
export class FlexiblePostgres extends pulumi.ComponentResource {
  readonly endpoint: PostgresEndpoint;
  readonly serverId: pulumi.Output<string>;
  readonly serverName: pulumi.Output<string>;

  constructor(name: string, args: FlexiblePostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:azure:Postgres", name, {}, opts);
    const tier = skuTier(args.skuName);
    if (args.zoneRedundant && tier === "Burstable") {
      throw new Error(
        `FlexiblePostgres ${name}: zone-redundant high availability needs a general purpose or memory optimized size, not ${args.skuName}`,
      );
    }
    const storageSizeGB = FLEXIBLE_SERVER_STORAGE_GIB.find((size) => size >= args.storageGiB);
    if (storageSizeGB === undefined)
      throw new Error(
        `FlexiblePostgres ${name}: ${args.storageGiB} GiB exceeds the largest flexible server (32767 GiB)`,
      );
    const parent = { parent: this };
    const administratorLogin = args.administratorLogin ?? "ragadmin";
    const password = new KeyVaultSecret(
      `${name}-password`,
      {
        vault: args.vault,
        resourceGroupName: args.scope.resourceGroupName,
        secretName: "postgres-password",
        description: "PostgreSQL administrator password",
        value: { generateLength: 40 },
      },
      parent,
    );
    const protect = args.deletionProtection ?? false;
    const serverName = globalName(name, args.scope.uniqueSuffix, { maxLength: 63 });
    // The zone's name must end in the service's suffix; the server registers its address there.
    const zone = args.network.privateZone(`${name}.private.postgres.database.azure.com`);
    const server = new dbforpostgresql.Server(
      name,
      {
        ...placed(args.scope),
        serverName,
        version: args.majorVersion,
        sku: { name: args.skuName, tier },
        storage: { storageSizeGB, autoGrow: "Enabled" },
        administratorLogin,
        administratorLoginPassword: password.value!,
        authConfig: { passwordAuth: "Enabled", activeDirectoryAuth: "Disabled" },
        network: {
          delegatedSubnetResourceId: args.network.postgresSubnetId,
          privateDnsZoneArmResourceId: zone.id,
          publicNetworkAccess: "Disabled",
        },
        identity: {
          type: "UserAssigned",
          userAssignedIdentities: args.vault.encryptionIdentityId.apply((id) => ({ [id]: {} })),
        },
        dataEncryption: {
          type: "AzureKeyVault",
          primaryKeyURI: args.vault.dataKeyUri,
          primaryUserAssignedIdentityId: args.vault.encryptionIdentityId,
        },
        backup: { backupRetentionDays: args.backupRetentionDays, geoRedundantBackup: "Disabled" },
        highAvailability: { mode: args.zoneRedundant ? "ZoneRedundant" : "Disabled" },
        maintenanceWindow: { customWindow: "Enabled", dayOfWeek: 0, startHour: 3, startMinute: 30 },
      },
      {
        parent: this,
        protect,
        dependsOn: args.vault.keyReady,
        ignoreChanges: ["administratorLoginPassword"],
      },
    );
    // One parameter at a time: the server refuses a change while another is in progress.
    let previous: pulumi.Resource[] = [];
    for (const [parameter, value] of Object.entries(SERVER_PARAMETERS)) {
      const configuration = new dbforpostgresql.Configuration(
        `${name}-${parameter.replace(/[._]/g, "-")}`,
        {
          resourceGroupName: args.scope.resourceGroupName,
          serverName: server.name,
          configurationName: parameter,
          value,
          source: "user-override",
        },
        { parent: this, dependsOn: previous },
      );
      previous = [configuration];
    }
    const database = new dbforpostgresql.Database(
      `${name}-${args.databaseName}`,
      {
        resourceGroupName: args.scope.resourceGroupName,
        serverName: server.name,
        databaseName: args.databaseName,
        charset: "UTF8",
        collation: "en_US.utf8",
      },
      { parent: this, protect, dependsOn: previous },
    );
    args.logs.collect(`${name}-logs`, server.id, parent);
    if (protect) {
      new authorization.ManagementLockByScope(
        `${name}-lock`,
        {
          scope: server.id,
          level: "CanNotDelete",
          notes: "deletionProtection: remove this lock to delete the database",
        },
        parent,
      );
    }
    this.serverId = server.id;
    this.serverName = server.name;
    this.endpoint = {
      resourceId: server.id,
      host: server.fullyQualifiedDomainName,
      port: pulumi.output(POSTGRES_PORT),
      database: database.name,
      username: pulumi.output(administratorLogin),
      password: password.ref,
      sslMode: "verify-full",
    };
    this.registerOutputs({ host: this.endpoint.host });
  }
}

/** Server parameters the platform sets: TLS required at 1.2 or later, pgvector allow-listed. */
export const SERVER_PARAMETERS = {
  require_secure_transport: "ON",
  ssl_min_protocol_version: "TLSv1.2",
  // Azure allows only allow-listed extensions; the runtime runs CREATE EXTENSION vector.
  "azure.extensions": "VECTOR",
} as const;
