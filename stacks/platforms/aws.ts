/**
 * The AWS platform: each capability as AWS components in one region. Staging runs the runtime
 * on ECS Fargate; the data services are managed (RDS, ElastiCache, S3, Secrets Manager).
 */
import { relative, resolve } from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { lookupAccount, type AwsAccount } from "../../components/aws/account";
import { DocumentStore } from "../../components/aws/document-store";
import { FargateRuntimeServices } from "../../components/aws/fargate-services";
import { KmsKey } from "../../components/aws/kms-key";
import { Network } from "../../components/aws/network";
import { CloudWatchObservability } from "../../components/aws/observability";
import { OLLAMA_PORT, OllamaGpuHost, type HostGpu } from "../../components/aws/ollama-host";
import { RdsPostgres } from "../../components/aws/postgres";
import { ElastiCacheRedis } from "../../components/aws/redis";
import { RuntimeImage } from "../../components/aws/runtime-image";
import { ManagedSecret } from "../../components/aws/secret";
import { workloadSecurityGroup } from "../../components/aws/security-group";
import type { ApiEndpoint, LlmEndpoint, ObjectStore, PostgresEndpoint, RedisEndpoint, SecretRef, VectorDbEndpoint } from "../../components/contracts";
import type { PlatformConfig } from "../config";
import { runtimeSourceTag } from "../source-hash";
import { OLLAMA_VERSION } from "../versions";
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

/** Default endpoints and embedding choices of the hosted LLM providers. */
const MANAGED_LLM = {
  openai: { provider: "openai", baseUrl: "https://api.openai.com/v1", embeddingProvider: "openai", embeddingModel: "text-embedding-3-small" },
  "openai-compatible": { provider: "openai", baseUrl: undefined, embeddingProvider: "openai", embeddingModel: undefined },
  "azure-openai": { provider: "openai", baseUrl: undefined, embeddingProvider: "openai", embeddingModel: undefined },
  anthropic: { provider: "anthropic", baseUrl: "https://api.anthropic.com", embeddingProvider: "local", embeddingModel: "local-hashed-ngrams" },
} as const;

const BUILD_CONTEXT = relative(process.cwd(), resolve(__dirname, "../..")) || ".";

/** What the platform created, for observability and the stack outputs. */
interface Created {
  postgres?: RdsPostgres;
  redis?: ElastiCacheRedis;
  documents?: DocumentStore;
  llmHost?: OllamaGpuHost;
  services?: FargateRuntimeServices;
  observability?: CloudWatchObservability;
  operatorSecrets: Record<string, ManagedSecret>;
}

export class AwsPlatform implements Platform {
  private readonly provider: aws.Provider;
  private readonly account: AwsAccount;
  private readonly dataKey: KmsKey;
  private readonly logsKey: KmsKey;
  private readonly network: Network;
  private readonly workloadSg: aws.ec2.SecurityGroup;
  private readonly created: Created = { operatorSecrets: {} };

  constructor(
    private readonly prefix: string,
    private readonly cfg: PlatformConfig,
    region: string,
  ) {
    this.provider = new aws.Provider(`${prefix}-aws`, {
      region,
      defaultTags: { tags: { project: "rag-platform", tier: cfg.tier, "managed-by": "pulumi" } },
    });
    this.account = lookupAccount(region, this.provider);
    this.dataKey = new KmsKey(`${prefix}-data`, { account: this.account, description: `${prefix}: documents, databases, caches, secrets` }, this.opts());
    this.logsKey = new KmsKey(
      `${prefix}-logs`,
      {
        account: this.account,
        description: `${prefix}: log groups and the alarm topic`,
        allowCloudWatchLogs: true,
        allowServicePrincipals: ["cloudwatch.amazonaws.com"],
      },
      this.opts(),
    );
    const n = cfg.network;
    this.network = new Network(
      `${prefix}-vpc`,
      {
        region,
        vpcCidr: n.vpcCidr,
        azCount: n.azCount,
        natGateways: n.natGateways,
        logsKey: this.logsKey,
        flowLogRetentionDays: cfg.observability.logRetentionDays,
        existing: n.existingVpcId
          ? { vpcId: n.existingVpcId, privateSubnetIds: n.existingPrivateSubnetIds ?? [], publicSubnetIds: n.existingPublicSubnetIds }
          : undefined,
      },
      this.opts(),
    );
    this.workloadSg = workloadSecurityGroup(
      `${prefix}-workloads`,
      { vpcId: this.network.vpcId, vpcCidr: this.network.vpcCidr, dataPorts: [5432, 6379, OLLAMA_PORT] },
      this.opts(),
    );
  }

  private opts(): pulumi.ComponentResourceOptions & pulumi.CustomResourceOptions {
    return { provider: this.provider };
  }

  generatedSecret(name: string, length: number): SecretRef {
    const secret = new ManagedSecret(`${this.prefix}-${name}`, { description: `${this.prefix} ${name}`, kmsKey: this.dataKey, generateLength: length }, this.opts());
    return secret.ref;
  }

  /** A secret whose value the operator puts after the first deployment (third-party keys). */
  private operatorSecret(name: string, description: string): SecretRef {
    const secret = new ManagedSecret(`${this.prefix}-${name}`, { description, kmsKey: this.dataKey }, this.opts());
    this.created.operatorSecrets[name] = secret;
    return secret.ref;
  }

  postgres(req: PostgresRequest): PostgresEndpoint {
    const pg = new RdsPostgres(
      `${this.prefix}-postgres`,
      {
        network: this.network,
        kmsKey: this.dataKey,
        allowedSecurityGroupIds: [this.workloadSg.id],
        majorVersion: req.version,
        instanceClass: req.instanceClass,
        storageGiB: req.storageGiB,
        maxStorageGiB: req.maxStorageGiB,
        backupRetentionDays: req.backupRetentionDays,
        multiAz: req.multiAz,
        deletionProtection: req.deletionProtection,
        databaseName: req.databaseName,
      },
      this.opts(),
    );
    this.created.postgres = pg;
    return pg.endpoint;
  }

  redis(req: RedisRequest): RedisEndpoint {
    const redis = new ElastiCacheRedis(
      `${this.prefix}-redis`,
      {
        network: this.network,
        kmsKey: this.dataKey,
        allowedSecurityGroupIds: [this.workloadSg.id],
        nodeType: req.nodeType,
        replicas: req.replicas,
        multiAz: req.multiAz,
      },
      this.opts(),
    );
    this.created.redis = redis;
    return redis.endpoint;
  }

  vectorDb(req: VectorDbRequest): VectorDbEndpoint {
    switch (req.mode) {
      case "pgvector":
        return { kind: "pgvector" };
      case "qdrant-cloud":
        return {
          kind: "qdrant",
          url: pulumi.output(req.qdrantCloudUrl!),
          apiKey: this.operatorSecret("qdrant-cloud-api-key", "Qdrant Cloud API key (from the Qdrant Cloud console)"),
          collection: req.collection,
        };
      case "qdrant":
        throw new Error("a self-hosted Qdrant runs on Kubernetes (sme, enterprise); the config schema refuses it for staging");
      default: {
        const unreachable: never = req.mode;
        throw new Error(`unknown vector DB mode ${String(unreachable)}`);
      }
    }
  }

  objectStore(req: ObjectStoreRequest): ObjectStore {
    const store = new DocumentStore(
      `${this.prefix}-documents`,
      { account: this.account, kmsKey: this.dataKey, noncurrentVersionRetentionDays: req.noncurrentVersionRetentionDays },
      this.opts(),
    );
    this.created.documents = store;
    return { url: pulumi.interpolate`s3://${store.bucketName}/documents` };
  }

  llm(req: LlmRequest): LlmEndpoint {
    switch (req.mode) {
      case "self-hosted": {
        const host = new OllamaGpuHost(
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
        this.created.llmHost = host;
        return host.endpoint;
      }
      case "managed": {
        const provider = req.managedProvider!;
        const spec = MANAGED_LLM[provider];
        const apiKey = this.operatorSecret("llm-api-key", `API key for the hosted LLM (${provider})`);
        const baseUrl = req.managedBaseUrl ?? spec.baseUrl!;
        return {
          provider: spec.provider,
          baseUrl: pulumi.output(baseUrl),
          model: req.model,
          embeddingProvider: spec.embeddingProvider,
          embeddingBaseUrl: spec.embeddingProvider === "openai" ? pulumi.output(baseUrl) : undefined,
          embeddingModel: spec.embeddingModel ?? req.embeddingModel,
          apiKey,
        };
      }
      default: {
        const unreachable: never = req.mode;
        throw new Error(`unknown LLM mode ${String(unreachable)}`);
      }
    }
  }

  runtimeServices(req: RuntimeServicesRequest): ApiEndpoint {
    if (!this.created.documents) throw new Error("AwsPlatform: objectStore() must be created before runtimeServices()");
    const image = this.cfg.runtimeImage
      ? pulumi.output(this.cfg.runtimeImage)
      : new RuntimeImage(`${this.prefix}-runtime`, { kmsKey: this.dataKey, tag: runtimeSourceTag(), buildContext: BUILD_CONTEXT }, this.opts()).imageRef;
    const services = new FargateRuntimeServices(
      `${this.prefix}-svc`,
      {
        account: this.account,
        network: this.network,
        securityGroupId: this.workloadSg.id,
        image,
        env: req.env,
        api: req.api,
        worker: req.worker,
        documentsBucketArn: this.created.documents.bucketArn,
        dataKey: this.dataKey,
        logsKey: this.logsKey,
        logRetentionDays: this.cfg.observability.logRetentionDays,
        certificateArn: this.cfg.domain.certificate,
      },
      this.opts(),
    );
    this.created.services = services;
    return { url: services.loadBalancer.url };
  }

  observability(req: ObservabilityRequest): void {
    switch (req.exporter) {
      case "cloudwatch": {
        const { services, postgres, redis, llmHost } = this.created;
        if (!services || !postgres || !redis) throw new Error("AwsPlatform: observability() watches the services and data stores; create them first");
        this.created.observability = new CloudWatchObservability(
          `${this.prefix}-observability`,
          {
            region: this.account.region,
            topicKey: this.logsKey,
            alertEmails: req.alertEmails,
            watched: {
              loadBalancerArnSuffix: services.loadBalancer.arnSuffix,
              targetGroupArnSuffix: services.loadBalancer.targetGroupArnSuffix,
              clusterName: services.clusterName,
              apiServiceName: services.apiServiceName,
              workerServiceName: services.workerServiceName,
              rdsInstanceId: postgres.instanceId,
              redisReplicationGroupId: redis.replicationGroupId,
              gpuInstanceId: llmHost?.instanceId,
            },
          },
          this.opts(),
        );
        return;
      }
      case "none":
        return;
      case "prometheus":
      case "otlp":
      case "datadog":
      case "newrelic":
        throw new Error(`the AWS staging platform builds CloudWatch observability; the config schema refuses ${req.exporter} here`);
      default: {
        const unreachable: never = req.exporter;
        throw new Error(`unknown exporter ${String(unreachable)}`);
      }
    }
  }

  accessOutputs(): Record<string, pulumi.Input<unknown>> {
    const { postgres, redis, documents, llmHost, observability, operatorSecrets } = this.created;
    const region = this.account.region;
    return {
      region,
      vpcId: this.network.vpcId,
      documentsBucket: documents?.bucketName,
      database: postgres && {
        endpoint: pulumi.interpolate`${postgres.endpoint.host}:${postgres.endpoint.port}`,
        database: postgres.endpoint.database,
        username: postgres.endpoint.username,
        passwordSecretArn: postgres.masterSecretArn,
        note: "TLS is required (rds.force_ssl); reach it from inside the VPC, e.g. through an SSM session on the LLM host",
      },
      redisEndpoint: redis?.endpoint.host,
      llmHost: llmHost && {
        instanceId: llmHost.instanceId,
        instanceType: llmHost.instanceType,
        ssmSession: pulumi.interpolate`aws ssm start-session --region ${region} --target ${llmHost.instanceId}`,
        ollamaTunnel: pulumi.interpolate`aws ssm start-session --region ${region} --target ${llmHost.instanceId} --document-name AWS-StartPortForwardingSession --parameters portNumber=${OLLAMA_PORT},localPortNumber=${OLLAMA_PORT}`,
      },
      dashboardUrl: observability?.dashboardUrl,
      alarmTopicArn: observability?.topicArn,
      secretsToFill: Object.fromEntries(Object.entries(operatorSecrets).map(([name, s]) => [name, s.fillCommand])),
    };
  }
}
