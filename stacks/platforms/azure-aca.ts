/**
 * Azure for staging: the runtime on Container Apps, Ollama on one GPU VM (or a hosted API),
 * Azure Monitor alerts and a workbook. The data services come from AzurePlatformBase.
 */
import * as pulumi from "@pulumi/pulumi";
import { ContainerAppsRuntime } from "../../components/azure/container-apps";
import type { FlexiblePostgres } from "../../components/azure/postgres";
import { AzureMonitorObservability, type MetricAlertSpec } from "../../components/azure/monitoring";
import { type AzureHostGpu, OllamaGpuVm } from "../../components/azure/ollama-vm";
import type { ManagedRedis } from "../../components/azure/redis";
import { AzureRuntimeImage } from "../../components/azure/runtime-image";
import type { ApiEndpoint, LlmEndpoint, VectorDbEndpoint } from "../../components/contracts";
import { bullmqWaitList } from "../../runtime/src/queue/wait-list";
import { DEFAULT_QUEUE_NAME } from "../../runtime/src/config";
import { apiEndpointAt } from "../../components/shared/runtime-image";
import { BUILD_CONTEXT, runtimeSourceTag } from "../source-hash";
import { OLLAMA_VERSION } from "../versions";
import { AzurePlatformBase, dataServiceAlerts } from "./azure-base";
import { llmFor, vectorDbFor } from "./hosted";
import type {
  LlmRequest,
  ObservabilityRequest,
  Platform,
  RuntimeServicesRequest,
  VectorDbRequest,
} from "./platform";

export class AzureAcaPlatform extends AzurePlatformBase implements Platform {
  private llmVm?: OllamaGpuVm;
  private runtime?: ContainerAppsRuntime;
  private monitoring?: AzureMonitorObservability;

  vectorDb(req: VectorDbRequest): VectorDbEndpoint {
    return vectorDbFor(req, this);
  }

  llm(req: LlmRequest): LlmEndpoint {
    return llmFor(req, this, () => {
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
    });
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
    return apiEndpointAt(this.runtime.url);
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
            extraActionGroupIds: this.cfg.observability.azureActionGroupIds,
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

  override accessOutputs(): Record<string, pulumi.Input<unknown>> {
    const { llmVm: vm, runtime, monitoring } = this;
    const group = this.scope.resourceGroupName;
    return {
      ...super.accessOutputs(),
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
    ...dataServiceAlerts(w.postgres, w.redis),
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
