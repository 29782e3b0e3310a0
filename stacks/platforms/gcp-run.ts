/**
 * GCP for staging: the runtime on Cloud Run, Ollama on one GPU VM (or a hosted API), Cloud
 * Monitoring alerts and a dashboard, and a global HTTPS load balancer when the API is public.
 * The data services come from GcpPlatformBase.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ApiEndpoint, LlmEndpoint, VectorDbEndpoint } from "../../components/contracts";
import { CloudRunRuntime } from "../../components/gcp/cloud-run";
import { GcpHttpsLoadBalancer } from "../../components/gcp/load-balancer";
import { CloudMonitoringObservability, type GcpAlertSpec } from "../../components/gcp/monitoring";
import { GceOllamaVm, type GcpHostGpu } from "../../components/gcp/ollama-vm";
import type { CloudSqlPostgres } from "../../components/gcp/postgres";
import type { MemorystoreRedis } from "../../components/gcp/redis";
import { GcpRuntimeImage } from "../../components/gcp/runtime-image";
import { OLLAMA_PORT } from "../../components/shared/ollama";
import type { PlatformConfig } from "../config";
import type { RegionSite } from "../regions";
import { apiEndpointAt } from "../../components/shared/runtime-image";
import { BUILD_CONTEXT, runtimeSourceTag } from "../source-hash";
import { OLLAMA_VERSION } from "../versions";
import { DATA_SERVICE_APIS, dataServiceAlerts, GcpPlatformBase } from "./gcp-base";
import { llmFor, vectorDbFor } from "./hosted";
import type {
  LlmRequest,
  ObservabilityRequest,
  Platform,
  RuntimeServicesRequest,
  VectorDbRequest,
} from "./platform";

/** The APIs Cloud Run and its image registry call, besides the data services'. */
const RUN_APIS = ["run.googleapis.com", "artifactregistry.googleapis.com"] as const;
/** Every API the staging platform enables in the project. */
export const REQUIRED_APIS = [...DATA_SERVICE_APIS, ...RUN_APIS];

export class GcpRunPlatform extends GcpPlatformBase implements Platform {
  private llmVm?: GceOllamaVm;
  private runtime?: CloudRunRuntime;
  private loadBalancer?: GcpHttpsLoadBalancer;
  private monitoring?: CloudMonitoringObservability;

  constructor(cfg: PlatformConfig, site: RegionSite) {
    super(cfg, site, { apis: RUN_APIS, network: { kind: "cloud-run", ollamaPort: OLLAMA_PORT } });
  }

  vectorDb(req: VectorDbRequest): VectorDbEndpoint {
    return vectorDbFor(req, this);
  }

  llm(req: LlmRequest): LlmEndpoint {
    return llmFor(req, this, () => {
      this.llmVm = new GceOllamaVm(
        `${this.prefix}-llm`,
        {
          scope: this.scope,
          network: this.network,
          kms: this.kms,
          gpu: req.gpuType as GcpHostGpu,
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
    const { documents, postgresInstance: postgres, redisInstance: redis } = this;
    if (!documents || !postgres || !redis)
      throw new Error(
        "GcpRunPlatform: postgres(), redis() and objectStore() must be created before runtimeServices()",
      );
    const image =
      this.cfg.runtimeImage ??
      new GcpRuntimeImage(
        `${this.prefix}-runtime`,
        { scope: this.scope, kms: this.kms, tag: runtimeSourceTag(), buildContext: BUILD_CONTEXT },
        this.opts(),
      ).imageRef;
    // The managed services' own CAs, as files (Secret Manager is how Cloud Run mounts one).
    const files = this.caCertificateFiles();
    const domain = this.cfg.domain;
    const isPublic = domain.certificate !== undefined && domain.hostname !== undefined;
    this.runtime = new CloudRunRuntime(
      `${this.prefix}-run`,
      {
        scope: this.scope,
        network: this.network,
        image,
        env: req.env,
        files,
        api: req.api,
        worker: req.worker,
        documentsBucket: documents.bucketName,
        behindLoadBalancer: isPublic,
      },
      this.opts(),
    );
    if (isPublic) {
      this.loadBalancer = new GcpHttpsLoadBalancer(
        `${this.prefix}-lb`,
        {
          scope: this.scope,
          cloudRunService: this.runtime.apiName,
          hostname: domain.hostname!,
          certificate: domain.certificate!,
        },
        this.opts(),
      );
      return apiEndpointAt(this.loadBalancer.url);
    }
    return apiEndpointAt(this.runtime.apiUri);
  }

  observability(req: ObservabilityRequest): void {
    switch (req.exporter) {
      case "cloud-monitoring": {
        const { runtime, postgresInstance: postgres, redisInstance: redis, llmVm } = this;
        if (!runtime || !postgres || !redis)
          throw new Error(
            "GcpRunPlatform: observability() watches the services and data stores; create them first",
          );
        this.monitoring = new CloudMonitoringObservability(
          `${this.prefix}-monitoring`,
          {
            scope: this.scope,
            alertEmails: req.alertEmails,
            extraChannelIds: this.cfg.observability.gcpNotificationChannels,
            alerts: stagingAlerts(this.scope.project, { runtime, postgres, redis, llmVm }),
            apiService: runtime.apiName,
            workerService: runtime.workerName,
          },
          this.opts(),
        );
        return;
      }
      case "none":
        return;
      case "cloudwatch":
      case "azure-monitor":
      case "otlp":
      case "datadog":
      case "newrelic":
        throw new Error(
          `the GCP staging platform builds Cloud Monitoring observability; the config schema refuses ${req.exporter} here`,
        );
      default: {
        const unreachable: never = req.exporter;
        throw new Error(`unknown exporter ${String(unreachable)}`);
      }
    }
  }

  override accessOutputs(): Record<string, pulumi.Input<unknown>> {
    const { project } = this.scope;
    const { llmVm: vm, runtime, monitoring, loadBalancer } = this;
    const sshVm =
      vm &&
      pulumi.interpolate`gcloud compute ssh ${vm.instanceName} --zone ${vm.zone} --project ${project} --tunnel-through-iap`;
    return {
      ...super.accessOutputs(),
      llmHost: vm &&
        sshVm && {
          instanceName: vm.instanceName,
          zone: vm.zone,
          machineType: vm.machineType,
          privateIp: vm.privateIp,
          // No public IP: SSH through Identity-Aware Proxy, with OS Login.
          ssh: sshVm,
          ollamaTunnel: pulumi.interpolate`${sshVm} -- -N -L ${OLLAMA_PORT}:localhost:${OLLAMA_PORT}`,
        },
      reembedJob: runtime?.reembedCommand,
      loadBalancerIp: loadBalancer?.ipAddress,
      dashboardUrl:
        monitoring &&
        pulumi.interpolate`https://console.cloud.google.com/monitoring/dashboards/builder/${monitoring.dashboardId.apply((id) => id.split("/").pop())}?project=${project}`,
    };
  }
}

/** Staging's alerts: the API failing, the data stores running out of room or CPU, the GPU host down. */
function stagingAlerts(
  project: string,
  w: {
    runtime: CloudRunRuntime;
    postgres: CloudSqlPostgres;
    redis: MemorystoreRedis;
    llmVm?: GceOllamaVm;
  },
): GcpAlertSpec[] {
  const [postgresCpu, postgresDisk, redisMemory] = dataServiceAlerts(project, w.postgres, w.redis);
  return [
    {
      kind: "threshold",
      name: "api-5xx",
      description: "the API answered 5xx more than 10 times a minute for 5 minutes",
      filter: pulumi.interpolate`metric.type="run.googleapis.com/request_count" resource.type="cloud_run_revision" resource.label."service_name"="${w.runtime.apiName}" metric.label."response_code_class"="5xx"`,
      aligner: "ALIGN_DELTA",
      comparison: "COMPARISON_GT",
      threshold: 10,
      duration: "300s",
      severity: "ERROR",
    },
    postgresCpu!,
    postgresDisk!,
    redisMemory!,
    ...(w.llmVm
      ? [
          {
            kind: "threshold" as const,
            name: "llm-host-down",
            description: "the GPU host has not been up for 5 minutes",
            filter: pulumi.interpolate`metric.type="compute.googleapis.com/instance/uptime" resource.type="gce_instance" resource.label."instance_id"="${w.llmVm.instanceId}"`,
            aligner: "ALIGN_MAX" as const,
            comparison: "COMPARISON_LT" as const,
            threshold: 1,
            duration: "300s",
            severity: "CRITICAL" as const,
            missingDataViolates: true,
          },
        ]
      : []),
  ];
}
