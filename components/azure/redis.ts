import * as redisenterprise from "@pulumi/azure-native/redisenterprise";
import * as pulumi from "@pulumi/pulumi";
import type { RedisEndpoint } from "../contracts";
import { globalName, placed, type AzureScope } from "./common";
import type { KeyVault } from "./key-vault";
import type { AzureNetwork } from "./network";
import { privateEndpoint } from "./private-endpoint";
import { KeyVaultSecret } from "./secret";

/** The port Azure Managed Redis serves its (TLS) database on. */
export const MANAGED_REDIS_PORT = 10000;

export interface ManagedRedisArgs {
  readonly scope: AzureScope;
  readonly network: AzureNetwork;
  /** Holds the access key; its data key encrypts the cache's disks. */
  readonly vault: KeyVault;
  /** An Azure Managed Redis size: Balanced_B1, Balanced_B5, MemoryOptimized_M10... */
  readonly skuName: string;
  /** A replica on another node that takes over on failure (the SLA needs it). @default true */
  readonly highAvailability?: boolean;
}

/**
 * Azure Managed Redis (the successor of Azure Cache for Redis, whose every SKU retires): reached
 * through a private endpoint only, TLS 1.2 on its one encrypted port, disks encrypted with the
 * vault's key, append-only persistence every second and no eviction (the ingest queue's jobs
 * must not be dropped to make room). One endpoint serves the whole cluster (EnterpriseCluster),
 * so BullMQ's non-cluster client works. The access key is kept in the vault.
 */
export class ManagedRedis extends pulumi.ComponentResource {
  readonly endpoint: RedisEndpoint;
  readonly clusterId: pulumi.Output<string>;

  constructor(name: string, args: ManagedRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:azure:Redis", name, {}, opts);
    if (!/^(Balanced_B|MemoryOptimized_M|ComputeOptimized_X)\d+$/.test(args.skuName)) {
      throw new Error(
        `ManagedRedis ${name}: "${args.skuName}" is not an Azure Managed Redis size (Balanced_B1, MemoryOptimized_M10, ComputeOptimized_X5...)`,
      );
    }
    const parent = { parent: this };
    const cluster = new redisenterprise.RedisEnterprise(
      name,
      {
        ...placed(args.scope),
        clusterName: globalName(name, args.scope.uniqueSuffix, { maxLength: 60 }),
        sku: { name: args.skuName },
        highAvailability: args.highAvailability === false ? "Disabled" : "Enabled",
        minimumTlsVersion: "1.2",
        publicNetworkAccess: "Disabled",
        identity: {
          type: "UserAssigned",
          userAssignedIdentities: [args.vault.encryptionIdentityId],
        },
        encryption: {
          customerManagedKeyEncryption: {
            // Azure Managed Redis takes a versioned key URL only: after a rotation, `pulumi refresh` then `up` moves it to the new version.
            keyEncryptionKeyUrl: args.vault.dataKeyVersionedUri,
            keyEncryptionKeyIdentity: {
              identityType: "userAssignedIdentity",
              userAssignedIdentityResourceId: args.vault.encryptionIdentityId,
            },
          },
        },
      },
      { parent: this, dependsOn: args.vault.keyReady },
    );
    const database = new redisenterprise.Database(
      name,
      {
        resourceGroupName: args.scope.resourceGroupName,
        clusterName: cluster.name,
        // Azure Managed Redis has one database, and it must be named "default".
        databaseName: "default",
        port: MANAGED_REDIS_PORT,
        clientProtocol: "Encrypted",
        clusteringPolicy: "EnterpriseCluster",
        evictionPolicy: "NoEviction",
        accessKeysAuthentication: "Enabled",
        persistence: { aofEnabled: true, aofFrequency: "1s" },
      },
      parent,
    );
    privateEndpoint(
      `${name}-pe`,
      {
        scope: args.scope,
        network: args.network,
        targetId: cluster.id,
        service: "redisEnterprise",
      },
      parent,
    );
    const keys = pulumi
      .all([args.scope.resourceGroupName, cluster.name, database.name])
      .apply(([resourceGroupName, clusterName, databaseName]) =>
        redisenterprise.listDatabaseKeysOutput(
          { resourceGroupName, clusterName, databaseName },
          parent,
        ),
      );
    const accessKey = new KeyVaultSecret(
      `${name}-access-key`,
      {
        vault: args.vault,
        resourceGroupName: args.scope.resourceGroupName,
        secretName: "redis-access-key",
        description: "Azure Managed Redis access key",
        value: { value: pulumi.secret(keys.primaryKey) },
      },
      parent,
    );
    this.clusterId = cluster.id;
    this.endpoint = {
      host: cluster.hostName,
      port: pulumi.output(MANAGED_REDIS_PORT),
      password: accessKey.ref,
      tls: true,
    };
    this.registerOutputs({ host: this.endpoint.host });
  }
}
