/**
 * AWS for staging: the runtime on ECS Fargate behind an ALB, Ollama on one GPU host, CloudWatch
 * dashboards and alarms. Data services come from AwsPlatformBase.
 */
import * as pulumi from "@pulumi/pulumi";
import { FargateRuntimeServices } from "../../components/aws/fargate-services";
import { OllamaGpuHost, type HostGpu } from "../../components/aws/ollama-host";
import { OLLAMA_PORT } from "../../components/shared/ollama";
import type { ApiEndpoint, LlmEndpoint, VectorDbEndpoint } from "../../components/contracts";
import { ENV } from "../../runtime/src/config";
import { apiEndpointAt } from "../../components/shared/runtime-image";
import { OLLAMA_VERSION } from "../versions";
import { AwsPlatformBase } from "./aws-base";
import { llmFor, vectorDbFor } from "./hosted";
import type {
  LlmRequest,
  ObservabilityRequest,
  Platform,
  RuntimeServicesRequest,
  VectorDbRequest,
} from "./platform";

export class AwsEcsPlatform extends AwsPlatformBase implements Platform {
  private llmHost?: OllamaGpuHost;
  private services?: FargateRuntimeServices;

  vectorDb(req: VectorDbRequest): VectorDbEndpoint {
    return vectorDbFor(req, this);
  }

  llm(req: LlmRequest): LlmEndpoint {
    return llmFor(req, this, () => {
      this.llmHost = new OllamaGpuHost(
        `${this.prefix}-llm`,
        {
          network: this.network,
          kmsKey: this.dataKey,
          allowedSecurityGroupIds: [this.workloadSg.id],
          gpu: req.gpuType as HostGpu,
          model: req.model,
          embeddingModel: req.embeddingModel,
          ollamaVersion: OLLAMA_VERSION,
        },
        this.opts(),
      );
      return this.llmHost.endpoint;
    });
  }

  runtimeServices(req: RuntimeServicesRequest): ApiEndpoint {
    const documents = this.requireDocuments();
    const image = this.runtimeImageRef();
    const services = new FargateRuntimeServices(
      `${this.prefix}-svc`,
      {
        account: this.account,
        network: this.network,
        securityGroupId: this.workloadSg.id,
        image,
        // The ALB (inside the VPC) adds the client's address to X-Forwarded-For: believe it only from there.
        env: { ...req.env, plain: { ...req.env.plain, [ENV.trustProxy]: this.network.vpcCidr } },
        api: req.api,
        worker: req.worker,
        documentsBucketArn: documents.bucketArn,
        dataKey: this.dataKey,
        logsKey: this.logsKey,
        logRetentionDays: this.cfg.observability.logRetentionDays,
        certificateArn: this.cfg.domain.certificate,
        loadBalancerLogs: documents.loadBalancerLogs,
      },
      this.opts(),
    );
    this.services = services;
    return apiEndpointAt(services.loadBalancer.url);
  }

  observability(req: ObservabilityRequest): void {
    switch (req.exporter) {
      case "cloudwatch": {
        const { services, llmHost } = this;
        if (!services)
          throw new Error(
            "AwsEcsPlatform: observability() watches the services; create them first",
          );
        this.watchWithCloudWatch(req, {
          ecs: {
            loadBalancerArnSuffix: services.loadBalancer.arnSuffix,
            targetGroupArnSuffix: services.loadBalancer.targetGroupArnSuffix,
            clusterName: services.clusterName,
            apiServiceName: services.apiServiceName,
            workerServiceName: services.workerServiceName,
            metricService: services.metricService,
          },
          gpuInstanceId: llmHost?.instanceId,
        });
        return;
      }
      case "none":
        return;
      case "azure-monitor":
      case "cloud-monitoring":
      case "otlp":
      case "datadog":
      case "newrelic":
        throw new Error(
          `the AWS staging platform builds CloudWatch observability; the config schema refuses ${req.exporter} here`,
        );
      default: {
        const unreachable: never = req.exporter;
        throw new Error(`unknown exporter ${String(unreachable)}`);
      }
    }
  }

  override accessOutputs(): Record<string, pulumi.Input<unknown>> {
    const region = this.account.region;
    const host = this.llmHost;
    return {
      ...super.accessOutputs(),
      llmHost: host && {
        instanceId: host.instanceId,
        instanceType: host.instanceType,
        ssmSession: pulumi.interpolate`aws ssm start-session --region ${region} --target ${host.instanceId}`,
        ollamaTunnel: pulumi.interpolate`aws ssm start-session --region ${region} --target ${host.instanceId} --document-name AWS-StartPortForwardingSession --parameters portNumber=${OLLAMA_PORT},localPortNumber=${OLLAMA_PORT}`,
      },
      // After a change of embedding model (the services refuse the old index): scale the services to 0, run this, scale back.
      reembedTask: this.services?.reembedCommand,
      // After an update: `pulumi stack output rollout --json | tools/verify-rollout.sh` waits for the new tasks, or says they were rolled back.
      rollout: this.services?.rollout,
    };
  }
}
