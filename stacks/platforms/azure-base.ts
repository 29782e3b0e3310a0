/**
 * What every Azure tier shares: a provider for the region, one resource group (kept on destroy),
 * the Log Analytics workspace, the virtual network, Key Vault with its keys, and the managed data
 * services (PostgreSQL flexible server, Azure Managed Redis, Blob Storage). Subclasses decide
 * where the workloads run (Container Apps; AKS next).
 */
import * as authorization from "@pulumi/azure-native/authorization";
import { Provider } from "@pulumi/azure-native/provider";
import * as resources from "@pulumi/azure-native/resources";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { AzureScope } from "../../components/azure/common";
import { BlobDocumentStore } from "../../components/azure/document-store";
import { KeyVault } from "../../components/azure/key-vault";
import { LogWorkspace } from "../../components/azure/log-workspace";
import { AzureNetwork } from "../../components/azure/network";
import { FlexiblePostgres, POSTGRES_PORT } from "../../components/azure/postgres";
import { MANAGED_REDIS_PORT, ManagedRedis } from "../../components/azure/redis";
import { KeyVaultSecret } from "../../components/azure/secret";
import type {
  ObjectStore,
  PostgresEndpoint,
  RedisEndpoint,
  SecretRef,
} from "../../components/contracts";
import { OLLAMA_PORT } from "../../components/shared/ollama";
import { fillCommands } from "../../components/shared/operator-secret";
import type { PlatformConfig } from "../config";
import type { RegionSite } from "../regions";
import type { DataServices, ObjectStoreRequest, PostgresRequest, RedisRequest } from "./platform";

export abstract class AzurePlatformBase implements DataServices {
  protected readonly provider: Provider;
  protected readonly scope: AzureScope;
  protected readonly logs: LogWorkspace;
  protected readonly network: AzureNetwork;
  protected readonly vault: KeyVault;
  protected postgresServer?: FlexiblePostgres;
  protected redisCluster?: ManagedRedis;
  protected documents?: BlobDocumentStore;
  protected readonly operatorSecrets: Record<string, KeyVaultSecret> = {};
  protected readonly prefix: string;

  constructor(
    protected readonly cfg: PlatformConfig,
    site: RegionSite,
  ) {
    const prefix = site.prefix;
    const region = site.region;
    this.prefix = prefix;
    this.provider = new Provider(`${prefix}-azure`, { location: region });
    const client = authorization.getClientConfigOutput({ provider: this.provider });
    const tags = { project: "rag-platform", tier: cfg.tier, "managed-by": "pulumi" };
    // Azure deletes a group with everything in it: the group stays on `pulumi destroy`, so what the
    // stack keeps (the documents, the vault and its key) survives; remove it by hand when you mean it.
    const group = new resources.ResourceGroup(
      prefix,
      { location: region, tags },
      { ...this.opts(), retainOnDelete: true },
    );
    const suffix = new random.RandomString(`${prefix}-suffix`, {
      length: 6,
      lower: true,
      upper: false,
      numeric: true,
      special: false,
    });
    this.scope = {
      resourceGroupName: group.name,
      location: region,
      subscriptionId: client.subscriptionId,
      tenantId: client.tenantId,
      tags,
      uniqueSuffix: suffix.result,
    };
    this.logs = new LogWorkspace(
      `${prefix}-logs`,
      { scope: this.scope, retentionDays: cfg.observability.logRetentionDays },
      this.opts(),
    );
    this.network = new AzureNetwork(
      `${prefix}-vnet`,
      {
        scope: this.scope,
        addressSpace: cfg.network.cidr,
        publicHttps: cfg.domain.certificate !== undefined,
        ports: { postgres: POSTGRES_PORT, redis: MANAGED_REDIS_PORT, ollama: OLLAMA_PORT },
      },
      this.opts(),
    );
    this.vault = new KeyVault(
      `${prefix}-kv`,
      { scope: this.scope, network: this.network, logs: this.logs },
      this.opts(),
    );
  }

  protected opts(): pulumi.ComponentResourceOptions & pulumi.CustomResourceOptions {
    return { provider: this.provider };
  }

  generatedSecret(name: string, length: number): SecretRef {
    return new KeyVaultSecret(
      `${this.prefix}-${name}`,
      {
        vault: this.vault,
        resourceGroupName: this.scope.resourceGroupName,
        secretName: name,
        description: `${this.prefix} ${name}`,
        value: { generateLength: length },
      },
      this.opts(),
    ).ref;
  }

  externalSecret(name: string, description: string): SecretRef {
    const secret = new KeyVaultSecret(
      `${this.prefix}-${name}`,
      {
        vault: this.vault,
        resourceGroupName: this.scope.resourceGroupName,
        secretName: name,
        description,
        value: { operatorFilled: true },
      },
      this.opts(),
    );
    this.operatorSecrets[name] = secret;
    return secret.ref;
  }

  postgres(req: PostgresRequest): PostgresEndpoint {
    this.postgresServer = new FlexiblePostgres(
      `${this.prefix}-postgres`,
      {
        scope: this.scope,
        network: this.network,
        vault: this.vault,
        logs: this.logs,
        majorVersion: req.version,
        skuName: req.size,
        storageGiB: req.storageGiB,
        backupRetentionDays: req.backupRetentionDays,
        zoneRedundant: req.highAvailability,
        deletionProtection: req.deletionProtection,
        databaseName: req.databaseName,
      },
      this.opts(),
    );
    return this.postgresServer.endpoint;
  }

  redis(req: RedisRequest): RedisEndpoint {
    this.redisCluster = new ManagedRedis(
      `${this.prefix}-redis`,
      {
        scope: this.scope,
        network: this.network,
        vault: this.vault,
        skuName: req.size,
        highAvailability: req.replicas > 0 || req.highAvailability,
      },
      this.opts(),
    );
    return this.redisCluster.endpoint;
  }

  objectStore(req: ObjectStoreRequest): ObjectStore {
    this.documents = new BlobDocumentStore(
      `${this.prefix}-docs`,
      {
        scope: this.scope,
        network: this.network,
        vault: this.vault,
        logs: this.logs,
        noncurrentVersionRetentionDays: req.noncurrentVersionRetentionDays,
      },
      this.opts(),
    );
    return this.documents.objectStore;
  }

  accessOutputs(): Record<string, pulumi.Input<unknown>> {
    const { postgresServer: pg, documents } = this;
    return {
      region: this.scope.location,
      resourceGroup: this.scope.resourceGroupName,
      vnetId: this.network.vnetId,
      keyVault: this.vault.vaultName,
      documents: documents && {
        storageAccount: documents.accountName,
        container: documents.containerName,
      },
      database: pg && {
        host: pg.endpoint.host,
        database: pg.endpoint.database,
        username: pg.endpoint.username,
        passwordSecretUri: pulumi.interpolate`${this.vault.vaultUri}secrets/postgres-password`,
        note: "TLS is required; reachable from inside the virtual network only",
      },
      redisHost: this.redisCluster?.endpoint.host,
      secretsToFill: fillCommands(this.operatorSecrets),
      logWorkspaceId: this.logs.customerId,
    };
  }
}
