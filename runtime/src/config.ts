/**
 * The runtime's environment contract: every variable the service reads, declared once.
 *
 * The IaC (stacks/, components/) imports `ENV` and `SECRET_ENV` from this file, so a renamed
 * variable is a compile error on both sides instead of a silent misconfiguration.
 *
 * Secrets: every variable in `SECRET_ENV` may instead be given as `<NAME>_FILE`, the path of a
 * file holding the value (Docker uploads, mounted Kubernetes secrets). Platforms that inject
 * secrets as env values do so only through secret references (ECS `secrets`, Container Apps
 * `secretRef`, Kubernetes `secretKeyRef`), never as plain values.
 */
import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { z } from "zod";
import { DEFAULT_PARSE_LIMITS, PARSE_MIN_MEMORY_MB } from "./ingest/parse-limits";
import { PII_ENTITIES, type PiiEntity } from "./ingest/pii";

/** The ingest queue's name when QUEUE_NAME is not set (the IaC leaves it so, and scales on it). */
export const DEFAULT_QUEUE_NAME = "ingest";

export const ENV = {
  host: "HOST",
  port: "PORT",
  logLevel: "LOG_LEVEL",
  serviceName: "SERVICE_NAME",
  dataDir: "DATA_DIR",
  dataDirLockStaleSeconds: "DATA_DIR_LOCK_STALE_SECONDS",
  workerHealthPort: "WORKER_HEALTH_PORT",
  metricsPort: "METRICS_PORT",
  workerConcurrency: "WORKER_CONCURRENCY",
  ingestAttempts: "INGEST_ATTEMPTS",
  queueLockMs: "QUEUE_LOCK_MS",
  startupTimeoutSeconds: "STARTUP_TIMEOUT_SECONDS",
  shutdownTimeoutSeconds: "SHUTDOWN_TIMEOUT_SECONDS",
  httpKeepAliveSeconds: "HTTP_KEEP_ALIVE_SECONDS",
  cloudwatchMetricsNamespace: "CLOUDWATCH_METRICS_NAMESPACE",

  databaseUrl: "DATABASE_URL",
  pgHost: "PGHOST",
  pgPort: "PGPORT",
  pgDatabase: "PGDATABASE",
  pgUser: "PGUSER",
  pgPassword: "PGPASSWORD",
  pgPasswordSecretArn: "PGPASSWORD_SECRET_ARN",
  pgSslMode: "PGSSLMODE",
  pgSslRootCert: "PGSSLROOTCERT",
  pgConnectTimeout: "PGCONNECT_TIMEOUT",
  databaseAuth: "DATABASE_AUTH",
  databaseAwsRegion: "DATABASE_AWS_REGION",
  requirePgvector: "REQUIRE_PGVECTOR",

  redisUrl: "REDIS_URL",
  redisHost: "REDIS_HOST",
  redisPort: "REDIS_PORT",
  redisPassword: "REDIS_PASSWORD",
  redisTls: "REDIS_TLS",
  redisTlsCaFile: "REDIS_TLS_CA_FILE",
  queueName: "QUEUE_NAME",
  ingestBus: "INGEST_BUS",
  workerRole: "WORKER_ROLE",
  kafkaBrokers: "KAFKA_BROKERS",
  kafkaTopicPrefix: "KAFKA_TOPIC_PREFIX",
  kafkaPartitions: "KAFKA_PARTITIONS",
  kafkaReplicationFactor: "KAFKA_REPLICATION_FACTOR",
  kafkaGroupPrefix: "KAFKA_GROUP_PREFIX",
  kafkaCatalogue: "KAFKA_CATALOGUE",
  kafkaSessionTimeoutMs: "KAFKA_SESSION_TIMEOUT_MS",
  kafkaTls: "KAFKA_TLS",
  kafkaTlsCaFile: "KAFKA_TLS_CA_FILE",
  kafkaAuth: "KAFKA_AUTH",
  kafkaUsername: "KAFKA_USERNAME",
  kafkaPassword: "KAFKA_PASSWORD",
  kafkaAwsRegion: "KAFKA_AWS_REGION",
  kafkaForward: "KAFKA_FORWARD",

  objectStoreUrl: "OBJECT_STORE_URL",
  objectStoreReplicaUrl: "OBJECT_STORE_REPLICA_URL",
  orphanGraceMinutes: "ORPHAN_GRACE_MINUTES",
  azureClientId: "AZURE_CLIENT_ID",
  maxUploadBytes: "MAX_UPLOAD_BYTES",
  webUi: "WEB_UI",
  publicUrl: "PUBLIC_URL",
  trustProxy: "TRUST_PROXY",
  allowedHosts: "ALLOWED_HOSTS",
  rateLimitPerMinute: "RATE_LIMIT_PER_MINUTE",

  searchBackend: "SEARCH_BACKEND",
  tenantId: "TENANT_ID",
  vectorStore: "VECTOR_STORE",
  vectorIndex: "VECTOR_INDEX",
  qdrantUrl: "QDRANT_URL",
  qdrantApiKey: "QDRANT_API_KEY",
  qdrantCollection: "QDRANT_COLLECTION",
  qdrantReplicationFactor: "QDRANT_REPLICATION_FACTOR",
  qdrantShards: "QDRANT_SHARDS",
  qdrantWriteConsistency: "QDRANT_WRITE_CONSISTENCY",

  embeddingProvider: "EMBEDDING_PROVIDER",
  embeddingModel: "EMBEDDING_MODEL",
  embeddingBaseUrl: "EMBEDDING_BASE_URL",
  embeddingApiKey: "EMBEDDING_API_KEY",
  embeddingDimensions: "EMBEDDING_DIMENSIONS",
  embeddingTimeoutSeconds: "EMBEDDING_TIMEOUT_SECONDS",

  llmProvider: "LLM_PROVIDER",
  llmModel: "LLM_MODEL",
  llmBaseUrl: "LLM_BASE_URL",
  llmApiKey: "LLM_API_KEY",
  llmTimeoutSeconds: "LLM_TIMEOUT_SECONDS",
  modelRoutes: "MODEL_ROUTES",

  fusionBm25Weight: "FUSION_BM25_WEIGHT",
  bm25Memory: "BM25_MEMORY",
  fusionVectorWeight: "FUSION_VECTOR_WEIGHT",
  rerankUrl: "RERANK_URL",
  rerankApiKey: "RERANK_API_KEY",

  chunkSizeTokens: "CHUNK_SIZE_TOKENS",
  chunkOverlapTokens: "CHUNK_OVERLAP_TOKENS",
  parseMaxPages: "PARSE_MAX_PAGES",
  parseMaxChars: "PARSE_MAX_CHARS",
  parseMaxDecompressedMb: "PARSE_MAX_DECOMPRESSED_MB",
  parseMaxMemoryMb: "PARSE_MAX_MEMORY_MB",
  parseTimeoutSeconds: "PARSE_TIMEOUT_SECONDS",

  adminApiKey: "ADMIN_API_KEY",
  oidcIssuerUrl: "OIDC_ISSUER_URL",
  oidcClientId: "OIDC_CLIENT_ID",
  oidcClientSecret: "OIDC_CLIENT_SECRET",
  oidcAudience: "OIDC_AUDIENCE",
  oidcScopes: "OIDC_SCOPES",
  sessionTtlSeconds: "SESSION_TTL_SECONDS",
  sessionCheckSeconds: "SESSION_CHECK_SECONDS",
  sessionIdleSeconds: "SESSION_IDLE_SECONDS",
  oidcClearanceClaim: "OIDC_CLEARANCE_CLAIM",
  oidcGroupsClaim: "OIDC_GROUPS_CLAIM",

  classificationLabels: "CLASSIFICATION_LABELS",
  classificationDefault: "CLASSIFICATION_DEFAULT",
  piiDetect: "PII_DETECT",
  piiEntities: "PII_ENTITIES",
  piiRedact: "PII_REDACT",
  piiRaiseTo: "PII_RAISE_TO",

  otlpEndpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",

  retentionDaysByCollection: "RETENTION_DAYS_BY_COLLECTION",
  retentionDaysByLabel: "RETENTION_DAYS_BY_LABEL",
  purgeIntervalMinutes: "PURGE_INTERVAL_MINUTES",

  auditLogFile: "AUDIT_LOG_FILE",
  auditIncludeQuestion: "AUDIT_INCLUDE_QUESTION",
  auditKafkaTopic: "AUDIT_KAFKA_TOPIC",
} as const;

export type EnvKey = keyof typeof ENV;
export type EnvName = (typeof ENV)[EnvKey];

/** Variables that hold credentials: never logged, never a plain env value in a deployment. */
export const SECRET_ENV = [
  ENV.databaseUrl,
  ENV.pgPassword,
  ENV.redisUrl,
  ENV.redisPassword,
  ENV.kafkaPassword,
  ENV.qdrantApiKey,
  ENV.embeddingApiKey,
  ENV.llmApiKey,
  ENV.rerankApiKey,
  ENV.adminApiKey,
  ENV.oidcClientSecret,
] as const satisfies readonly EnvName[];

export type SecretEnvName = (typeof SECRET_ENV)[number];

/** The suffix that turns a secret variable into "read the value from this file". */
export const FILE_SUFFIX = "_FILE";
/** PGPASSWORD's file, read again for every new connection: a rotated password reaches running processes. */
export const PG_PASSWORD_FILE = `${ENV.pgPassword}${FILE_SUFFIX}` as const;

/** Where retrieval runs: BM25 in PostgreSQL beside VECTOR_STORE's vectors, or both halves in Qdrant. */
export const SEARCH_BACKENDS = ["postgres", "qdrant"] as const;
export const VECTOR_STORES = ["pgvector", "qdrant"] as const;
/** pgvector's access path: an HNSW index, or an exact scan with pgvector's own distance (no index). */
export const VECTOR_INDEXES = ["hnsw", "exact"] as const;
export const EMBEDDING_PROVIDERS = ["local", "ollama", "openai"] as const;
export const LLM_PROVIDERS = ["extractive", "ollama", "openai", "anthropic"] as const;
/** The classification labels when CLASSIFICATION_LABELS is not set, lowest first. */
export const DEFAULT_CLASSIFICATION_LABELS = ["public", "internal", "confidential", "restricted"];
/** What a label may look like: a lower-case word (letters, digits, - and _). */
export const LABEL_PATTERN = /^[a-z][a-z0-9_-]{0,49}$/;
export const PG_SSL_MODES = ["disable", "prefer", "require", "verify-ca", "verify-full"] as const;
/** How the runtime signs in to PostgreSQL: a password, or an RDS IAM token signed for each new connection. */
export const DATABASE_AUTH_MODES = ["password", "aws-rds-iam"] as const;
/** The TLS modes an IAM token may travel over: the server's certificate checked. */
const VERIFIED_SSL_MODES: readonly string[] = ["verify-ca", "verify-full"];
/** How ingest work travels: BullMQ on Redis (in-process without Redis), or Kafka topics. */
export const INGEST_BUSES = ["bullmq", "kafka"] as const;
/** What a worker process does on the Kafka bus: one stage, or all three. */
export const WORKER_ROLES = ["parse", "embed", "index", "all"] as const;
/** Whose documents table the index role writes: the API's (this region's API), or one built from the log. */
export const KAFKA_CATALOGUES = ["api", "log"] as const;
export const KAFKA_AUTH_MODES = [
  "none",
  "scram-sha-256",
  "scram-sha-512",
  "plain",
  "aws-msk-iam",
  "azure-event-hubs",
  "gcp-oauth",
] as const;

/** A named model route's name: what a request's `route` gives. */
export const ROUTE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** The route a request that names none takes: LLM_* unless MODEL_ROUTES defines it. */
export const DEFAULT_ROUTE = "default";

/** The non-empty entries of a comma-separated value, trimmed. */
function commaList(value: string): string[] {
  return value
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
}

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const flag = z.enum(["true", "false"]).transform((v) => v === "true");
const url = z.string().url();

/**
 * `name=days,name=days` (retention by collection or label): each name once, each period a whole
 * number of days from 1 to 36 500. Unset or empty: no rule.
 */
const daysByName = z.string().transform((v, ctx) => {
  const days = new Map<string, number>();
  for (const entry of commaList(v)) {
    const match = /^([^=\s][^=]*?)\s*=\s*(\d+)$/.exec(entry);
    const n = match ? Number(match[2]) : NaN;
    if (!match || n < 1 || n > 36_500) {
      ctx.addIssue({
        code: "custom",
        message: `"${entry}" is not name=days (days from 1 to 36500); give rules as name=days separated by commas: contracts=3650,tickets=90`,
      });
      return z.NEVER;
    }
    if (days.has(match[1]!)) {
      ctx.addIssue({
        code: "custom",
        message: `"${match[1]}" is given twice; give each name once`,
      });
      return z.NEVER;
    }
    days.set(match[1]!, n);
  }
  return days;
});

const keyFile = z
  .string()
  .min(1)
  .transform((path, ctx) => {
    try {
      return readFileSync(path, "utf8").trim();
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        message: `cannot read "${path}" (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      });
      return z.NEVER;
    }
  });
const routeModel = z.string().min(1);

/**
 * One model route: a provider and its model. Keys come from files (`apiKeyFile`), never inline;
 * without one, Azure OpenAI signs in with Entra ID, Vertex AI and Bedrock with the workload's
 * identity.
 */
export const modelRouteSchema = z.discriminatedUnion("provider", [
  z.strictObject({ provider: z.literal("extractive") }),
  z.strictObject({ provider: z.literal("ollama"), model: routeModel, baseUrl: url }),
  z.strictObject({
    provider: z.literal("openai"),
    model: routeModel,
    baseUrl: url.optional(),
    apiKeyFile: keyFile.optional(),
  }),
  z.strictObject({
    provider: z.literal("anthropic"),
    model: routeModel,
    baseUrl: url.optional(),
    apiKeyFile: keyFile,
  }),
  z.strictObject({
    provider: z.literal("azure-openai"),
    endpoint: url,
    deployment: z.string().min(1),
    apiVersion: z.string().regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/, "a date: 2024-10-21"),
    apiKeyFile: keyFile.optional(),
  }),
  z.strictObject({
    provider: z.literal("vertex"),
    project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "a GCP project id"),
    location: z.string().regex(/^[a-z0-9-]+$/, "a region such as europe-west4, or global"),
    model: routeModel,
    baseUrl: url.optional(),
  }),
  z.strictObject({
    provider: z.literal("bedrock"),
    model: routeModel,
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "an AWS region such as eu-west-1"),
    endpoint: url.optional(),
  }),
]);
export type ModelRoute = z.infer<typeof modelRouteSchema>;
export type ModelProvider = ModelRoute["provider"];

/** MODEL_ROUTES: a JSON object of route name to route, each problem named by route and field. */
const modelRoutes = z.string().transform((text, ctx) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: "custom", message: "not JSON: give an object of route name to route" });
    return z.NEVER;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    ctx.addIssue({ code: "custom", message: "must be a JSON object of route name to route" });
    return z.NEVER;
  }
  const routes: Record<string, ModelRoute> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (!ROUTE_NAME.test(name)) {
      ctx.addIssue({
        code: "custom",
        message: `route name ${JSON.stringify(name)}: 1 to 32 lowercase letters, digits, - or _`,
      });
      continue;
    }
    const route = modelRouteSchema.safeParse(value);
    if (route.success) routes[name] = route.data;
    else
      for (const issue of route.error.issues)
        ctx.addIssue({
          code: "custom",
          message: `route "${name}": ${issue.path.join(".") || "provider"}: ${issue.message}`,
        });
  }
  return routes;
});

function isAddressOrCidr(value: string): boolean {
  const [address, prefix, extra] = value.split("/");
  if (extra !== undefined || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  return /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** How often indexing a document is tried, by default (INGEST_ATTEMPTS; see queue/queue.ts). */
export const MAX_ATTEMPTS_DEFAULT = 8;

/** How long a starting process waits for its backends, by default (STARTUP_TIMEOUT_SECONDS). */
export const STARTUP_TIMEOUT_DEFAULT_SECONDS = 1200;

/** How long a model server has to start answering, by default (each attempt; see models/fetch.ts). */
export const MODEL_TIMEOUT_DEFAULTS = { llmSeconds: 120, embeddingSeconds: 60 } as const;

export const runtimeConfigSchema = z.object({
  [ENV.host]: z
    .string()
    .min(1)
    .optional()
    .describe("The API's listen address (the containers set 0.0.0.0)."),
  [ENV.port]: port.default(8080).describe("The API's port."),
  [ENV.logLevel]: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace"])
    .default("info")
    .describe("The log level."),
  [ENV.serviceName]: z
    .string()
    .min(1)
    .default("rag-runtime")
    .describe("The service's name in logs, traces and metrics."),
  [ENV.dataDir]: z
    .string()
    .min(1)
    .default("./data")
    .describe(
      "Where embedded mode keeps its database and local objects. One process at a time opens it: a second one is refused until the first stops.",
    ),
  [ENV.dataDirLockStaleSeconds]: z.coerce
    .number()
    .int()
    .min(2)
    .max(3600)
    .default(60)
    .describe(
      "The lock on DATA_DIR is refreshed every sixth of this. One left unrefreshed this long (its process was killed or crashed) is taken over: a restart waits for it.",
    ),
  [ENV.workerHealthPort]: port.default(8081).describe("The worker's /healthz (and /metrics) port."),
  [ENV.metricsPort]: port
    .optional()
    .describe(
      "A port of its own for the API's /metrics and /healthz, so a load balancer in front of PORT cannot expose them. Staging and sme set 8081.",
    ),
  [ENV.workerConcurrency]: positiveInt.default(2).describe("Documents one worker indexes at once."),
  [ENV.ingestAttempts]: z.coerce
    .number()
    .int()
    .min(1)
    .max(20)
    .default(MAX_ATTEMPTS_DEFAULT)
    .describe(
      "How often indexing a document is tried before it is marked failed; waits between tries start at 2 s and double (8: about 4 minutes). A document's own fault (a parse error) fails it at once.",
    ),
  [ENV.queueLockMs]: z.coerce
    .number()
    .int()
    .min(1000)
    .default(30_000)
    .describe(
      "How long a worker holds a job before another may take it over (it renews the lock while alive).",
    ),
  [ENV.startupTimeoutSeconds]: z.coerce
    .number()
    .int()
    .min(0)
    .max(24 * 3600)
    .default(STARTUP_TIMEOUT_DEFAULT_SECONDS)
    .describe(
      "How long a starting process waits for backends that are not there yet, retrying with backoff; /healthz answers 200 starting meanwhile. A configuration error ends it at once.",
    ),
  [ENV.shutdownTimeoutSeconds]: z.coerce
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(25)
    .describe(
      "On SIGTERM, how long requests in flight (API) or documents in hand (worker) may finish before the process exits. The tiers set it 10 s inside the platform's grace period.",
    ),
  [ENV.httpKeepAliveSeconds]: positiveInt
    .max(4000)
    .default(72)
    .describe(
      "How long an idle client connection stays open. Behind a load balancer, longer than its idle timeout (405 behind the ALBs' 400).",
    ),
  [ENV.cloudwatchMetricsNamespace]: z
    .string()
    .regex(/^[^:]{1,255}$/, "a CloudWatch namespace: 1 to 255 characters, no colon")
    .optional()
    .describe(
      "The worker writes the ingest queue's depth once a minute as a CloudWatch embedded-metric line in this namespace (staging on ECS scales on it).",
    ),

  [ENV.databaseUrl]: url
    .optional()
    .describe(
      "PostgreSQL as one URL, in place of the PG* variables. Unset with no PGHOST: the embedded database (PGlite).",
    ),
  [ENV.pgHost]: z.string().min(1).optional().describe("PostgreSQL's host."),
  [ENV.pgPort]: port.default(5432).describe("PostgreSQL's port."),
  [ENV.pgDatabase]: z.string().min(1).optional().describe("The database."),
  [ENV.pgUser]: z.string().min(1).optional().describe("The database user."),
  [ENV.pgPassword]: z
    .string()
    .optional()
    .describe(
      "The database password. Its file form (PGPASSWORD_FILE) is read again for every new connection, so a rotated password reaches running processes.",
    ),
  [PG_PASSWORD_FILE]: z.string().min(1).optional(),
  [ENV.pgPasswordSecretArn]: z
    .string()
    .regex(
      /^arn:aws[\w-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/,
      "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)",
    )
    .optional()
    .describe(
      "A Secrets Manager secret whose password field is the database password (RDS's managed one), read with the process's AWS role and cached 5 minutes.",
    ),
  [ENV.pgSslMode]: z
    .enum(PG_SSL_MODES)
    .optional()
    .describe(
      "libpq's sslmode: verify-full checks the certificate and its name, verify-ca the certificate only.",
    ),
  [ENV.pgSslRootCert]: z
    .string()
    .min(1)
    .optional()
    .describe(
      "A PEM file of the CAs the server's certificate must chain to, in place of Node.js's roots (a managed server with a CA of its own). As in libpq, require then checks the chain too.",
    ),
  [ENV.pgConnectTimeout]: positiveInt
    .max(600)
    .default(10)
    .describe(
      "Seconds to open a connection or wait for a free one in the pool; then the request fails instead of hanging.",
    ),
  [ENV.databaseAuth]: z
    .enum(DATABASE_AUTH_MODES)
    .default("password")
    .describe(
      "How the runtime signs in to PostgreSQL: password (PGPASSWORD and its forms), or aws-rds-iam: a token signed with the process's AWS role for each new connection (valid 15 minutes, needed only to connect), over TLS that checks the server's certificate (PGSSLMODE verify-full when unset).",
    ),
  [ENV.databaseAwsRegion]: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "an AWS region (eu-west-1)")
    .optional()
    .describe("The database's AWS region, for aws-rds-iam (the token is signed for it)."),
  [ENV.requirePgvector]: flag
    .default(false)
    .describe("Refuse to start without the pgvector extension (deployments set it)."),

  [ENV.redisUrl]: url
    .optional()
    .describe(
      "Redis as one URL, for the BullMQ queue. Unset with no REDIS_HOST: an in-process queue.",
    ),
  [ENV.redisHost]: z.string().min(1).optional().describe("Redis's host."),
  [ENV.redisPort]: port.default(6379).describe("Redis's port."),
  [ENV.redisPassword]: z.string().optional().describe("Redis's password (AUTH)."),
  [ENV.redisTls]: flag.default(false).describe("Connect to Redis over TLS."),
  [ENV.redisTlsCaFile]: z
    .string()
    .min(1)
    .optional()
    .describe(
      "With TLS, a PEM file of the CA a managed Redis's certificate must chain to (reached by its IP, so the name is not checked).",
    ),
  [ENV.queueName]: z
    .string()
    .min(1)
    .default(DEFAULT_QUEUE_NAME)
    .describe("The ingest queue's name (the autoscalers watch ingest)."),
  [ENV.ingestBus]: z
    .enum(INGEST_BUSES)
    .default("bullmq")
    .describe(
      "How ingest work travels: bullmq (Redis; an in-process queue without Redis) or kafka (topics per stage, roles as processes; see runtime/README.md).",
    ),
  [ENV.workerRole]: z
    .enum(WORKER_ROLES)
    .default("all")
    .describe(
      "On the Kafka bus, the stage a worker runs: parse, embed, index, or all three (`worker --role` sets it too).",
    ),
  [ENV.kafkaBrokers]: z
    .string()
    .trim()
    .regex(
      /^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/,
      "a comma-separated list of host:port (b-1.example:9098,b-2.example:9098)",
    )
    .optional()
    .describe(
      "The Kafka bootstrap brokers, host:port comma-separated (required on the Kafka bus).",
    ),
  [ENV.kafkaTopicPrefix]: z
    .string()
    .regex(/^[A-Za-z0-9._-]{0,200}$/, "letters, digits, '.', '_' and '-' only")
    .default("rag.")
    .describe(
      "Prefixes the topic names: <prefix>documents (compacted), <prefix>ingest.parsed, <prefix>ingest.embedded, <prefix>ingest.dead-letter.",
    ),
  [ENV.kafkaPartitions]: positiveInt
    .max(1000)
    .default(12)
    .describe("Partitions of the topics the runtime creates: the most consumers one role can use."),
  [ENV.kafkaReplicationFactor]: positiveInt
    .max(10)
    .default(3)
    .describe("Replicas of the topics the runtime creates (managed Kafka: 3)."),
  [ENV.kafkaGroupPrefix]: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, "letters, digits, '.', '_' and '-' only")
    .default("rag-ingest")
    .describe(
      "Prefixes the consumer groups: <prefix>-parse, <prefix>-embed, <prefix>-index. Each region's index role takes a prefix of its own.",
    ),
  [ENV.kafkaCatalogue]: z
    .enum(KAFKA_CATALOGUES)
    .default("api")
    .describe(
      "The index role's documents table: api (this region's API writes it) or log (built from the document events: another region, or a rebuild from the log).",
    ),
  [ENV.kafkaSessionTimeoutMs]: z.coerce
    .number()
    .int()
    .min(6000)
    .max(300_000)
    .default(30_000)
    .describe(
      "How long a silent consumer keeps its partitions before the group hands them to another (a killed worker's work resumes after this).",
    ),
  [ENV.kafkaTls]: flag
    .default(true)
    .describe("Connect to Kafka over TLS (false only for a test broker on PLAINTEXT)."),
  [ENV.kafkaTlsCaFile]: z
    .string()
    .min(1)
    .optional()
    .describe(
      "A PEM file of the CAs the brokers' certificates chain to, in place of Node.js's roots.",
    ),
  [ENV.kafkaAuth]: z
    .enum(KAFKA_AUTH_MODES)
    .default("none")
    .describe(
      "How clients authenticate: none, scram-sha-256, scram-sha-512, plain, aws-msk-iam (the workload's AWS role), azure-event-hubs (KAFKA_PASSWORD is the connection string) or gcp-oauth (the workload's Google identity).",
    ),
  [ENV.kafkaUsername]: z
    .string()
    .min(1)
    .optional()
    .describe("The SASL user for scram-sha-256, scram-sha-512 and plain."),
  [ENV.kafkaPassword]: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The SASL password (scram-*, plain), or the Event Hubs namespace's connection string (azure-event-hubs).",
    ),
  [ENV.kafkaAwsRegion]: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "an AWS region (eu-west-1)")
    .optional()
    .describe("The MSK cluster's region, for aws-msk-iam."),
  [ENV.kafkaForward]: flag
    .default(false)
    .describe(
      "This region's log is a replica of the primary's: uploads and deletes go to <prefix>uploads, which is replicated to the primary, where the index role relays them onto the documents topic.",
    ),

  [ENV.objectStoreUrl]: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Where originals go: file://, s3://bucket/prefix, azblob://account/container/prefix or gs://bucket/prefix. Unset: DATA_DIR/objects.",
    ),
  [ENV.objectStoreReplicaUrl]: z
    .string()
    .min(1)
    .optional()
    .describe(
      "This region's replica of OBJECT_STORE_URL's bucket (several regions): reads try it first, and a deleted document's copies in it (original and ingest objects, every version) are removed by the index role and the orphan sweep. Same scheme as OBJECT_STORE_URL.",
    ),
  [ENV.orphanGraceMinutes]: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(60)
    .describe(
      "Originals no document names (a process killed mid-upload left them) are removed once older than this: longer than any upload takes. Workers and the embedded process sweep at start, then hourly.",
    ),
  [ENV.azureClientId]: z
    .string()
    .uuid("an identity's client id (a UUID)")
    .optional()
    .describe(
      "The managed identity the Azure SDK signs in with for an azblob:// store (Container Apps set it).",
    ),
  [ENV.maxUploadBytes]: positiveInt
    .default(50 * 1024 * 1024)
    .describe("The largest upload, in bytes."),
  [ENV.webUi]: flag
    .default(true)
    .describe("Serve the browser UI at /; false for an API-only service."),
  [ENV.publicUrl]: url
    .optional()
    .describe(
      "The origin users reach the service at (https://rag.example.com): the SSO redirect URI, and whether cookies are Secure.",
    ),
  [ENV.trustProxy]: z
    .string()
    .transform((v, ctx) => {
      if (/^\d+$/.test(v)) return Number(v);
      const entries = v.split(",").map((e) => e.trim());
      const bad = entries.filter((e) => !isAddressOrCidr(e));
      if (bad.length > 0)
        ctx.addIssue({
          code: "custom",
          message: `not an address or CIDR: ${bad.join(", ")} (give a hop count, or addresses and CIDRs separated by commas)`,
        });
      return entries;
    })
    .optional()
    .describe(
      "Which proxies' X-Forwarded-For and -Proto to believe: a hop count, or addresses and CIDRs. Unset: none.",
    ),
  [ENV.allowedHosts]: z
    .string()
    .transform((v, ctx) => {
      const names = v
        .split(",")
        .map((e) => e.trim().toLowerCase())
        .filter(Boolean);
      const bad = names.filter(
        (n) => !/^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)$/.test(n),
      );
      if (bad.length > 0)
        ctx.addIssue({
          code: "custom",
          message: `not a host name or address: ${bad.join(", ")} (names separated by commas, no port or scheme: rag.example.com,10.0.0.5)`,
        });
      return names;
    })
    .optional()
    .describe(
      "Host names the service answers to, besides localhost, 127.0.0.1, [::1] and PUBLIC_URL's. Checked when set, and always in embedded mode without credentials (against DNS rebinding); probes are exempt.",
    ),
  [ENV.rateLimitPerMinute]: z.coerce
    .number()
    .int()
    .min(0)
    .default(1200)
    .describe(
      "Requests a minute per client address on /v1 and /auth (0: off), shared through Redis when it is configured.",
    ),

  [ENV.searchBackend]: z
    .enum(SEARCH_BACKENDS)
    .default("postgres")
    .describe(
      "Where retrieval runs: postgres (BM25 in PostgreSQL, vectors in VECTOR_STORE, fused by the service) or qdrant (BM25 as sparse vectors and the dense vectors in one Qdrant collection, fused by Qdrant; VECTOR_STORE is then unused).",
    ),
  [ENV.tenantId]: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, "1 to 64 letters, digits, dots, dashes or underscores")
    .default("default")
    .describe(
      "The deployment's tenant: with SEARCH_BACKEND=qdrant, on every point and in every filter, so tenants can share a collection.",
    ),
  [ENV.vectorStore]: z
    .enum(VECTOR_STORES)
    .default("pgvector")
    .describe("Where vectors live: pgvector in PostgreSQL, or Qdrant."),
  // Unset: hnsw on a PostgreSQL server, exact in embedded PGlite (resolved in services.ts).
  [ENV.vectorIndex]: z
    .enum(VECTOR_INDEXES)
    .optional()
    .describe(
      "pgvector's access path: an HNSW index, or an exact scan. Unset: hnsw on a server, exact embedded.",
    ),
  [ENV.qdrantUrl]: url
    .optional()
    .describe("Qdrant's URL (with VECTOR_STORE=qdrant or SEARCH_BACKEND=qdrant)."),
  [ENV.qdrantApiKey]: z.string().optional().describe("Qdrant's API key."),
  [ENV.qdrantCollection]: z
    .string()
    .min(1)
    .default("chunks")
    .describe("The Qdrant collection of the chunks."),
  [ENV.qdrantReplicationFactor]: positiveInt
    .max(10)
    .default(1)
    .describe(
      "Copies of each shard when the runtime creates the collection (2 survives a node lost).",
    ),
  [ENV.qdrantShards]: positiveInt
    .max(1000)
    .default(1)
    .describe(
      "Shards of a collection the runtime creates with SEARCH_BACKEND=qdrant (spread over the cluster's nodes; fixed once created).",
    ),
  [ENV.qdrantWriteConsistency]: positiveInt
    .max(10)
    .default(1)
    .describe(
      "Copies of a shard that must acknowledge a write, for a collection the runtime creates with SEARCH_BACKEND=qdrant; at most QDRANT_REPLICATION_FACTOR.",
    ),

  [ENV.embeddingProvider]: z
    .enum(EMBEDDING_PROVIDERS)
    .default("local")
    .describe(
      "The embedder: local (hashed n-grams, offline), ollama, or openai (any OpenAI-compatible server).",
    ),
  [ENV.embeddingModel]: z.string().min(1).optional().describe("The embedding model."),
  [ENV.embeddingBaseUrl]: url.optional().describe("The embedding server's URL."),
  [ENV.embeddingApiKey]: z.string().optional().describe("The embedding API's key."),
  [ENV.embeddingDimensions]: positiveInt
    .optional()
    .describe("The embeddings' dimensions (the local embedder: 512 by default)."),
  [ENV.embeddingTimeoutSeconds]: positiveInt
    .max(3600)
    .default(MODEL_TIMEOUT_DEFAULTS.embeddingSeconds)
    .describe(
      "How long an embedding server has to start answering a batch, with one retry. A query then goes on with BM25 alone.",
    ),

  [ENV.llmProvider]: z
    .enum(LLM_PROVIDERS)
    .default("extractive")
    .describe(
      "The answerer: extractive (the best supporting sentences, offline), ollama, openai or anthropic.",
    ),
  [ENV.llmModel]: z.string().min(1).optional().describe("The generation model."),
  [ENV.llmBaseUrl]: url.optional().describe("The model server's URL."),
  [ENV.llmApiKey]: z.string().optional().describe("The model API's key."),
  [ENV.llmTimeoutSeconds]: positiveInt
    .max(3600)
    .default(MODEL_TIMEOUT_DEFAULTS.llmSeconds)
    .describe(
      "How long the model has to start answering, with one retry on a failed connection, a timeout, a 429 or a 5xx. Then /v1/query answers 503.",
    ),

  [ENV.modelRoutes]: modelRoutes
    .optional()
    .describe(
      'Named model routes a /v1/query request may pick (route), as JSON: {"specialised": {"provider": "bedrock", "model": "...", "region": "eu-west-1"}}. Providers: extractive, ollama, openai, anthropic, azure-openai, vertex, bedrock; keys only as apiKeyFile. "default" replaces the LLM_* route.',
    ),

  [ENV.fusionBm25Weight]: z.coerce
    .number()
    .min(0)
    .max(10)
    .default(1)
    .describe("BM25's weight in rank fusion."),
  [ENV.bm25Memory]: flag
    .default(true)
    .describe(
      "Answer BM25 from an in-memory copy of the postings in each API process (about 0.6 GB per million chunks, loaded at start; the SQL plan answers meanwhile). false: always the SQL plan.",
    ),
  [ENV.fusionVectorWeight]: z.coerce
    .number()
    .min(0)
    .max(10)
    .optional()
    .describe(
      "The vectors' weight in rank fusion. Unset: 1 with a real embedding model, 0 with the offline embedder.",
    ),
  [ENV.rerankUrl]: url.optional().describe("A reranker's URL (off when unset)."),
  [ENV.rerankApiKey]: z.string().optional().describe("The reranker's key."),

  [ENV.chunkSizeTokens]: positiveInt.default(256).describe("Words per chunk."),
  [ENV.chunkOverlapTokens]: z.coerce
    .number()
    .int()
    .min(0)
    .default(40)
    .describe("Words two neighbouring chunks share."),
  [ENV.parseMaxPages]: positiveInt
    .default(DEFAULT_PARSE_LIMITS.maxPages)
    .describe("A PDF with more pages fails to index, naming this limit."),
  [ENV.parseMaxChars]: positiveInt
    .default(DEFAULT_PARSE_LIMITS.maxChars)
    .describe("A document whose text runs longer, in characters, fails to index."),
  [ENV.parseMaxDecompressedMb]: positiveInt
    .default(DEFAULT_PARSE_LIMITS.maxDecompressedMb)
    .describe(
      "The most, in MiB, that one compressed stream of a PDF, or an office document's whole zip archive, may expand to (a bomb fails the document).",
    ),
  [ENV.parseMaxMemoryMb]: z.coerce
    .number()
    .int()
    .min(PARSE_MIN_MEMORY_MB)
    .default(DEFAULT_PARSE_LIMITS.maxMemoryMb)
    .describe(
      "The JavaScript heap, in MiB, of the thread that parses and chunks one document; past it the document fails.",
    ),
  [ENV.parseTimeoutSeconds]: positiveInt
    .max(3600)
    .default(DEFAULT_PARSE_LIMITS.timeoutSeconds)
    .describe(
      "How long parsing and chunking one document may take before its thread is stopped and the document fails.",
    ),

  [ENV.adminApiKey]: z
    .string()
    .min(16)
    .optional()
    .describe(
      "The bootstrap admin key, stored hashed. A new value revokes the bootstrap keys registered before it.",
    ),
  [ENV.oidcIssuerUrl]: url
    .optional()
    .describe("Accept bearer tokens from this OpenID Connect issuer."),
  [ENV.oidcClientId]: z
    .string()
    .min(1)
    .optional()
    .describe("The application's client id at the issuer."),
  [ENV.oidcClientSecret]: z
    .string()
    .optional()
    .describe("The client secret: with it, single sign-on for the web UI."),
  [ENV.oidcAudience]: z
    .string()
    .min(1)
    .optional()
    .describe("The audience tokens must carry. Unset: the client id."),
  [ENV.oidcScopes]: z
    .string()
    .trim()
    .default("openid profile email offline_access")
    .refine((v) => v.split(/\s+/).includes("openid"), {
      message: 'must include "openid" (space-separated scopes)',
    })
    .describe(
      "The scopes single sign-on asks for (must include openid). Cognito takes openid profile email.",
    ),
  [ENV.sessionTtlSeconds]: z.coerce
    .number()
    .int()
    .min(300)
    .max(7 * 24 * 3600)
    .default(8 * 3600)
    .describe("The longest an SSO session lasts before the user signs in again."),
  [ENV.sessionIdleSeconds]: z.coerce
    .number()
    .int()
    .refine((n) => n === 0 || (n >= 120 && n <= 7 * 24 * 3600), "must be 0 (off) or 120 to 604800")
    .default(3600)
    .describe("An SSO session unused this long ends (0: only SESSION_TTL_SECONDS ends it)."),
  [ENV.sessionCheckSeconds]: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 3600)
    .default(300)
    .describe(
      "How often an SSO session is re-checked at the provider with its refresh token: the longest a disabled user goes unnoticed.",
    ),
  [ENV.oidcClearanceClaim]: z
    .string()
    .min(1)
    .default("clearance")
    .describe(
      "The token claim holding the caller's clearance (a classification label). Without it, CLASSIFICATION_DEFAULT.",
    ),
  [ENV.oidcGroupsClaim]: z
    .string()
    .min(1)
    .default("groups")
    .describe(
      "The token claim holding the caller's groups (a list, or one string): documents restricted to groups need one of them.",
    ),

  [ENV.classificationLabels]: z
    .string()
    .transform((v, ctx) => {
      const labels = commaList(v);
      const bad = labels.filter((l) => !LABEL_PATTERN.test(l));
      if (bad.length > 0 || labels.length === 0)
        ctx.addIssue({
          code: "custom",
          message: `not a label: ${bad.join(", ") || "none given"} (lower-case words separated by commas, lowest first: public,internal,confidential,restricted)`,
        });
      const repeated = labels.filter((l, i) => labels.indexOf(l) !== i);
      if (repeated.length > 0)
        ctx.addIssue({ code: "custom", message: `a label given twice: ${repeated.join(", ")}` });
      return labels;
    })
    .default(DEFAULT_CLASSIFICATION_LABELS)
    .describe(
      "The classification labels, lowest first, separated by commas. A caller cleared for a label sees it and every label below.",
    ),
  [ENV.classificationDefault]: z
    .string()
    .optional()
    .describe(
      "The label of an upload that names none, of documents indexed before labels existed, and the clearance of a key or token that names none. Unset: internal, or the lowest label when there is no internal.",
    ),
  [ENV.piiDetect]: flag
    .default(true)
    .describe(
      "Scan each document's text for PII at ingest and record per document which types were found and how often (never the values).",
    ),
  [ENV.piiEntities]: z
    .string()
    .transform((v, ctx) => {
      const entities = commaList(v);
      const bad = entities.filter((e) => !(PII_ENTITIES as readonly string[]).includes(e));
      if (bad.length > 0 || entities.length === 0)
        ctx.addIssue({
          code: "custom",
          message: `not a PII type: ${bad.join(", ") || "none given"} (types separated by commas, of ${PII_ENTITIES.join(", ")})`,
        });
      return [...new Set(entities)] as PiiEntity[];
    })
    .default(["email", "phone-number", "credit-card-number", "iban", "national-id", "us-ssn"])
    .describe(
      `The PII types to look for, of ${PII_ENTITIES.join(", ")} (IBANs and national identifiers are found by their checksum, a US SSN by a word such as SSN just before it). ip-address is off by default: technical documents are full of addresses.`,
    ),
  [ENV.piiRedact]: flag
    .default(false)
    .describe(
      "Replace the PII found by its type ([email]) before chunking: chunks, postings and vectors never hold the values. The stored original keeps them.",
    ),
  [ENV.piiRaiseTo]: z
    .string()
    .optional()
    .describe(
      "A document in which PII is found gets at least this label (one of CLASSIFICATION_LABELS). Unset: labels are not raised.",
    ),

  [ENV.otlpEndpoint]: url.optional().describe("Where traces go over OTLP/HTTP (off when unset)."),

  [ENV.retentionDaysByCollection]: daysByName
    .optional()
    .describe(
      "Retention by collection (a document's metadata.collection), in days since upload: contracts=3650,tickets=90. The purge deletes older documents securely; a legal hold keeps them. Unset: no document expires.",
    ),
  [ENV.retentionDaysByLabel]: daysByName
    .optional()
    .describe(
      "Retention by classification label (one of CLASSIFICATION_LABELS), in days since upload: restricted=365,public=30. A document matched by a collection rule too keeps the longer period. Unset: labels set no period.",
    ),
  [ENV.purgeIntervalMinutes]: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(60)
    .describe(
      "How often workers (and the embedded process) run the retention purge, when a retention rule is set; at start, then at this interval.",
    ),

  [ENV.auditLogFile]: z
    .string()
    .min(1)
    .optional()
    .describe(
      'A file the audit events are appended to, one JSON line each. Unset: standard output, among the log lines, each marked stream "audit".',
    ),
  [ENV.auditIncludeQuestion]: flag
    .default(false)
    .describe(
      "Whether query and retrieval audit events carry the question's text. Off: they carry only which documents and chunks were returned.",
    ),
  [ENV.auditKafkaTopic]: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, "a Kafka topic name: letters, digits, '.', '_' and '-'")
    .optional()
    .describe(
      "On the Kafka bus, audit events also go to this topic (created with a year's retention), keyed by their target.",
    ),
});

export type RuntimeConfig = z.infer<typeof runtimeConfigSchema>;

export class RuntimeConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid runtime configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
    this.name = "RuntimeConfigError";
  }
}

/** Resolves `<NAME>_FILE` indirections for secret variables. A name given both ways is an error. */
function resolveSecretFiles(
  env: NodeJS.ProcessEnv,
  problems: string[],
): Record<string, string | undefined> {
  // An empty variable means "not set" (how Compose files and CI templates leave them).
  const resolved: Record<string, string | undefined> = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== ""),
  );
  for (const name of SECRET_ENV) {
    const fileVar = `${name}${FILE_SUFFIX}`;
    const path = env[fileVar];
    if (path === undefined || path === "") continue;
    if (env[name] !== undefined && env[name] !== "") {
      problems.push(`${name}: given both as ${name} and ${fileVar}; set only one`);
      continue;
    }
    try {
      resolved[name] = readFileSync(path, "utf8").trim();
    } catch (error) {
      problems.push(
        `${fileVar}: cannot read "${path}" (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
  }
  return resolved;
}

function describeReceived(name: string, value: unknown): string {
  if (value === undefined) return "nothing";
  if ((SECRET_ENV as readonly string[]).includes(name)) return "[secret]";
  // Routes are not echoed: a key pasted inline, against the rules, would be.
  if (name === ENV.modelRoutes) return "its JSON";
  return JSON.stringify(value);
}

/** Cross-variable rules: a selected backend must have what it needs. */
function checkCombinations(config: RuntimeConfig, problems: string[]): void {
  if (config.PGPASSWORD_SECRET_ARN && config.PGPASSWORD) {
    problems.push(
      `${ENV.pgPasswordSecretArn}: set together with ${ENV.pgPassword} (or ${PG_PASSWORD_FILE}); give the password one way`,
    );
  }
  checkDatabaseAuth(config, problems);
  if (config.VECTOR_STORE === "qdrant" && !config.QDRANT_URL) {
    problems.push(`${ENV.qdrantUrl}: required when ${ENV.vectorStore}=qdrant`);
  } else if (config.SEARCH_BACKEND === "qdrant" && !config.QDRANT_URL) {
    problems.push(`${ENV.qdrantUrl}: required when ${ENV.searchBackend}=qdrant`);
  }
  if (config.QDRANT_WRITE_CONSISTENCY > config.QDRANT_REPLICATION_FACTOR) {
    problems.push(
      `${ENV.qdrantWriteConsistency}: got ${config.QDRANT_WRITE_CONSISTENCY}; must be at most ${ENV.qdrantReplicationFactor} (${config.QDRANT_REPLICATION_FACTOR})`,
    );
  }
  for (const [provider, baseUrl, providerVar, urlVar] of [
    [
      config.EMBEDDING_PROVIDER,
      config.EMBEDDING_BASE_URL,
      ENV.embeddingProvider,
      ENV.embeddingBaseUrl,
    ],
    [config.LLM_PROVIDER, config.LLM_BASE_URL, ENV.llmProvider, ENV.llmBaseUrl],
  ] as const) {
    if ((provider === "ollama" || provider === "openai") && !baseUrl) {
      problems.push(`${urlVar}: required when ${providerVar}=${provider}`);
    }
  }
  if (config.LLM_PROVIDER === "anthropic" && !config.LLM_API_KEY) {
    problems.push(`${ENV.llmApiKey}: required when ${ENV.llmProvider}=anthropic`);
  }
  if (config.OIDC_ISSUER_URL && !config.OIDC_CLIENT_ID) {
    problems.push(`${ENV.oidcClientId}: required when ${ENV.oidcIssuerUrl} is set`);
  }
  if (
    config.CLASSIFICATION_DEFAULT !== undefined &&
    !config.CLASSIFICATION_LABELS.includes(config.CLASSIFICATION_DEFAULT)
  ) {
    problems.push(
      `${ENV.classificationDefault}: got ${JSON.stringify(config.CLASSIFICATION_DEFAULT)}; must be one of ${ENV.classificationLabels} (${config.CLASSIFICATION_LABELS.join(", ")})`,
    );
  }
  const unknownLabels = [...(config.RETENTION_DAYS_BY_LABEL?.keys() ?? [])].filter(
    (label) => !config.CLASSIFICATION_LABELS.includes(label),
  );
  if (unknownLabels.length > 0) {
    problems.push(
      `${ENV.retentionDaysByLabel}: ${unknownLabels.map((l) => JSON.stringify(l)).join(", ")} not in ${ENV.classificationLabels} (${config.CLASSIFICATION_LABELS.join(", ")})`,
    );
  }
  if (
    config.PII_RAISE_TO !== undefined &&
    !config.CLASSIFICATION_LABELS.includes(config.PII_RAISE_TO)
  ) {
    problems.push(
      `${ENV.piiRaiseTo}: got ${JSON.stringify(config.PII_RAISE_TO)}; must be one of ${ENV.classificationLabels} (${config.CLASSIFICATION_LABELS.join(", ")})`,
    );
  }
  if (!config.PII_DETECT && (config.PII_REDACT || config.PII_RAISE_TO !== undefined)) {
    problems.push(
      `${ENV.piiDetect}: false, but ${config.PII_REDACT ? ENV.piiRedact : ENV.piiRaiseTo} needs detection; set ${ENV.piiDetect}=true`,
    );
  }
  if (config.PUBLIC_URL && new URL(config.PUBLIC_URL).pathname !== "/") {
    problems.push(
      `${ENV.publicUrl}: got ${JSON.stringify(config.PUBLIC_URL)}; must be an origin without a path (https://rag.example.com)`,
    );
  }
  for (const [file, name] of [
    [config.PGSSLROOTCERT, ENV.pgSslRootCert],
    [config.REDIS_TLS_CA_FILE, ENV.redisTlsCaFile],
  ] as const) {
    if (file !== undefined && !existsSync(file))
      problems.push(
        `${name}: got ${JSON.stringify(file)}; no such file (a PEM file of CA certificates)`,
      );
  }
  if (config.REDIS_TLS_CA_FILE && !config.REDIS_TLS && !config.REDIS_URL?.startsWith("rediss:")) {
    problems.push(
      `${ENV.redisTlsCaFile}: set without TLS; set ${ENV.redisTls}=true (or a rediss:// ${ENV.redisUrl})`,
    );
  }
  checkKafka(config, problems);
  checkReplica(config, problems);
  if (config.CHUNK_OVERLAP_TOKENS >= config.CHUNK_SIZE_TOKENS) {
    problems.push(
      `${ENV.chunkOverlapTokens}: got ${config.CHUNK_OVERLAP_TOKENS}; must be smaller than ${ENV.chunkSizeTokens} (${config.CHUNK_SIZE_TOKENS})`,
    );
  }
}

/**
 * What DATABASE_AUTH needs: with aws-rds-iam, a region, a user and a server to sign the token for,
 * no password given some other way (which one would be used?), and TLS that checks the server.
 */
function checkDatabaseAuth(config: RuntimeConfig, problems: string[]): void {
  const auth = config.DATABASE_AUTH;
  switch (auth) {
    case "password":
      if (config.DATABASE_AWS_REGION)
        problems.push(
          `${ENV.databaseAwsRegion}: set with ${ENV.databaseAuth}=password; set ${ENV.databaseAuth}=aws-rds-iam, or leave it unset`,
        );
      return;
    case "aws-rds-iam":
      break;
    default: {
      const unknown: never = auth;
      problems.push(`${ENV.databaseAuth}: unknown mode ${String(unknown)}`);
      return;
    }
  }
  const iam = `${ENV.databaseAuth}=aws-rds-iam`;
  if (!config.DATABASE_AWS_REGION)
    problems.push(`${ENV.databaseAwsRegion}: required when ${iam} (the database's region)`);
  for (const [name, given] of [
    [`${ENV.pgPassword} (or ${PG_PASSWORD_FILE})`, config.PGPASSWORD !== undefined],
    [ENV.pgPasswordSecretArn, config.PGPASSWORD_SECRET_ARN !== undefined],
  ] as const)
    if (given) problems.push(`${name}: set with ${iam}; the IAM token is the password, remove it`);
  const url = config.DATABASE_URL ? new URL(config.DATABASE_URL) : undefined;
  if (!url && !config.PGHOST)
    problems.push(`${ENV.pgHost}: required when ${iam} (the server the token is signed for)`);
  if (url?.password)
    problems.push(
      `${ENV.databaseUrl}: holds a password with ${iam}; the IAM token is the password, remove it from the URL`,
    );
  if (url?.search)
    problems.push(
      `${ENV.databaseUrl}: has parameters (${url.search}) with ${iam}; give TLS as ${ENV.pgSslMode} and ${ENV.pgSslRootCert}`,
    );
  if (!(url?.username || config.PGUSER))
    problems.push(
      `${ENV.pgUser}: required when ${iam} (the database user the token is signed for)`,
    );
  if (config.PGSSLMODE !== undefined && !VERIFIED_SSL_MODES.includes(config.PGSSLMODE))
    problems.push(
      `${ENV.pgSslMode}: got ${JSON.stringify(config.PGSSLMODE)} with ${iam}; must be verify-full or verify-ca (the token travels only to a server whose certificate is checked)`,
    );
}

/** A replica store names another store of the same kind as OBJECT_STORE_URL's. */
function checkReplica(config: RuntimeConfig, problems: string[]): void {
  const replica = config.OBJECT_STORE_REPLICA_URL;
  if (replica === undefined) return;
  const primary = config.OBJECT_STORE_URL;
  if (!primary) {
    problems.push(
      `${ENV.objectStoreReplicaUrl}: set without ${ENV.objectStoreUrl}; a replica needs the store it copies`,
    );
    return;
  }
  const scheme = (url: string) => /^([a-z][a-z0-9+.-]*):/.exec(url)?.[1];
  if (scheme(replica) !== scheme(primary))
    problems.push(
      `${ENV.objectStoreReplicaUrl}: got ${JSON.stringify(replica)}; must use ${ENV.objectStoreUrl}'s scheme (${scheme(primary) ?? "none"}:)`,
    );
  else if (replica === primary)
    problems.push(
      `${ENV.objectStoreReplicaUrl}: the same as ${ENV.objectStoreUrl}; name this region's replica, or leave it unset`,
    );
}

/** The Kafka bus's rules: brokers, and what each auth mode needs. */
function checkKafka(config: RuntimeConfig, problems: string[]): void {
  if (config.AUDIT_KAFKA_TOPIC && config.INGEST_BUS !== "kafka")
    problems.push(
      `${ENV.auditKafkaTopic}: set without the Kafka bus; set ${ENV.ingestBus}=kafka and its brokers`,
    );
  if (config.KAFKA_FORWARD && config.INGEST_BUS !== "kafka")
    problems.push(
      `${ENV.kafkaForward}: true without the Kafka bus; set ${ENV.ingestBus}=kafka and its brokers`,
    );
  if (config.INGEST_BUS !== "kafka") return;
  if (!config.KAFKA_BROKERS)
    problems.push(`${ENV.kafkaBrokers}: required when ${ENV.ingestBus}=kafka`);
  const auth = config.KAFKA_AUTH;
  if (!config.KAFKA_TLS && auth !== "none")
    problems.push(
      `${ENV.kafkaTls}: false with ${ENV.kafkaAuth}=${auth}; credentials only travel over TLS (PLAINTEXT is for a test broker)`,
    );
  if (config.KAFKA_TLS_CA_FILE && !existsSync(config.KAFKA_TLS_CA_FILE))
    problems.push(
      `${ENV.kafkaTlsCaFile}: got ${JSON.stringify(config.KAFKA_TLS_CA_FILE)}; no such file (a PEM file of CA certificates)`,
    );
  const needs = (name: string, value: unknown, what: string) => {
    if (value === undefined)
      problems.push(`${name}: required when ${ENV.kafkaAuth}=${auth} (${what})`);
  };
  switch (auth) {
    case "scram-sha-256":
    case "scram-sha-512":
    case "plain":
      needs(ENV.kafkaUsername, config.KAFKA_USERNAME, "the SASL user");
      needs(
        ENV.kafkaPassword,
        config.KAFKA_PASSWORD,
        `its password, best as ${ENV.kafkaPassword}${FILE_SUFFIX}`,
      );
      break;
    case "azure-event-hubs":
      needs(
        ENV.kafkaPassword,
        config.KAFKA_PASSWORD,
        `the namespace's connection string, as ${ENV.kafkaPassword}${FILE_SUFFIX}`,
      );
      break;
    case "aws-msk-iam":
      needs(ENV.kafkaAwsRegion, config.KAFKA_AWS_REGION, "the cluster's region");
      break;
    case "none":
    case "gcp-oauth":
      break;
    default: {
      const unknown: never = auth;
      problems.push(`${ENV.kafkaAuth}: unknown mode ${String(unknown)}`);
    }
  }
}

/** Reads and validates the environment once; throws `RuntimeConfigError` listing every problem. */
export function loadRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const problems: string[] = [];
  const resolved = resolveSecretFiles(env, problems);
  const parsed = runtimeConfigSchema.safeParse(resolved);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? "");
      problems.push(`${name}: got ${describeReceived(name, resolved[name])}; ${issue.message}`);
    }
    throw new RuntimeConfigError(problems);
  }
  checkCombinations(parsed.data, problems);
  if (problems.length > 0) throw new RuntimeConfigError(problems);
  return parsed.data;
}
