/**
 * The Kubernetes tiers on any cluster, written once: the cloud-neutral add-ons, the platform's
 * namespace, Qdrant, the model servers, the runtime's workloads, their network policies and
 * telemetry. A ClusterHost (EKS, AKS, GKE) supplies the cluster and what only its cloud knows:
 * the secret store, the ingress, identities, egress and the managed data services.
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type {
  ApiEndpoint,
  LlmEndpoint,
  ObjectStore,
  PostgresEndpoint,
  RedisEndpoint,
  SecretRef,
  VectorDbEndpoint,
} from "../../components/contracts";
import { secretEntries } from "../../components/contracts";
import { ClusterAddons } from "../../components/kubernetes/cluster-addons";
import {
  EMBEDDINGS_SERVICE_ACCOUNT,
  EmbeddingServer,
} from "../../components/kubernetes/embedding-server";
import type { ModelWeights } from "../../components/kubernetes/model-weights";
import { SyncedSecret } from "../../components/kubernetes/external-secret";
import { RagNamespace } from "../../components/kubernetes/namespace";
import { egressOf, FlowTable, type MeshWorkload } from "../../components/kubernetes/flows";
import { podsIn, type CidrEgress } from "../../components/kubernetes/network-policy";
import { OllamaServer } from "../../components/kubernetes/ollama-server";
import { PriorityClasses, type PriorityTier } from "../../components/kubernetes/priority-classes";
import { QdrantCluster } from "../../components/kubernetes/qdrant";
import {
  reembedJobCommand,
  RUNTIME_SERVICE_ACCOUNT,
  RuntimeWorkloads,
} from "../../components/kubernetes/runtime-workloads";
import {
  METRICS_SCRAPER,
  OTLP_HTTP_PORT,
  TELEMETRY_NAMESPACE,
  type TelemetryArgs,
} from "../../components/kubernetes/telemetry";
import { VLLM_SERVICE_ACCOUNT, VllmServer } from "../../components/kubernetes/vllm-server";
import { parseModelSource } from "../model-source";
import {
  QUEUE_DEPTH_PER_WORKER,
  RUNTIME_PROCESSES,
  SECRETS_DIR,
} from "../../components/shared/runtime-image";
import { DEFAULT_QUEUE_NAME, ENV } from "../../runtime/src/config";
import { bullmqWaitList } from "../../runtime/src/queue/wait-list";
import type { PlatformConfig } from "../config";
import { siteName, type RegionSite } from "../regions";
import { CHARTS, K8S_IMAGES, type SupportedChart } from "../versions";
import type { ClusterHost, ClusterIngestBus } from "./cluster-host";
import { exposedApi } from "./kubernetes-api";
import { llmFor, vectorDbFor } from "./hosted";
import { KUBERNETES_NAMESPACE, WORKLOADS } from "./kubernetes-flows";
import { INGEST_WORKLOADS, kafkaIngest } from "./kubernetes-ingest";
import { CATALOGUE_ROLES, EMBEDDING_ROLES, INGEST_ROLES } from "../ingest-log";
import { ClusterOperations } from "./kubernetes-operations";
import { kafkaEnvironment } from "../runtime-env";
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

/** What decides which charts the Kubernetes platform installs. */
export type ChartChoices = Pick<PlatformConfig, "gitops" | "vectorDb"> & {
  readonly observability: Pick<PlatformConfig["observability"], "exporter">;
};

/**
 * The charts the Kubernetes platform installs for a configuration on a host providing
 * `provides` (the host adds its own): what the config rules check against the Kubernetes version.
 */
export function kubernetesCharts(
  cfg: ChartChoices,
  provides: ClusterHost["provides"],
): SupportedChart[] {
  return [
    CHARTS.keda,
    ...(provides.metricsServer ? [] : [CHARTS.metricsServer]),
    ...(provides.gpuDevicePlugin ? [] : [CHARTS.nvidiaDevicePlugin]),
    ...(cfg.observability.exporter === "none" ? [] : [CHARTS.openTelemetryCollector]),
    ...(cfg.gitops.enabled ? [CHARTS.argoCd] : []),
    ...(cfg.vectorDb.mode === "qdrant" ? [CHARTS.qdrant] : []),
  ];
}

/** GPU servers: CPU and memory next to the GPUs. */
const GPU_SERVER_SIZE = { cpuMillicores: 4000, memoryMiB: 24576 };
export { KUBERNETES_NAMESPACE } from "./kubernetes-flows";
const ANYWHERE = "0.0.0.0/0";
const QDRANT_CLIENT_PORTS = [6333, 6334];
const QDRANT_PEER_PORT = 6335;
const VLLM_PORT = 8000;
const EMBEDDINGS_PORT = 8080;
const EMBEDDINGS_METRICS_PORT = 9000;
const OLLAMA_PORT = 11434;
/** What a server gives the runtime: who of what ingests calls it follows (runtimeCalls). */
type ServerUse = "vectors" | "embeddings" | "generation";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

export class KubernetesPlatform implements Platform {
  private readonly addons: ClusterAddons;
  private readonly namespace: RagNamespace;
  /**
   * Every flow between the platform's workloads and out of them, added as capabilities are
   * created: the NetworkPolicies' rules and the mesh's policies are both read from it.
   */
  private readonly flows = new FlowTable();
  /** The mesh, Rollouts and the in-cluster stack, as the config asks. */
  private readonly ops: ClusterOperations;
  private redisEndpoint?: RedisEndpoint;
  /** The Hugging Face token's Secret, once a model server reads the hub with it. */
  private hfToken?: SyncedSecret;
  /** Serving above batch ingest (enterprise): every workload names one. */
  private readonly priorities?: PriorityClasses;

  constructor(
    private readonly host: ClusterHost,
    private readonly cfg: PlatformConfig,
    private readonly site: RegionSite,
  ) {
    this.ops = new ClusterOperations(host, cfg, site, this.flows, () => this.onCluster());
    this.addons = new ClusterAddons(
      `${site.prefix}-cluster-addons`,
      {
        charts: CHARTS,
        telemetry: this.telemetry(),
        gitops: cfg.gitops.enabled
          ? {
              repoUrl: cfg.gitops.repoUrl!,
              path: cfg.gitops.path,
              targetRevision: cfg.gitops.targetRevision,
              targetNamespace: KUBERNETES_NAMESPACE,
              // Under zero trust the mesh enrols Argo CD's namespace and the flow table opens it.
              ...(this.ops.mesh ? { namespaceLabels: this.ops.namespaceLabels } : {}),
            }
          : undefined,
        cloudProvides: host.provides,
        resourceNamePrefix: site.namePrefix,
      },
      {
        ...this.onCluster(),
        dependsOn: [...host.secretStore.ready, ...(host.addonIdentities ?? [])],
      },
    );
    this.priorities =
      cfg.tier === "enterprise"
        ? new PriorityClasses(`${site.prefix}-priorities`, this.onCluster())
        : undefined;
    this.namespace = new RagNamespace(
      `${site.prefix}-ns`,
      {
        name: KUBERNETES_NAMESPACE,
        labels: { ...host.ingress.namespaceLabels, ...this.ops.namespaceLabels },
      },
      this.onCluster(),
    );
  }

  /** The PriorityClass a workload of `tier` names, when the platform has them. */
  private priority(tier: PriorityTier): pulumi.Output<string> | undefined {
    return this.priorities?.names[tier];
  }

  /** What ingests: the BullMQ worker, or the Kafka bus's roles when the host runs one. */
  private get ingestClients(): MeshWorkload[] {
    return this.host.ingestBus ? Object.values(INGEST_WORKLOADS) : [WORKLOADS.worker];
  }

  /** The flow table as built so far (every flow once the core is composed): for review and tests. */
  get flowTable(): FlowTable {
    return this.flows;
  }

  /** Kubernetes resources: the cluster's provider; cloud resources: the region's. */
  private onCluster(): pulumi.ComponentResourceOptions {
    return { providers: [this.host.cloudProvider, this.host.kubernetes] };
  }

  generatedSecret(name: string, length: number): SecretRef {
    return this.host.generatedSecret(name, length);
  }

  externalSecret(name: string, description: string): SecretRef | undefined {
    return this.host.externalSecret(name, description);
  }

  postgres(req: PostgresRequest): PostgresEndpoint {
    return this.host.postgres(req);
  }

  redis(req: RedisRequest): RedisEndpoint {
    this.redisEndpoint = this.host.redis(req);
    return this.redisEndpoint;
  }

  objectStore(req: ObjectStoreRequest): ObjectStore {
    return this.host.objectStore(req);
  }

  /** The metrics scraper's pods, when a telemetry backend receives what it scrapes. */
  private scraperPeer(): Peer | undefined {
    return this.addons.otlpEndpoint
      ? podsIn(TELEMETRY_NAMESPACE, METRICS_SCRAPER.labels)
      : undefined;
  }

  private telemetry(): TelemetryArgs | undefined {
    const o = this.cfg.observability;
    const alsoTo = this.ops.telemetryAlsoTo();
    const labels = this.ops.namespaceLabels;
    const namespaces = {
      scrapeNamespace: KUBERNETES_NAMESPACE,
      clientsNamespace: KUBERNETES_NAMESPACE,
      ...(Object.keys(labels).length ? { namespaceLabels: labels } : {}),
      ...(alsoTo ? { alsoTo } : {}),
    };
    switch (o.exporter) {
      case "none":
        return undefined;
      case "otlp": {
        const header = o.otlpAuthHeader;
        const description = `value of the ${header} header the OTLP endpoint authenticates with`;
        return {
          exporter: "otlp",
          otlpEndpoint: o.otlpEndpoint,
          ...(header
            ? { otlpAuthHeader: header, apiKey: this.collectorKey("otlp-auth-header", description) }
            : {}),
          ...namespaces,
        };
      }
      case "datadog":
      case "newrelic":
        return {
          exporter: o.exporter,
          datadogSite: o.datadogSite,
          newRelicRegion: o.newRelicRegion,
          apiKey: this.collectorKey(
            `${o.exporter}-api-key`,
            `${o.exporter} API key for the OpenTelemetry collector`,
          ),
          ...namespaces,
        };
      case "cloudwatch":
      case "azure-monitor":
      case "cloud-monitoring":
        throw new Error(
          `the Kubernetes platform exports telemetry through OpenTelemetry; the config schema refuses ${o.exporter} here`,
        );
      default: {
        const unreachable: never = o.exporter;
        throw new Error(`unknown exporter ${String(unreachable)}`);
      }
    }
  }

  /** A key the operator fills, which External Secrets may read and syncs to the collector. */
  private collectorKey(name: string, description: string): NonNullable<TelemetryArgs["apiKey"]> {
    const store = this.host.secretStore;
    const [remote] = store.grantRead(name, [this.operatorKey(name, description)]);
    return { storeName: store.name, remoteKey: remote!.remoteKey, storeReady: store.ready };
  }

  private operatorKey(name: string, description: string): SecretRef {
    const ref = this.host.externalSecret(name, description);
    if (!ref) throw new Error(`KubernetesPlatform: the cluster host keeps no secret ${name}`);
    return ref;
  }

  /** Syncs secrets into one Kubernetes Secret in the platform namespace (External Secrets may read them). */
  private syncSecret(name: string, keys: readonly [string, SecretRef][]): SyncedSecret {
    const store = this.host.secretStore;
    const remotes = store.grantRead(
      name,
      keys.map(([, ref]) => ref),
    );
    return new SyncedSecret(
      siteName(this.site, name),
      {
        namespace: this.namespace.name,
        secretName: name,
        storeName: store.name,
        keys: keys.map(([secretKey], i) => ({ secretKey, ...remotes[i]! })),
      },
      { ...this.onCluster(), dependsOn: store.ready },
    );
  }

  vectorDb(req: VectorDbRequest): VectorDbEndpoint {
    return vectorDbFor(req, this.host, () => {
      const key = this.host.generatedSecret("qdrant-api-key", 40);
      const synced = this.syncSecret("qdrant-api-key", [["api-key", key]]);
      this.runtimeCalls(
        WORKLOADS.qdrant,
        QDRANT_CLIENT_PORTS,
        "vector search, upserts and deletes",
        "vectors",
      );
      this.flows.calls(
        WORKLOADS.qdrant,
        WORKLOADS.qdrant,
        [QDRANT_PEER_PORT],
        "Raft between Qdrant peers",
      );
      const qdrant = new QdrantCluster(
        `${this.site.prefix}-qdrant`,
        {
          namespace: this.namespace.name,
          chart: CHARTS.qdrant,
          replicas: req.replicas,
          storageGiB: req.storageGiB,
          storageClassName: this.host.storageClassName,
          apiKey: { secretName: synced.secretName, key: "api-key" },
          apiKeyRef: key,
          collection: req.collection,
          clientLabels: this.flows.clientLabelsOf(WORKLOADS.qdrant, QDRANT_CLIENT_PORTS),
          resourceNamePrefix: this.site.namePrefix,
          priorityClassName: this.priority("serving"),
        },
        this.onCluster(),
      );
      return qdrant.endpoint;
    });
  }

  llm(req: LlmRequest): LlmEndpoint {
    return llmFor(req, this.host, () => this.modelServers(req));
  }

  /** The model servers on the GPU pool: vLLM with a text-embeddings server beside it, or Ollama for both. */
  private modelServers(req: LlmRequest): LlmEndpoint {
    const prefix = this.site.prefix;
    // The Kafka roles embed, never generate: completions are the API's (and the BullMQ worker's
    // rows as they were).
    const common = (server: MeshWorkload, port: number, what: string, uses: ServerUse) => {
      this.runtimeCalls(server, [port], what, uses);
      return {
        namespace: this.namespace.name,
        clientLabels: this.flows.clientLabelsOf(server, [port]),
        priorityClassName: this.priority("serving"),
      };
    };
    const fromHub = (server: MeshWorkload) =>
      this.internet(server, "model-download", "model weights (Hugging Face, Ollama's registry)");
    switch (req.server) {
      case "vllm": {
        const weights = this.modelWeights(req, req.model, {
          workload: WORKLOADS.vllm,
          serviceAccount: VLLM_SERVICE_ACCOUNT,
          reader: "vllm-model-reader",
          gated: true,
        });
        this.scrapedBy(WORKLOADS.vllm, VLLM_PORT);
        this.ops.warmupFlow(WORKLOADS.vllm, VLLM_PORT);
        // After every caller's flow: its clients are read from the table.
        const served = common(WORKLOADS.vllm, VLLM_PORT, "completions", "generation");
        const vllm = new VllmServer(
          `${prefix}-vllm`,
          {
            ...served,
            ...weights,
            weights: weights.weights!,
            image: K8S_IMAGES.vllm,
            model: req.model,
            gpuCount: req.gpuCount,
            size: GPU_SERVER_SIZE,
            replicas: this.host.modelServerReplicas,
            storageClassName: this.host.storageClassName,
            metricsScrapedBy: this.ops.modelScrapers(this.scraperPeer()),
          },
          this.onCluster(),
        );
        this.scrapedBy(WORKLOADS.embeddings, EMBEDDINGS_METRICS_PORT);
        const embeddings = new EmbeddingServer(
          `${prefix}-embeddings`,
          {
            ...common(WORKLOADS.embeddings, EMBEDDINGS_PORT, "embeddings", "embeddings"),
            ...this.modelWeights(req, req.embeddingModel, {
              workload: WORKLOADS.embeddings,
              serviceAccount: EMBEDDINGS_SERVICE_ACCOUNT,
              reader: "embeddings-model-reader",
              gated: false,
            }),
            image: K8S_IMAGES.textEmbeddingsInference,
            model: req.embeddingModel,
            replicas: 2,
            size: { cpuMillicores: 1000, memoryMiB: 2048 },
            metricsScrapedBy: this.ops.modelScrapers(this.scraperPeer()),
          },
          this.onCluster(),
        );
        this.ops.modelBlueGreen(this.namespace.name, req.model, [vllm]);
        return {
          ...vllm.endpoint,
          embeddingProvider: "openai",
          embeddingBaseUrl: embeddings.baseUrl,
          embeddingModel: embeddings.model,
        };
      }
      case "ollama": {
        const ollama = new OllamaServer(
          `${prefix}-ollama`,
          {
            ...common(WORKLOADS.ollama, OLLAMA_PORT, "completions and embeddings", "embeddings"),
            downloadEgress: fromHub(WORKLOADS.ollama),
            image: K8S_IMAGES.ollama,
            model: req.model,
            embeddingModel: req.embeddingModel,
            gpuCount: req.gpuCount,
            size: GPU_SERVER_SIZE,
            storageClassName: this.host.storageClassName,
          },
          this.onCluster(),
        );
        return ollama.endpoint;
      }
      default: {
        const unreachable: never = req.server;
        throw new Error(`unknown LLM server ${String(unreachable)}`);
      }
    }
  }

  /**
   * A model server's weights: the public hub under the model's id, a private repository at a
   * pinned commit (with the Hugging Face token as a file), or a copy of the organisation's S3
   * prefix made with the server's own identity; the flows out of the cluster each needs, and only
   * those. A `gated` server takes the token from the hub even without a source (vLLM: Llama's
   * weights are gated); the others reach the public hub without one.
   */
  private modelWeights(
    req: LlmRequest,
    model: string,
    server: { workload: MeshWorkload; serviceAccount: string; reader: string; gated: boolean },
  ): {
    weights?: ModelWeights;
    serviceAccountAnnotations?: Record<string, pulumi.Input<string>>;
    downloadEgress: CidrEgress[];
  } {
    const text = req.modelSources?.[model];
    const source = text === undefined ? undefined : parseModelSource(text);
    if (source && "error" in source) throw new Error(`llm.modelSources.${model}: ${source.error}`);
    const egress = () => egressOf(this.flows, server.workload).egressToCidrs;
    if (source?.kind === "s3") {
      if (!this.host.bindModelReader)
        throw new Error(
          `KubernetesPlatform: this cluster host reads no s3:// model source (${text})`,
        );
      const reader = this.host.bindModelReader({
        name: server.reader,
        namespace: KUBERNETES_NAMESPACE,
        serviceAccount: server.serviceAccount,
        source,
        kmsKeyArn: req.modelSourceKmsKeyArn,
      });
      for (const e of reader.egress)
        this.flows.add({
          from: { kind: "workload", workload: server.workload },
          to: {
            kind: "cidr",
            cidr: e.cidr,
            ...(e.except ? { except: e.except } : {}),
            ...(e.cidr === ANYWHERE ? { internet: "cloud-apis" as const } : {}),
          },
          ports: e.ports,
          protocol: "TCP",
          purpose: `model weights from ${text} (the store, and the identity reading it)`,
        });
      return {
        weights: { kind: "fetched", image: reader.image, command: reader.command, from: text! },
        serviceAccountAnnotations: reader.serviceAccountAnnotations,
        downloadEgress: egress(),
      };
    }
    this.internet(
      server.workload,
      "model-download",
      source ? `model weights (Hugging Face, ${source.repo})` : "model weights (Hugging Face)",
    );
    if (!source && !server.gated) return { downloadEgress: egress() };
    return {
      weights: {
        kind: "hub",
        token: { secretName: this.huggingFaceToken(req).secretName, key: "token" },
        ...(source ? { repo: source.repo, revision: source.revision } : {}),
      },
      downloadEgress: egress(),
    };
  }

  /**
   * The Hugging Face token the operator fills, synced once for every server that reads the hub
   * with it: vLLM's gated model, and each private repository a model source names.
   */
  private huggingFaceToken(req: LlmRequest): SyncedSecret {
    if (this.hfToken) return this.hfToken;
    const repos = Object.values(req.modelSources ?? {})
      .map(parseModelSource)
      .flatMap((s) => ("kind" in s && s.kind === "huggingface" ? [s.repo] : []));
    const reads = [
      ...(req.server === "vllm" && !req.modelSources?.[req.model] ? ["the gated model"] : []),
      ...repos,
    ];
    const token = this.operatorKey(
      "huggingface-token",
      `Hugging Face token (read access to ${reads.join(" and ")})`,
    );
    this.hfToken = this.syncSecret("huggingface-token", [["token", token]]);
    return this.hfToken;
  }

  runtimeServices(req: RuntimeServicesRequest): ApiEndpoint {
    const redis = this.redisEndpoint;
    if (!redis)
      throw new Error("KubernetesPlatform: redis() must be created before runtimeServices()");
    const bus = this.host.ingestBus?.();
    // On a Kafka bus the API only produces: its region's brokers, before the host's identity
    // reads the env (a region that forwards its uploads says so).
    const apiEnv = bus
      ? {
          ...req.env,
          plain: {
            ...req.env.plain,
            ...kafkaEnvironment(bus.endpoint, this.cfg.enterprise.ingest.partitions),
          },
        }
      : req.env;
    const identity = this.host.bindRuntimeIdentity({
      namespace: KUBERNETES_NAMESPACE,
      serviceAccount: RUNTIME_SERVICE_ACCOUNT,
      env: apiEnv,
      after: [this.namespace],
      priorityClassName: this.priority("serving"),
    });
    // Files beside the secrets (a managed service's CA) are keys of the same Secret, named by variable.
    const files = this.host.runtimeFiles?.() ?? [];
    const runtimeSecret = this.syncSecret("rag-runtime", [
      ...secretEntries(identity.env),
      ...files.map((f): [string, SecretRef] => [f.variable, f.ref]),
    ]);
    const otlp = this.addons.otlpEndpoint;
    const scraper = this.scraperPeer();
    const network = this.host.networkCidr;
    const ingress = this.host.ingress;
    // The load balancer adds the client's address to X-Forwarded-For: believe it only from the network.
    const proxies = ingress.proxyCidrs ?? [];
    const env = {
      ...identity.env,
      plain: {
        ...identity.env.plain,
        ...Object.fromEntries(files.map((f) => [f.variable, `${SECRETS_DIR}/${f.variable}`])),
        [ENV.trustProxy]: proxies.length
          ? pulumi.all([network, ...proxies]).apply((cidrs) => cidrs.join(","))
          : network,
        ...(otlp ? { [ENV.otlpEndpoint]: otlp } : {}),
      },
    };
    const redisCa = files.find((f) => f.variable === ENV.redisTlsCaFile);
    this.runtimeFlows(ingress.sources, otlp !== undefined, bus);
    // The API and the worker call the same services: the API's rows say where.
    const calls = egressOf(this.flows, WORKLOADS.api);
    const workloads = new RuntimeWorkloads(
      `${this.site.prefix}-runtime`,
      {
        namespace: this.namespace.name,
        image: this.host.runtimeImage(),
        env,
        secretName: runtimeSecret.secretName,
        api: req.api,
        ...(bus ? {} : { worker: req.worker }),
        ingress:
          ingress.kind === "ingress"
            ? {
                className: ingress.className,
                host: ingress.anyHost ? undefined : this.cfg.domain.hostname,
                annotations: ingress.annotations(),
              }
            : undefined,
        apiKeepAliveSeconds: ingress.upstreamIdleSeconds && ingress.upstreamIdleSeconds + 20,
        apiIngressFrom: this.flows.networkPeersInto(WORKLOADS.api),
        callsPods: calls.egressToPods,
        callsCidrs: calls.egressToCidrs,
        callsPeers: calls.egressToPeers,
        ...(bus
          ? {}
          : {
              queue: {
                redisAddress: pulumi.interpolate`${redis.host}:${redis.port}`,
                tls: redis.tls,
                listName: bullmqWaitList(DEFAULT_QUEUE_NAME),
                targetDepthPerReplica: QUEUE_DEPTH_PER_WORKER,
                tlsAuth: redisCa && this.queueTlsAuth(redisCa.ref),
              },
            }),
        serviceAccountAnnotations: identity.serviceAccountAnnotations,
        podLabels: identity.podLabels,
        metricsScrapedBy: scraper && {
          peer: scraper,
          serviceAccount: { name: METRICS_SCRAPER.serviceAccount, namespace: TELEMETRY_NAMESPACE },
        },
        ...(this.ops.prometheusPeers.length
          ? { metricsAlsoScrapedBy: this.ops.prometheusPeers }
          : {}),
        ...(this.ops.releasesWithRollouts
          ? {
              apiReleasedBy: "rollout" as const,
              ...(ingress.kind === "ingress" && ingress.canaryRouter
                ? { apiCanaryRouter: ingress.canaryRouter }
                : {}),
            }
          : {}),
        priorityClassName: this.priority("serving"),
      },
      // The Ingress needs the controller's webhook, the scaler KEDA's CRDs.
      { ...this.onCluster(), dependsOn: [...ingress.ready, this.addons.keda] },
    );
    if (bus)
      kafkaIngest(
        `${this.site.prefix}-ingest`,
        {
          cfg: this.cfg,
          bus,
          flows: this.flows,
          namespace: this.namespace.name,
          image: this.host.runtimeImage(),
          env: req.env,
          secretName: runtimeSecret.secretName,
          fileKeys: files.map((f) => f.variable),
          metricsScrapedBy: [...(scraper ? [scraper] : []), ...this.ops.prometheusPeers],
          priorityClassName: this.priority("batch"),
        },
        // The scalers need KEDA's CRDs.
        { ...this.onCluster(), dependsOn: [this.addons.keda] },
      );
    this.ops.apiCanary(this.namespace.name, workloads.apiCanaryRoute, [workloads]);
    return exposedApi(ingress, workloads, this.namespace.name, this.cfg.domain);
  }

  /**
   * The API calls `to` on `ports`, and so does what ingests and uses what `to` serves: the BullMQ
   * worker everything; on the Kafka bus, the vector store only the roles that open the catalogue,
   * an embedding server only the roles that embed (runtime/src/kafka/stage-services.ts), a
   * generation server none.
   */
  private runtimeCalls(
    to: MeshWorkload,
    ports: readonly number[],
    purpose: string,
    uses: ServerUse,
  ): void {
    for (const from of [WORKLOADS.api, ...this.ingestClientsUsing(uses)])
      this.flows.calls(from, to, ports, purpose);
  }

  private ingestClientsUsing(uses: ServerUse): MeshWorkload[] {
    if (!this.host.ingestBus) return [WORKLOADS.worker];
    switch (uses) {
      case "vectors":
        return CATALOGUE_ROLES.map((role) => INGEST_WORKLOADS[role]);
      case "embeddings":
        return EMBEDDING_ROLES.map((role) => INGEST_WORKLOADS[role]);
      case "generation":
        return [];
      default: {
        const unknown: never = uses;
        throw new Error(`unknown server use ${String(unknown)}`);
      }
    }
  }

  /** `w` reaches the internet on HTTPS, for `why`; the egress as its NetworkPolicy takes it. */
  private internet(
    w: MeshWorkload,
    purpose: "model-download" | "telemetry-backend",
    why: string,
  ): CidrEgress {
    this.flows.add({
      from: { kind: "workload", workload: w },
      to: { kind: "cidr", cidr: ANYWHERE, internet: purpose },
      ports: [443],
      protocol: "TCP",
      purpose: why,
    });
    return egressOf(this.flows, w).egressToCidrs.at(-1)!;
  }

  /** The metrics scraper reads `w`'s /metrics on `port`, when there is one. */
  private scrapedBy(w: MeshWorkload, port: number): void {
    if (this.scraperPeer()) this.flows.calls(WORKLOADS.scraper, w, [port], "Prometheus metrics");
    this.ops.scrapedByPrometheus(w, port);
  }

  /**
   * The runtime's flows: the load balancer in, the managed services, cloud APIs and the pod
   * identity agent out (as the host lists them), the collector, and the scraper's reads.
   */
  private runtimeFlows(loadBalancer: Peer[], toCollector: boolean, bus?: ClusterIngestBus): void {
    // The mesh knows plain-text callers by address: the peers given as address blocks.
    const cidrs = loadBalancer.flatMap((p) => {
      const block = p.ipBlock as k8s.types.input.networking.v1.IPBlock | undefined;
      return block ? [block.cidr] : [];
    });
    this.flows.add({
      from: { kind: "network", what: "load balancer", peers: loadBalancer, cidrs },
      to: { kind: "workload", workload: WORKLOADS.api },
      ports: [RUNTIME_PROCESSES.api.port],
      protocol: "TCP",
      purpose: "client requests",
    });
    if (bus) this.flows.reaches(WORKLOADS.api, bus.brokers, "document events to the ingest log");
    for (const from of [WORKLOADS.api, ...this.ingestClients]) {
      const role = bus && INGEST_ROLES.find((r) => INGEST_WORKLOADS[r] === from);
      const purpose = !role
        ? "managed data services, cloud APIs, hosted models"
        : CATALOGUE_ROLES.includes(role)
          ? "the ingest log, the catalogue, the object store and cloud APIs"
          : "the ingest log, the object store and cloud APIs";
      for (const e of role ? bus.roleEgress(role) : this.host.runtimeEgress())
        this.flows.reaches(from, e, purpose, "cloud-apis");
      if (toCollector)
        this.flows.calls(from, WORKLOADS.collector, [OTLP_HTTP_PORT], "traces, metrics and logs");
    }
    this.scrapedBy(WORKLOADS.api, RUNTIME_PROCESSES.api.metricsPort);
    for (const w of this.ingestClients) this.scrapedBy(w, RUNTIME_PROCESSES.worker.port);
  }

  /**
   * KEDA's way to Redis's own CA: a Secret of the CA and the "enable" its TLS authentication asks
   * for (no Secret Manager value holds that word: the template writes it).
   */
  private queueTlsAuth(ca: SecretRef): {
    secretName: pulumi.Output<string>;
    tlsKey: string;
    caKey: string;
  } {
    const store = this.host.secretStore;
    const [remote] = store.grantRead("rag-queue-tls", [ca]);
    const synced = new SyncedSecret(
      siteName(this.site, "rag-queue-tls"),
      {
        namespace: this.namespace.name,
        secretName: "rag-queue-tls",
        storeName: store.name,
        keys: [{ secretKey: "ca", ...remote! }],
        template: { type: "Opaque", data: { tls: "enable", ca: "{{ .ca }}" } },
      },
      { ...this.onCluster(), dependsOn: store.ready },
    );
    return { secretName: synced.secretName, tlsKey: "tls", caKey: "ca" };
  }

  /**
   * The workloads' telemetry goes to the OpenTelemetry backend (the collector came with the
   * cluster add-ons), which alerts on it; the host watches what its cloud runs (the data stores).
   */
  observability(req: ObservabilityRequest): void {
    this.host.observeDataServices(req);
    this.ops.finish(
      (name, description) => this.collectorKey(name, description),
      this.addons.otlpEndpoint !== undefined,
      this.addons.argoCd,
    );
  }

  accessOutputs(): Record<string, pulumi.Input<unknown>> {
    return {
      ...this.host.accessOutputs(),
      namespace: this.namespace.name,
      // After a change of embedding model (the pods refuse the old index): scale api and worker to 0, run this, scale back.
      reembedJob: pulumi
        .output(this.namespace.name)
        .apply((ns) => reembedJobCommand(ns, this.host.ingestBus ? "rag-ingest-index" : undefined)),
      argoCd: this.addons.argoCd
        ? "kubectl -n argocd port-forward svc/argo-cd-argocd-server 8443:443"
        : undefined,
    };
  }
}
