/**
 * The Docker platform: the dev tier's capabilities as local containers on one private network
 * (the docker-compose shape), and with dev.tools the tools beside them: RedisInsight, Prometheus
 * and Grafana. Everything binds to 127.0.0.1.
 */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type {
  ApiEndpoint,
  LlmEndpoint,
  ObjectStore,
  PostgresEndpoint,
  RedisEndpoint,
  SecretRef,
  VectorDbEndpoint,
} from "../../components/contracts";
import { GRAFANA_ADMIN_USER, LocalGrafana } from "../../components/docker/grafana";
import { namedVolume } from "../../components/docker/local-container";
import { LocalNetwork } from "../../components/docker/network";
import { LocalOllama } from "../../components/docker/ollama";
import { LocalPostgres } from "../../components/docker/postgres";
import { LocalPrometheus } from "../../components/docker/prometheus";
import { LocalQdrant } from "../../components/docker/qdrant";
import { LocalRedis } from "../../components/docker/redis";
import { LocalRedisInsight } from "../../components/docker/redis-insight";
import { LocalRuntimeServices } from "../../components/docker/runtime-services";
import { RAG_DASHBOARD_FILE, ragDashboard } from "../../components/shared/rag-dashboard";
import type { PlatformConfig } from "../config";
import type { RegionSite } from "../regions";
import { BUILD_CONTEXT } from "../source-hash";
import { IMAGES } from "../versions";
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

const DOCUMENTS_PATH = "/data/documents";

export class DockerPlatform implements Platform {
  private readonly network: LocalNetwork;
  private documentsVolume?: docker.Volume;
  private runtime?: LocalRuntimeServices;
  private readonly access: Record<string, pulumi.Input<unknown>> = {};

  private readonly prefix: string;

  constructor(
    private readonly cfg: PlatformConfig,
    site: RegionSite,
  ) {
    const prefix = site.prefix;
    this.prefix = prefix;
    this.network = new LocalNetwork(`${prefix}-net`);
  }

  generatedSecret(name: string, length: number): SecretRef {
    const secret = new random.RandomPassword(`${this.prefix}-${name}`, { length, special: false });
    return { kind: "generated", value: pulumi.secret(secret.result) };
  }

  /** Locally there is no secret manager: third-party secrets stay out of the dev tier. */
  externalSecret(_name: string, _description: string): SecretRef | undefined {
    return undefined;
  }

  postgres(req: PostgresRequest): PostgresEndpoint {
    const port = this.cfg.dev.hostPorts.postgres;
    const pg = new LocalPostgres(`${this.prefix}-postgres`, {
      network: this.network,
      image: IMAGES.postgres,
      databaseName: req.databaseName,
      hostPort: port,
    });
    this.access.postgres = {
      url: pulumi.interpolate`postgresql://${pg.endpoint.username}@127.0.0.1:${port}/${pg.endpoint.database}`,
      password: "pulumi stack output postgresPassword --show-secrets",
    };
    this.access.postgresPassword = pg.password;
    return pg.endpoint;
  }

  redis(_req: RedisRequest): RedisEndpoint {
    const port = this.cfg.dev.hostPorts.redis;
    const redis = new LocalRedis(`${this.prefix}-redis`, {
      network: this.network,
      image: IMAGES.redis,
      hostPort: port,
    });
    this.access.redis = {
      url: `redis://127.0.0.1:${port}`,
      password: "pulumi stack output redisPassword --show-secrets",
      insight: `redis-cli -h 127.0.0.1 -p ${port} --askpass`,
    };
    this.access.redisPassword = redis.password;
    if (this.cfg.dev.tools) {
      const insight = new LocalRedisInsight(`${this.prefix}-redisinsight`, {
        network: this.network,
        image: IMAGES.redisInsight,
        redis,
        hostPort: this.cfg.dev.hostPorts.redisInsight,
      });
      this.access.redisInsight = { url: insight.url };
    }
    return redis.endpoint;
  }

  vectorDb(req: VectorDbRequest): VectorDbEndpoint {
    switch (req.mode) {
      case "pgvector":
        return { kind: "pgvector" };
      case "qdrant": {
        const port = this.cfg.dev.hostPorts.qdrant;
        const qdrant = new LocalQdrant(`${this.prefix}-qdrant`, {
          network: this.network,
          image: IMAGES.qdrant,
          collection: req.collection,
          hostPort: port,
        });
        this.access.qdrant = {
          url: `http://127.0.0.1:${port}`,
          dashboard: `http://127.0.0.1:${port}/dashboard`,
          apiKey: "pulumi stack output qdrantApiKey --show-secrets",
        };
        this.access.qdrantApiKey = qdrant.apiKey;
        return qdrant.endpoint;
      }
      case "qdrant-cloud":
        throw new Error(
          "the Docker platform runs Qdrant locally; the config schema refuses qdrant-cloud on docker",
        );
      default: {
        const unreachable: never = req.mode;
        throw new Error(`unknown vector DB mode ${String(unreachable)}`);
      }
    }
  }

  objectStore(_req: ObjectStoreRequest): ObjectStore {
    this.documentsVolume = namedVolume(`${this.prefix}-documents`, {});
    return {
      url: pulumi.output(`file://${DOCUMENTS_PATH}`),
      resourceId: this.documentsVolume.name,
    };
  }

  llm(req: LlmRequest): LlmEndpoint {
    const port = this.cfg.dev.hostPorts.ollama;
    const ollama = new LocalOllama(`${this.prefix}-ollama`, {
      network: this.network,
      image: IMAGES.ollama,
      model: req.model,
      embeddingModel: req.embeddingModel,
      gpu: this.cfg.dev.gpu,
      hostPort: port,
    });
    this.access.ollama = {
      url: `http://127.0.0.1:${port}`,
      models: [req.model, req.embeddingModel],
      firstStart: `docker logs -f ${this.prefix}-ollama   # the first start pulls the models`,
    };
    return ollama.endpoint;
  }

  runtimeServices(req: RuntimeServicesRequest): ApiEndpoint {
    if (!this.documentsVolume)
      throw new Error("DockerPlatform: objectStore() must be created before runtimeServices()");
    this.runtime = new LocalRuntimeServices(`${this.prefix}-runtime`, {
      network: this.network,
      env: req.env,
      documentsVolumeName: this.documentsVolume.name,
      documentsPath: DOCUMENTS_PATH,
      apiHostPort: this.cfg.dev.hostPorts.api,
      buildContext: BUILD_CONTEXT,
    });
    return this.runtime.api;
  }

  /**
   * Locally the runtime's own /metrics and OTLP export (when configured) are the observability;
   * with dev.tools Prometheus reads the /metrics and Grafana shows the Kubernetes tiers' dashboard.
   */
  observability(req: ObservabilityRequest): void {
    if (req.exporter !== "none" && req.exporter !== "otlp") {
      throw new Error(
        `the Docker platform does not run a ${req.exporter} exporter; the config schema allows none or otlp on docker`,
      );
    }
    if (!this.cfg.dev.tools) return;
    if (!this.runtime)
      throw new Error("DockerPlatform: runtimeServices() must be created before observability()");
    const ports = this.cfg.dev.hostPorts;
    const prometheus = new LocalPrometheus(`${this.prefix}-prometheus`, {
      network: this.network,
      image: IMAGES.prometheus,
      targets: this.runtime.metricsTargets,
      namespaceLabel: this.prefix,
      hostPort: ports.prometheus,
    });
    const grafana = new LocalGrafana(`${this.prefix}-grafana`, {
      network: this.network,
      image: IMAGES.grafana,
      prometheus,
      dashboards: [{ fileName: RAG_DASHBOARD_FILE, model: ragDashboard(this.prefix) }],
      hostPort: ports.grafana,
    });
    this.access.prometheus = { url: prometheus.url, targets: `${prometheus.url}/targets` };
    this.access.grafana = {
      url: grafana.url,
      user: GRAFANA_ADMIN_USER,
      password: "pulumi stack output grafanaAdminPassword --show-secrets",
    };
    this.access.grafanaAdminPassword = grafana.adminPassword;
  }

  accessOutputs(): Record<string, pulumi.Input<unknown>> {
    return { ...this.access };
  }
}
