/**
 * What every Azure tier shares: a provider for the region, one resource group (kept on destroy),
 * the Log Analytics workspace, the virtual network, Key Vault with its keys, and the managed data
 * services (PostgreSQL flexible server, Azure Managed Redis, Blob Storage). Subclasses decide
 * where the workloads run (Container Apps, AKS).
 */
import * as authorization from "@pulumi/azure-native/authorization";
import { Provider } from "@pulumi/azure-native/provider";
import * as resources from "@pulumi/azure-native/resources";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
  type AzurePrincipalType,
  type AzureScope,
  deployerPrincipalType,
} from "../../components/azure/common";
import { BlobDocumentStore } from "../../components/azure/document-store";
import { KeyVault } from "../../components/azure/key-vault";
import { LogWorkspace } from "../../components/azure/log-workspace";
import { AzureNetwork, type AzureNetworkArgs } from "../../components/azure/network";
import type { MetricAlertSpec } from "../../components/azure/monitoring";
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
  /** Whoever runs `pulumi up`: their Entra object id and kind. */
  protected readonly deployer: {
    objectId: pulumi.Output<string>;
    type: pulumi.Output<AzurePrincipalType>;
  };

  constructor(
    protected readonly cfg: PlatformConfig,
    site: RegionSite,
    /** What runs in the network's workloads subnet. @default "container-apps" */
    workloads: AzureNetworkArgs["workloads"] = "container-apps",
  ) {
    const prefix = site.prefix;
    const region = site.region;
    this.prefix = prefix;
    this.provider = new Provider(`${prefix}-azure`, { location: region });
    const client = authorization.getClientConfigOutput({ provider: this.provider });
    this.deployer = {
      objectId: client.objectId,
      type: client.clientId.apply(deployerPrincipalType),
    };
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
        ...(workloads === "kubernetes" ? { workloads } : {}),
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

  protected requireDocuments(): BlobDocumentStore {
    if (!this.documents)
      throw new Error(
        `${this.prefix}: objectStore() must be created before what uses the documents`,
      );
    return this.documents;
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
      // The webhook URL holds PagerDuty's key: its action group is made outside the stack, once.
      pagerDutyActionGroup: pagerDutyActionGroupCommands(this.scope),
      logWorkspaceId: this.logs.customerId,
    };
  }
}

/** What Azure runs for every tier, watched whatever the exporter: PostgreSQL and Redis filling up or down. */
export function dataServiceAlerts(
  postgres: FlexiblePostgres,
  redis: ManagedRedis,
): MetricAlertSpec[] {
  const server = "Microsoft.DBforPostgreSQL/flexibleServers";
  return [
    {
      name: "postgres-cpu",
      description: "PostgreSQL CPU above 80% for 15 minutes",
      scope: postgres.serverId,
      namespace: server,
      metric: "cpu_percent",
      aggregation: "Average",
      operator: "GreaterThan",
      threshold: 80,
      window: "PT15M",
      severity: 2,
    },
    {
      name: "postgres-storage",
      description: "PostgreSQL storage above 85% used",
      scope: postgres.serverId,
      namespace: server,
      metric: "storage_percent",
      aggregation: "Maximum",
      operator: "GreaterThan",
      threshold: 85,
      window: "PT15M",
      severity: 1,
    },
    // With no eviction, a full Redis refuses new ingest jobs.
    {
      name: "redis-memory",
      description: "Redis memory above 80% used (the queue refuses jobs when full)",
      scope: redis.clusterId,
      namespace: "Microsoft.Cache/redisEnterprise",
      metric: "usedmemorypercentage",
      aggregation: "Maximum",
      operator: "GreaterThan",
      threshold: 80,
      window: "PT5M",
      severity: 1,
    },
  ];
}

/** How an operator makes the PagerDuty action group (the URL read from a file) and points the alerts at it. */
export function pagerDutyActionGroupCommands(scope: AzureScope): pulumi.Output<string[]> {
  const id = pulumi.interpolate`/subscriptions/${scope.subscriptionId}/resourceGroups/${scope.resourceGroupName}/providers/microsoft.insights/actionGroups/rag-pagerduty`;
  const body = {
    location: "Global",
    properties: {
      groupShortName: "pagerduty",
      enabled: true,
      webhookReceivers: [
        {
          name: "pagerduty",
          serviceUri: "<the PagerDuty service's Microsoft Azure integration URL>",
          useCommonAlertSchema: true,
        },
      ],
    },
  };
  return id.apply((groupId) => [
    `az rest --method put --url "https://management.azure.com${groupId}?api-version=2023-01-01" --body @<file holding ${JSON.stringify(body)}>`,
    `pulumi config set --path 'rag-platform:observability.azureActionGroupIds[0]' ${groupId}`,
  ]);
}
