/**
 * Azure for staging: the runtime on Container Apps, managed PostgreSQL (flexible server) and
 * Azure Managed Redis, documents in Blob Storage, Ollama on one GPU VM (or a hosted API), every
 * secret in Key Vault, Azure Monitor alerts and a workbook. One resource group per stack.
 */
import * as authorization from "@pulumi/azure-native/authorization";
import { Provider } from "@pulumi/azure-native/provider";
import * as resources from "@pulumi/azure-native/resources";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { AzureScope } from "../../components/azure/common";
import { ContainerAppsRuntime } from "../../components/azure/container-apps";
import { BlobDocumentStore } from "../../components/azure/document-store";
import { KeyVault } from "../../components/azure/key-vault";
import { LogWorkspace } from "../../components/azure/log-workspace";
import { AzureMonitorObservability, type MetricAlertSpec } from "../../components/azure/monitoring";
import { AzureNetwork } from "../../components/azure/network";
import { type AzureHostGpu, OllamaGpuVm } from "../../components/azure/ollama-vm";
import { FlexiblePostgres, POSTGRES_PORT } from "../../components/azure/postgres";
import { MANAGED_REDIS_PORT, ManagedRedis } from "../../components/azure/redis";
import { AzureRuntimeImage } from "../../components/azure/runtime-image";
import { KeyVaultSecret } from "../../components/azure/secret";
import type {
  ApiEndpoint,
  LlmEndpoint,
  ObjectStore,
  PostgresEndpoint,
  RedisEndpoint,
  SecretRef,
  VectorDbEndpoint,
} from "../../components/contracts";
import { OLLAMA_PORT } from "../../components/shared/ollama";
import { bullmqWaitList } from "../../runtime/src/queue/wait-list";
import { DEFAULT_QUEUE_NAME } from "../../runtime/src/config";
import type { PlatformConfig } from "../config";
import type { RegionSite } from "../regions";
import { BUILD_CONTEXT, runtimeSourceTag } from "../source-hash";
import { OLLAMA_VERSION } from "../versions";
import { QDRANT_CLOUD_KEY, stagingLlm, stagingVectorDb } from "./hosted";
import type {
  LlmRequest,
  ObjectStoreRequest,
  ObservabilityRequest,
  Platform,
  PostgresRequest,
  RedisRequest,
  RuntimeServicesRequest,
  VectorDbRequest,
} from "./platform";

export class AzureAcaPlatform implements Platform {
  private readonly provider: Provider;
  private readonly scope: AzureScope;
  private readonly logs: LogWorkspace;
  private readonly network: AzureNetwork;
  private readonly vault: KeyVault;
  private postgresServer?: FlexiblePostgres;
  private redisCluster?: ManagedRedis;
  private documents?: BlobDocumentStore;
  private llmVm?: OllamaGpuVm;
  private runtime?: ContainerAppsRuntime;
  private monitoring?: AzureMonitorObservability;
  private readonly operatorSecrets: Record<string, KeyVaultSecret> = {};

  private readonly prefix: string;

  constructor(
    private readonly cfg: PlatformConfig,
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
        addressSpace: cfg.network.vpcCidr,
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

  private opts(): pulumi.ComponentResourceOptions & pulumi.CustomResourceOptions {
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
        skuName: req.instanceClass,
        storageGiB: req.storageGiB,
        backupRetentionDays: req.backupRetentionDays,
        zoneRedundant: req.multiAz,
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
        skuName: req.nodeType,
        highAvailability: req.replicas > 0 || req.multiAz,
      },
      this.opts(),
    );
    return this.redisCluster.endpoint;
  }

  vectorDb(req: VectorDbRequest): VectorDbEndpoint {
    return stagingVectorDb(req, () =>
      this.externalSecret(QDRANT_CLOUD_KEY.name, QDRANT_CLOUD_KEY.description),
    );
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

  llm(req: LlmRequest): LlmEndpoint {
    return stagingLlm(
      req,
      () => {
        this.llmVm = new OllamaGpuVm(
          `${this.prefix}-llm`,
          {
            scope: this.scope,
            network: this.network,
            vault: this.vault,
            gpu: req.gpuType as AzureHostGpu,
            model: req.model,
            embeddingModel: req.embeddingModel,
            ollamaVersion: OLLAMA_VERSION,
          },
          this.opts(),
        );
        return this.llmVm.endpoint;
      },
      (name, description) => this.externalSecret(name, description),
    );
  }

  runtimeServices(req: RuntimeServicesRequest): ApiEndpoint {
    const { documents, redisCluster: redis } = this;
    if (!documents || !redis)
      throw new Error(
        "AzureAcaPlatform: objectStore() and redis() must be created before runtimeServices()",
      );
    const built = this.cfg.runtimeImage
      ? undefined
      : new AzureRuntimeImage(
          `${this.prefix}-runtime`,
          { scope: this.scope, tag: runtimeSourceTag(), buildContext: BUILD_CONTEXT },
          this.opts(),
        );
    const domain = this.cfg.domain;
    this.runtime = new ContainerAppsRuntime(
      `${this.prefix}-apps`,
      {
        scope: this.scope,
        network: this.network,
        logs: this.logs,
        image: built?.imageRef ?? this.cfg.runtimeImage!,
        registry: built ? { id: built.registryId, loginServer: built.loginServer } : undefined,
        env: req.env,
        api: req.api,
        worker: { ...req.worker, concurrency: this.cfg.worker.concurrency },
        vault: this.vault,
        documents,
        queue: {
          address: pulumi.interpolate`${redis.endpoint.host}:${redis.endpoint.port}`,
          tls: redis.endpoint.tls,
          listName: bullmqWaitList(DEFAULT_QUEUE_NAME),
        },
        publicDomain:
          domain.certificate && domain.hostname
            ? { hostname: domain.hostname, certificateKeyVaultUrl: domain.certificate }
            : undefined,
      },
      this.opts(),
    );
    return { url: this.runtime.url };
  }

  observability(req: ObservabilityRequest): void {
    switch (req.exporter) {
      case "azure-monitor": {
        const { runtime, postgresServer: postgres, redisCluster: redis, llmVm } = this;
        if (!runtime || !postgres || !redis)
          throw new Error(
            "AzureAcaPlatform: observability() watches the services and data stores; create them first",
          );
        this.monitoring = new AzureMonitorObservability(
          `${this.prefix}-monitoring`,
          {
            scope: this.scope,
            logs: this.logs,
            alertEmails: req.alertEmails,
            apiAppName: runtime.apiName,
            workerAppName: runtime.workerName,
            alerts: stagingAlerts({ runtime, postgres, redis, llmVm }),
          },
          this.opts(),
        );
        return;
      }
      case "none":
        return;
      case "cloudwatch":
      case "cloud-monitoring":
      case "otlp":
      case "datadog":
      case "newrelic":
        throw new Error(
          `the Azure staging platform builds Azure Monitor observability; the config schema refuses ${req.exporter} here`,
        );
      default: {
        const unreachable: never = req.exporter;
        throw new Error(`unknown exporter ${String(unreachable)}`);
      }
    }
  }

  accessOutputs(): Record<string, pulumi.Input<unknown>> {
    const { postgresServer: pg, llmVm: vm, runtime, documents, monitoring } = this;
    const group = this.scope.resourceGroupName;
    return {
      region: this.scope.location,
      resourceGroup: group,
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
      secretsToFill: Object.fromEntries(
        Object.entries(this.operatorSecrets).map(([name, s]) => [name, s.fillCommand]),
      ),
      llmHost: vm && {
        vmName: vm.vmName,
        vmSize: vm.vmSize,
        privateIp: vm.privateIp,
        // No SSH: commands run through the VM agent, like SSM's.
        runCommand: pulumi.interpolate`az vm run-command invoke --resource-group ${group} --name ${vm.vmName} --command-id RunShellScript --scripts "ollama list"`,
      },
      reembedJob: runtime?.reembedCommand,
      certificateAccess:
        runtime?.certificateIdentityPrincipalId &&
        pulumi.interpolate`az role assignment create --assignee-object-id ${runtime.certificateIdentityPrincipalId} --assignee-principal-type ServicePrincipal --role "Key Vault Secrets User" --scope <the resource id of the vault holding the certificate>`,
      logWorkspaceId: this.logs.customerId,
      dashboardUrl:
        monitoring &&
        pulumi.interpolate`https://portal.azure.com/#resource${monitoring.workbookId}/workbook`,
      alertActionGroupId: monitoring?.actionGroupId,
    };
  }
}

/** Staging's alerts: the API failing or restarting, the data stores running out of room or CPU, the GPU host down. */
function stagingAlerts(w: {
  runtime: ContainerAppsRuntime;
  postgres: FlexiblePostgres;
  redis: ManagedRedis;
  llmVm?: OllamaGpuVm;
}): MetricAlertSpec[] {
  const apps = "Microsoft.App/containerApps";
  const postgres = "Microsoft.DBforPostgreSQL/flexibleServers";
  return [
    {
      name: "api-5xx",
      description: "The API answered 5xx more than 10 times in 5 minutes",
      scope: w.runtime.apiAppId,
      namespace: apps,
      metric: "Requests",
      aggregation: "Total",
      operator: "GreaterThan",
      threshold: 10,
      window: "PT5M",
      severity: 1,
      dimensions: [{ name: "statusCodeCategory", values: ["5xx"] }],
    },
    {
      name: "api-restarts",
      description: "API replicas restarted more than 3 times in 15 minutes",
      scope: w.runtime.apiAppId,
      namespace: apps,
      metric: "RestartCount",
      aggregation: "Total",
      operator: "GreaterThan",
      threshold: 3,
      window: "PT15M",
      severity: 2,
    },
    {
      name: "worker-restarts",
      description: "Worker replicas restarted more than 3 times in 15 minutes",
      scope: w.runtime.workerAppId,
      namespace: apps,
      metric: "RestartCount",
      aggregation: "Total",
      operator: "GreaterThan",
      threshold: 3,
      window: "PT15M",
      severity: 2,
    },
    {
      name: "postgres-cpu",
      description: "PostgreSQL CPU above 80% for 15 minutes",
      scope: w.postgres.serverId,
      namespace: postgres,
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
      scope: w.postgres.serverId,
      namespace: postgres,
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
      scope: w.redis.clusterId,
      namespace: "Microsoft.Cache/redisEnterprise",
      metric: "usedmemorypercentage",
      aggregation: "Maximum",
      operator: "GreaterThan",
      threshold: 80,
      window: "PT5M",
      severity: 1,
    },
    ...(w.llmVm
      ? [
          {
            name: "llm-host-down",
            description: "The GPU host is unavailable",
            scope: w.llmVm.vmId,
            namespace: "Microsoft.Compute/virtualMachines",
            metric: "VmAvailabilityMetric",
            aggregation: "Average" as const,
            operator: "LessThan" as const,
            threshold: 1,
            window: "PT5M",
            severity: 1 as const,
          },
        ]
      : []),
  ];
}
