/**
 * AWS for the Kubernetes tiers: EKS with a system and a GPU node group, the AWS add-ons (load
 * balancer controller, cluster autoscaler, External Secrets), the cloud-neutral add-ons and
 * workloads of components/kubernetes/. Data services come from AwsPlatformBase.
 */
import * as aws from "@pulumi/aws";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "../../components/aws/account";
import { EksAddons } from "../../components/aws/eks-addons";
import { EksCluster } from "../../components/aws/eks-cluster";
import { EksNodeGroup, gpuInstanceType } from "../../components/aws/eks-node-group";
import { TLS_POLICY } from "../../components/aws/load-balancer";
import { documentAccessStatements } from "../../components/aws/document-store";
import { CloudWatchObservability } from "../../components/aws/observability";
import { podIdentityRole } from "../../components/aws/pod-identity";
import { databasePasswordStatements, passwordReadAtConnect } from "../../components/aws/postgres";
import type { ManagedSecret } from "../../components/aws/secret";
import {
  type ApiEndpoint,
  type LlmEndpoint,
  type SecretRef,
  type VectorDbEndpoint,
  secretEntries,
} from "../../components/contracts";
import {
  ClusterAddons,
  COLLECTOR,
  METRICS_SCRAPER,
  OTLP_HTTP_PORT,
  TELEMETRY_NAMESPACE,
  type TelemetryArgs,
} from "../../components/kubernetes/cluster-addons";
import { EMBEDDINGS_LABELS, EmbeddingServer } from "../../components/kubernetes/embedding-server";
import { SyncedSecret, type RemoteSecretKey } from "../../components/kubernetes/external-secret";
import { RagNamespace } from "../../components/kubernetes/namespace";
import { podsIn, type CidrEgress } from "../../components/kubernetes/network-policy";
import { OLLAMA_LABELS, OllamaServer } from "../../components/kubernetes/ollama-server";
import { QDRANT_LABELS, QdrantCluster } from "../../components/kubernetes/qdrant";
import {
  API_DRAIN_SECONDS,
  API_LABELS,
  reembedJobCommand,
  RUNTIME_SERVICE_ACCOUNT,
  RuntimeWorkloads,
  WORKER_LABELS,
} from "../../components/kubernetes/runtime-workloads";
import { VLLM_LABELS, VllmServer } from "../../components/kubernetes/vllm-server";
import {
  API_DRAIN_LIMIT_SECONDS,
  API_IDLE_TIMEOUT_SECONDS,
  API_READINESS_PATH,
  QUEUE_DEPTH_PER_WORKER,
} from "../../components/shared/runtime-image";
import { DEFAULT_QUEUE_NAME, ENV } from "../../runtime/src/config";
import { bullmqWaitList } from "../../runtime/src/queue/wait-list";
import type { PlatformConfig } from "../config";
import type { RegionSite } from "../regions";
import { CHARTS, CLUSTER_AUTOSCALER_TAGS, K8S_IMAGES } from "../versions";
import { AwsPlatformBase } from "./aws-base";
import type {
  LlmRequest,
  ObservabilityRequest,
  RuntimeServicesRequest,
  VectorDbRequest,
} from "./platform";

const RUNTIME_CLIENTS = [API_LABELS, WORKER_LABELS];
/** GPU servers: CPU and memory next to the GPUs. */
const GPU_SERVER_SIZE = { cpuMillicores: 4000, memoryMiB: 24576 };

/** The namespace of the platform's workloads. */
const NAMESPACE = "rag";
/** Where the EKS Pod Identity agent listens on every node (link-local). */
const POD_IDENTITY_AGENT_CIDR = "169.254.170.23/32";

export class AwsEksPlatform extends AwsPlatformBase {
  readonly cluster: EksCluster;
  private readonly addons: EksAddons;
  private readonly clusterAddons: ClusterAddons;
  private readonly namespace: RagNamespace;
  /** Pods the runtime calls, by label and port, gathered as capabilities are created. */
  private readonly runtimeCalls: { labels: Record<string, string>; ports: number[] }[] = [];
  private apiIngressHost?: pulumi.Output<string | undefined>;

  constructor(cfg: PlatformConfig, site: RegionSite) {
    super(cfg, site);
    const prefix = site.prefix;
    const k = cfg.kubernetes;
    this.cluster = new EksCluster(
      `${prefix}-eks`,
      {
        account: this.account,
        network: this.network,
        version: k.version,
        kmsKey: this.dataKey,
        logsKey: this.logsKey,
        logRetentionDays: cfg.observability.logRetentionDays,
        publicAccessCidrs: cfg.network.clusterApiAllowedCidrs,
        adminPrincipalArns: k.adminPrincipalArns,
        systemNodes: {
          instanceType: k.systemNodeType,
          minSize: k.systemNodes.min,
          maxSize: k.systemNodes.max,
          desiredSize: k.systemNodes.desired,
          extraSecurityGroupIds: [this.workloadSg.id],
        },
      },
      this.opts(),
    );
    if (cfg.llm.mode === "self-hosted") {
      new EksNodeGroup(
        `${prefix}-gpu`,
        {
          cluster: this.cluster,
          network: this.network,
          kmsKey: this.dataKey,
          extraSecurityGroupIds: [this.workloadSg.id],
          kind: "gpu",
          instanceTypes: [gpuInstanceType(cfg.llm.gpuType, cfg.llm.gpuCount)],
          minSize: k.gpuNodes.min,
          maxSize: k.gpuNodes.max,
          desiredSize: k.gpuNodes.desired,
        },
        this.opts(),
      );
    }
    this.addons = new EksAddons(
      `${prefix}-addons`,
      {
        account: this.account,
        cluster: this.cluster,
        network: this.network,
        clusterAutoscalerTag: CLUSTER_AUTOSCALER_TAGS[k.version],
        charts: CHARTS,
      },
      this.opts(),
    );
    this.clusterAddons = new ClusterAddons(
      `${prefix}-cluster-addons`,
      {
        charts: CHARTS,
        telemetry: this.telemetry(),
        gitops: cfg.gitops.enabled
          ? {
              repoUrl: cfg.gitops.repoUrl!,
              path: cfg.gitops.path,
              targetRevision: cfg.gitops.targetRevision,
              targetNamespace: "rag",
            }
          : undefined,
      },
      {
        ...this.opts(),
        providers: { kubernetes: this.cluster.provider },
        dependsOn: this.addons.secretStoreReady,
      },
    );
    this.namespace = new RagNamespace(
      `${prefix}-ns`,
      // The AWS Load Balancer Controller then holds each new pod un-Ready until its ALB target is
      // healthy, so a rollout never stops the old pods before the load balancer sends to the new.
      { name: NAMESPACE, labels: { "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled" } },
      { ...this.opts(), providers: { kubernetes: this.cluster.provider } },
    );
  }

  /** Kubernetes resources: the cluster's provider; AWS resources: the regional provider. */
  private onCluster(): pulumi.ComponentResourceOptions {
    return { providers: { aws: this.provider, kubernetes: this.cluster.provider } };
  }

  /** The metrics scraper's pods, when a telemetry backend receives what it scrapes. */
  private scraperPeer(): k8s.types.input.networking.v1.NetworkPolicyPeer | undefined {
    return this.clusterAddons.otlpEndpoint
      ? podsIn(TELEMETRY_NAMESPACE, METRICS_SCRAPER.labels)
      : undefined;
  }

  private telemetry(): TelemetryArgs | undefined {
    const o = this.cfg.observability;
    switch (o.exporter) {
      case "none":
        return undefined;
      case "otlp": {
        const header = o.otlpAuthHeader;
        return {
          exporter: "otlp",
          otlpEndpoint: o.otlpEndpoint,
          ...(header
            ? {
                otlpAuthHeader: header,
                apiKey: this.collectorSecret(
                  "otlp-auth-header",
                  `value of the ${header} header the OTLP endpoint authenticates with`,
                ),
              }
            : {}),
          scrapeNamespace: NAMESPACE,
          clientsNamespace: NAMESPACE,
        };
      }
      case "datadog":
      case "newrelic":
        return {
          exporter: o.exporter,
          datadogSite: o.datadogSite,
          newRelicRegion: o.newRelicRegion,
          apiKey: this.collectorSecret(
            `${o.exporter}-api-key`,
            `${o.exporter} API key for the OpenTelemetry collector`,
          ),
          scrapeNamespace: NAMESPACE,
          clientsNamespace: NAMESPACE,
        };
      case "cloudwatch":
      case "azure-monitor":
      case "cloud-monitoring":
        throw new Error(
          `the EKS platform exports telemetry through OpenTelemetry; the config schema refuses ${o.exporter} here`,
        );
      default: {
        const unreachable: never = o.exporter;
        throw new Error(`unknown exporter ${String(unreachable)}`);
      }
    }
  }

  /** A secret the operator fills, which External Secrets may read and syncs to the collector. */
  private collectorSecret(name: string, description: string): NonNullable<TelemetryArgs["apiKey"]> {
    const secret = this.operatorSecret(name, description);
    this.grantSecretRead(name, [secret.arn]);
    return {
      storeName: this.addons.secretStoreName,
      remoteKey: secret.readableArn,
      storeReady: this.addons.secretStoreReady,
    };
  }

  /** Lets External Secrets read exactly these secrets (and decrypt them with the data key). */
  private grantSecretRead(name: string, arns: pulumi.Input<string>[]): void {
    new aws.iam.RolePolicy(
      `${this.prefix}-eso-${name}`,
      {
        role: this.addons.externalSecretsRole.id,
        policy: policyDocument([
          {
            Effect: "Allow",
            Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            Resource: arns,
          },
          { Effect: "Allow", Action: "kms:Decrypt", Resource: this.dataKey.arn },
        ]),
      },
      this.opts(),
    );
  }

  /** Syncs Secrets Manager entries into one Kubernetes Secret in the platform namespace. */
  private syncSecret(
    name: string,
    keys: RemoteSecretKey[],
    arns: pulumi.Input<string>[],
  ): SyncedSecret {
    this.grantSecretRead(name, arns);
    return new SyncedSecret(
      name,
      { namespace: this.namespace.name, storeName: this.addons.secretStoreName, keys },
      { ...this.onCluster(), dependsOn: this.addons.secretStoreReady },
    );
  }

  private syncManagedSecret(name: string, secret: ManagedSecret, key: string): SyncedSecret {
    return this.syncSecret(name, [{ secretKey: key, remoteKey: secret.readableArn }], [secret.arn]);
  }

  private internetEgress(): CidrEgress {
    return { cidr: "0.0.0.0/0", ports: [443] };
  }

  vectorDb(req: VectorDbRequest): VectorDbEndpoint {
    switch (req.mode) {
      case "pgvector":
        return { kind: "pgvector" };
      case "qdrant-cloud":
        return {
          kind: "qdrant",
          url: pulumi.output(req.qdrantCloudUrl!),
          apiKey: this.operatorSecret("qdrant-cloud-api-key", "Qdrant Cloud API key").ref,
          collection: req.collection,
        };
      case "qdrant": {
        const key = this.managedSecret("qdrant-api-key", 40);
        const synced = this.syncManagedSecret("qdrant-api-key", key, "api-key");
        const qdrant = new QdrantCluster(
          `${this.prefix}-qdrant`,
          {
            namespace: this.namespace.name,
            chart: CHARTS.qdrant,
            replicas: req.replicas,
            storageGiB: req.storageGiB,
            storageClassName: this.cluster.storageClassName,
            apiKey: { secretName: synced.secretName, key: "api-key" },
            apiKeyRef: key.ref,
            collection: req.collection,
            clientLabels: RUNTIME_CLIENTS,
          },
          this.onCluster(),
        );
        this.runtimeCalls.push({ labels: QDRANT_LABELS, ports: [6333, 6334] });
        return qdrant.endpoint;
      }
      default: {
        const unreachable: never = req.mode;
        throw new Error(`unknown vector DB mode ${String(unreachable)}`);
      }
    }
  }

  llm(req: LlmRequest): LlmEndpoint {
    if (req.mode === "managed") return this.managedLlm(req);
    switch (req.server) {
      case "vllm": {
        const token = this.operatorSecret(
          "huggingface-token",
          "Hugging Face token (read access to the gated model)",
        );
        const synced = this.syncManagedSecret("huggingface-token", token, "token");
        const vllm = new VllmServer(
          `${this.prefix}-vllm`,
          {
            namespace: this.namespace.name,
            image: K8S_IMAGES.vllm,
            model: req.model,
            gpuCount: req.gpuCount,
            size: GPU_SERVER_SIZE,
            huggingFaceToken: { secretName: synced.secretName, key: "token" },
            storageClassName: this.cluster.storageClassName,
            clientLabels: RUNTIME_CLIENTS,
            downloadEgress: this.internetEgress(),
            metricsScrapedBy: this.scraperPeer(),
          },
          this.onCluster(),
        );
        const embeddings = new EmbeddingServer(
          `${this.prefix}-embeddings`,
          {
            namespace: this.namespace.name,
            image: K8S_IMAGES.textEmbeddingsInference,
            model: req.embeddingModel,
            replicas: 2,
            size: { cpuMillicores: 1000, memoryMiB: 2048 },
            clientLabels: RUNTIME_CLIENTS,
            downloadEgress: this.internetEgress(),
            metricsScrapedBy: this.scraperPeer(),
          },
          this.onCluster(),
        );
        this.runtimeCalls.push(
          { labels: VLLM_LABELS, ports: [8000] },
          { labels: EMBEDDINGS_LABELS, ports: [8080] },
        );
        return {
          ...vllm.endpoint,
          embeddingProvider: "openai",
          embeddingBaseUrl: embeddings.baseUrl,
          embeddingModel: embeddings.model,
        };
      }
      case "ollama": {
        const ollama = new OllamaServer(
          `${this.prefix}-ollama`,
          {
            namespace: this.namespace.name,
            image: K8S_IMAGES.ollama,
            model: req.model,
            embeddingModel: req.embeddingModel,
            gpuCount: req.gpuCount,
            size: GPU_SERVER_SIZE,
            storageClassName: this.cluster.storageClassName,
            clientLabels: RUNTIME_CLIENTS,
            downloadEgress: this.internetEgress(),
          },
          this.onCluster(),
        );
        this.runtimeCalls.push({ labels: OLLAMA_LABELS, ports: [11434] });
        return ollama.endpoint;
      }
      default: {
        const unreachable: never = req.server;
        throw new Error(`unknown LLM server ${String(unreachable)}`);
      }
    }
  }

  runtimeServices(req: RuntimeServicesRequest): ApiEndpoint {
    if (!this.documents)
      throw new Error("AwsEksPlatform: objectStore() must be created before runtimeServices()");
    const { bucketArn, loadBalancerLogs: albLogs } = this.documents;
    // The database password RDS rotates is read by the runtime itself, with its own role (below).
    const { env: runtimeEnv, databaseSecretArn } = passwordReadAtConnect(req.env);
    // The runtime's AWS identity through EKS Pod Identity (nodes' credentials are out of pods'
    // reach): the document bucket and its key, and the database password's secret.
    podIdentityRole(
      `${this.prefix}-runtime`,
      {
        clusterName: this.cluster.name,
        namespace: NAMESPACE,
        serviceAccount: RUNTIME_SERVICE_ACCOUNT,
        statements: [
          ...documentAccessStatements(bucketArn, this.dataKey.arn),
          ...(databaseSecretArn
            ? databasePasswordStatements(databaseSecretArn, this.dataKey.arn)
            : []),
        ],
      },
      this.opts(),
    );
    const refs = secretEntries(runtimeEnv);
    const keys: RemoteSecretKey[] = refs.map(([name, ref]) => {
      if (ref.kind !== "aws-secretsmanager")
        throw new Error(
          `AwsEksPlatform: ${name} must live in Secrets Manager to reach pods (got ${ref.kind})`,
        );
      return { secretKey: name, remoteKey: ref.arn, property: ref.jsonKey };
    });
    const runtimeSecret = this.syncSecret(
      "rag-runtime",
      keys,
      refs.map(([, ref]) => (ref as Extract<SecretRef, { kind: "aws-secretsmanager" }>).arn),
    );
    const certificate = this.cfg.domain.certificate;
    const otlp = this.clusterAddons.otlpEndpoint;
    const scraper = this.scraperPeer();
    // The ALB (IP targets, inside the VPC) adds the client's address to X-Forwarded-For: believe it only from there.
    const env = {
      ...runtimeEnv,
      plain: {
        ...runtimeEnv.plain,
        [ENV.trustProxy]: this.network.vpcCidr,
        ...(otlp ? { [ENV.otlpEndpoint]: otlp } : {}),
      },
    };
    const redisHost = this.redisCache?.endpoint.host;
    if (!redisHost)
      throw new Error("AwsEksPlatform: redis() must be created before runtimeServices()");
    const workloads = new RuntimeWorkloads(
      `${this.prefix}-runtime`,
      {
        namespace: this.namespace.name,
        image: this.runtimeImageRef(),
        env,
        secretName: runtimeSecret.secretName,
        api: req.api,
        worker: req.worker,
        ingress: {
          className: "alb",
          host: this.cfg.domain.hostname,
          annotations: {
            "alb.ingress.kubernetes.io/scheme": certificate ? "internet-facing" : "internal",
            "alb.ingress.kubernetes.io/target-type": "ip",
            "alb.ingress.kubernetes.io/healthcheck-path": API_READINESS_PATH,
            "alb.ingress.kubernetes.io/listen-ports": certificate
              ? '[{"HTTPS":443}]'
              : '[{"HTTP":80}]',
            "alb.ingress.kubernetes.io/inbound-cidrs": certificate
              ? "0.0.0.0/0"
              : this.network.vpcCidr,
            // Access logs to the log bucket, whose policy lets this region's load balancers write under the prefix.
            "alb.ingress.kubernetes.io/load-balancer-attributes": pulumi.interpolate`routing.http.drop_invalid_header_fields.enabled=true,idle_timeout.timeout_seconds=${API_IDLE_TIMEOUT_SECONDS},access_logs.s3.enabled=true,access_logs.s3.bucket=${albLogs.bucket},access_logs.s3.prefix=${albLogs.prefix}`,
            // A stopping pod's target keeps its connections while the pod finishes what it holds (AWS's default is 300 s).
            "alb.ingress.kubernetes.io/target-group-attributes": `deregistration_delay.timeout_seconds=${API_DRAIN_SECONDS + API_DRAIN_LIMIT_SECONDS}`,
            // Named rather than discovered by their kubernetes.io/role tags, which subnets of an existing VPC may lack.
            "alb.ingress.kubernetes.io/subnets": pulumi
              .all(certificate ? this.network.publicSubnetIds : this.network.privateSubnetIds)
              .apply((ids) => ids.join(",")),
            ...(certificate
              ? {
                  "alb.ingress.kubernetes.io/certificate-arn": certificate,
                  "alb.ingress.kubernetes.io/ssl-policy": TLS_POLICY,
                }
              : {}),
          },
        },
        // The ALB sends from its addresses inside the VPC (IP targets).
        apiIngressFrom: [{ ipBlock: { cidr: this.network.vpcCidr } }],
        callsPods: this.runtimeCalls,
        callsCidrs: [
          // Postgres, Redis, and the AWS APIs' interface endpoints in the VPC (Secrets Manager).
          { cidr: this.network.vpcCidr, ports: [443, 5432, 6379] },
          { ...this.internetEgress(), except: [this.network.vpcCidr] },
          // The EKS Pod Identity agent on each node, which hands out the runtime role's credentials.
          { cidr: POD_IDENTITY_AGENT_CIDR, ports: [80] },
        ],
        callsPeers: otlp
          ? [{ peer: podsIn(TELEMETRY_NAMESPACE, COLLECTOR.labels), ports: [OTLP_HTTP_PORT] }]
          : [],
        queue: {
          redisAddress: pulumi.interpolate`${redisHost}:6379`,
          tls: true,
          listName: bullmqWaitList(DEFAULT_QUEUE_NAME),
          targetDepthPerReplica: QUEUE_DEPTH_PER_WORKER,
        },
        metricsScrapedBy: scraper && {
          peer: scraper,
          serviceAccount: { name: METRICS_SCRAPER.serviceAccount, namespace: TELEMETRY_NAMESPACE },
        },
      },
      // The Ingress needs the controller's webhook, the scaler KEDA's CRDs.
      {
        ...this.onCluster(),
        dependsOn: [this.addons.loadBalancerController, this.clusterAddons.keda],
      },
    );
    this.apiIngressHost = workloads.ingress.status.apply(
      (s) => s?.loadBalancer?.ingress?.[0]?.hostname,
    );
    const scheme = certificate ? "https" : "http";
    const host = this.cfg.domain.hostname;
    return {
      url: host
        ? pulumi.output(`${scheme}://${host}`)
        : this.apiIngressHost.apply((h) =>
            h ? `${scheme}://${h}` : "(pending: the load balancer controller is creating the ALB)",
          ),
    };
  }

  /**
   * The workloads' telemetry goes to the OpenTelemetry backend (the collector came with the
   * cluster add-ons: see telemetry()), which alerts on it. CloudWatch watches what AWS runs for
   * the tier, Postgres and Redis, whatever the exporter: a dashboard and alarms to an encrypted
   * topic that the configured e-mails and PagerDuty subscribe to.
   */
  observability(req: ObservabilityRequest): void {
    const { postgresDb: postgres, redisCache: redis } = this;
    if (!postgres || !redis)
      throw new Error("AwsEksPlatform: observability() watches the data stores; create them first");
    this.cloudWatch = new CloudWatchObservability(
      `${this.prefix}-observability`,
      {
        region: this.account.region,
        topicKey: this.logsKey,
        alertEmails: req.alertEmails,
        watched: { rdsInstanceId: postgres.instanceId, redisNodeIds: redis.nodeIds },
      },
      this.opts(),
    );
  }

  override accessOutputs(): Record<string, pulumi.Input<unknown>> {
    const region = this.account.region;
    return {
      ...super.accessOutputs(),
      cluster: {
        name: this.cluster.name,
        updateKubeconfig: pulumi.interpolate`aws eks update-kubeconfig --region ${region} --name ${this.cluster.name}`,
        apiEndpoint: this.cluster.publicEndpoint
          ? "public (allowed CIDRs only) and private"
          : "private: reach it from inside the VPC (VPN, peering or an SSM port forward)",
      },
      namespace: this.namespace.name,
      // After a change of embedding model (the pods refuse the old index): scale api and worker to 0, run this, scale back.
      reembedJob: pulumi.output(this.namespace.name).apply(reembedJobCommand),
      argoCd: this.clusterAddons.argoCd
        ? "kubectl -n argocd port-forward svc/argo-cd-argocd-server 8443:443"
        : undefined,
    };
  }
}
