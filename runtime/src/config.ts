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

/** The ingest queue's name when QUEUE_NAME is not set (the IaC leaves it so, and scales on it). */
export const DEFAULT_QUEUE_NAME = "ingest";

export const ENV = {
  host: "HOST",
  port: "PORT",
  logLevel: "LOG_LEVEL",
  serviceName: "SERVICE_NAME",
  dataDir: "DATA_DIR",
  workerHealthPort: "WORKER_HEALTH_PORT",
  metricsPort: "METRICS_PORT",
  workerConcurrency: "WORKER_CONCURRENCY",
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
  requirePgvector: "REQUIRE_PGVECTOR",

  redisUrl: "REDIS_URL",
  redisHost: "REDIS_HOST",
  redisPort: "REDIS_PORT",
  redisPassword: "REDIS_PASSWORD",
  redisTls: "REDIS_TLS",
  redisTlsCaFile: "REDIS_TLS_CA_FILE",
  queueName: "QUEUE_NAME",

  objectStoreUrl: "OBJECT_STORE_URL",
  azureClientId: "AZURE_CLIENT_ID",
  maxUploadBytes: "MAX_UPLOAD_BYTES",
  webUi: "WEB_UI",
  publicUrl: "PUBLIC_URL",
  trustProxy: "TRUST_PROXY",
  rateLimitPerMinute: "RATE_LIMIT_PER_MINUTE",

  vectorStore: "VECTOR_STORE",
  vectorIndex: "VECTOR_INDEX",
  qdrantUrl: "QDRANT_URL",
  qdrantApiKey: "QDRANT_API_KEY",
  qdrantCollection: "QDRANT_COLLECTION",
  qdrantReplicationFactor: "QDRANT_REPLICATION_FACTOR",

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

  fusionBm25Weight: "FUSION_BM25_WEIGHT",
  fusionVectorWeight: "FUSION_VECTOR_WEIGHT",
  rerankUrl: "RERANK_URL",
  rerankApiKey: "RERANK_API_KEY",

  chunkSizeTokens: "CHUNK_SIZE_TOKENS",
  chunkOverlapTokens: "CHUNK_OVERLAP_TOKENS",

  adminApiKey: "ADMIN_API_KEY",
  oidcIssuerUrl: "OIDC_ISSUER_URL",
  oidcClientId: "OIDC_CLIENT_ID",
  oidcClientSecret: "OIDC_CLIENT_SECRET",
  oidcAudience: "OIDC_AUDIENCE",
  oidcScopes: "OIDC_SCOPES",
  sessionTtlSeconds: "SESSION_TTL_SECONDS",
  sessionCheckSeconds: "SESSION_CHECK_SECONDS",
  sessionIdleSeconds: "SESSION_IDLE_SECONDS",

  otlpEndpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
} as const;

export type EnvKey = keyof typeof ENV;
export type EnvName = (typeof ENV)[EnvKey];

/** Variables that hold credentials: never logged, never a plain env value in a deployment. */
export const SECRET_ENV = [
  ENV.databaseUrl,
  ENV.pgPassword,
  ENV.redisUrl,
  ENV.redisPassword,
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

export const VECTOR_STORES = ["pgvector", "qdrant"] as const;
/** pgvector's access path: an HNSW index, or an exact scan with pgvector's own distance (no index). */
export const VECTOR_INDEXES = ["hnsw", "exact"] as const;
export const EMBEDDING_PROVIDERS = ["local", "ollama", "openai"] as const;
export const LLM_PROVIDERS = ["extractive", "ollama", "openai", "anthropic"] as const;
export const PG_SSL_MODES = ["disable", "prefer", "require", "verify-ca", "verify-full"] as const;

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const flag = z.enum(["true", "false"]).transform((v) => v === "true");
const url = z.string().url();

function isAddressOrCidr(value: string): boolean {
  const [address, prefix, extra] = value.split("/");
  if (extra !== undefined || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  return /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** How long a starting process waits for its backends, by default (STARTUP_TIMEOUT_SECONDS). */
export const STARTUP_TIMEOUT_DEFAULT_SECONDS = 1200;

/** How long a model server has to start answering, by default (each attempt; see models/fetch.ts). */
export const MODEL_TIMEOUT_DEFAULTS = { llmSeconds: 120, embeddingSeconds: 60 } as const;

export const runtimeConfigSchema = z.object({
  [ENV.host]: z.string().min(1).optional(),
  [ENV.port]: port.default(8080),
  [ENV.logLevel]: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
  [ENV.serviceName]: z.string().min(1).default("rag-runtime"),
  [ENV.dataDir]: z.string().min(1).default("./data"),
  [ENV.workerHealthPort]: port.default(8081),
  [ENV.metricsPort]: port.optional(),
  [ENV.workerConcurrency]: positiveInt.default(2),
  [ENV.queueLockMs]: z.coerce.number().int().min(1000).default(30_000),
  [ENV.startupTimeoutSeconds]: z.coerce
    .number()
    .int()
    .min(0)
    .max(24 * 3600)
    .default(STARTUP_TIMEOUT_DEFAULT_SECONDS),
  [ENV.shutdownTimeoutSeconds]: z.coerce.number().int().min(1).max(3600).default(25),
  /** How long an idle client connection stays open (behind a load balancer: longer than its idle timeout). Fastify's default. */
  [ENV.httpKeepAliveSeconds]: positiveInt.max(4000).default(72),
  [ENV.cloudwatchMetricsNamespace]: z
    .string()
    .regex(/^[^:]{1,255}$/, "a CloudWatch namespace: 1 to 255 characters, no colon")
    .optional(),

  [ENV.databaseUrl]: url.optional(),
  [ENV.pgHost]: z.string().min(1).optional(),
  [ENV.pgPort]: port.default(5432),
  [ENV.pgDatabase]: z.string().min(1).optional(),
  [ENV.pgUser]: z.string().min(1).optional(),
  [ENV.pgPassword]: z.string().optional(),
  [PG_PASSWORD_FILE]: z.string().min(1).optional(),
  /** A Secrets Manager secret whose `password` field is the database password (RDS's managed master secret), read with the process's AWS role. */
  [ENV.pgPasswordSecretArn]: z
    .string()
    .regex(
      /^arn:aws[\w-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/,
      "must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)",
    )
    .optional(),
  [ENV.pgSslMode]: z.enum(PG_SSL_MODES).optional(),
  /**
   * A file of the CA certificates the server's certificate must chain to (libpq's variable), for a
   * server whose CA Node.js does not trust (Cloud SQL's per-instance CA). As in libpq, `require`
   * then verifies the chain too.
   */
  [ENV.pgSslRootCert]: z.string().min(1).optional(),
  /** Seconds to open a connection, or to wait for a free one in the pool (libpq's variable; there 0 waits forever, here it is refused). */
  [ENV.pgConnectTimeout]: positiveInt.max(600).default(10),
  [ENV.requirePgvector]: flag.default(false),

  [ENV.redisUrl]: url.optional(),
  [ENV.redisHost]: z.string().min(1).optional(),
  [ENV.redisPort]: port.default(6379),
  [ENV.redisPassword]: z.string().optional(),
  [ENV.redisTls]: flag.default(false),
  /**
   * A file of the CA certificate a TLS Redis's certificate must chain to: the instance's own
   * (Memorystore's), whose server is reached by IP, so its name is not checked against the host.
   */
  [ENV.redisTlsCaFile]: z.string().min(1).optional(),
  [ENV.queueName]: z.string().min(1).default(DEFAULT_QUEUE_NAME),

  [ENV.objectStoreUrl]: z.string().min(1).optional(),
  /**
   * The user-assigned managed identity the Azure SDK signs in with (azblob:// object stores): read
   * by the SDK's DefaultAzureCredential itself, declared here so the IaC sets it by this name.
   */
  [ENV.azureClientId]: z.string().uuid("an identity's client id (a UUID)").optional(),
  [ENV.maxUploadBytes]: positiveInt.default(50 * 1024 * 1024),
  /** Serve the browser UI (built into dist/web) at `/`; false for an API-only service. */
  [ENV.webUi]: flag.default(true),
  /** The origin users reach the service at (https://rag.example.com): SSO's redirect URI, and whether its cookies are Secure. */
  [ENV.publicUrl]: url.optional(),
  /**
   * Which proxies' X-Forwarded-For / -Proto to believe: a hop count, or comma-separated addresses
   * and CIDRs (the load balancer's subnets). Unset: none (the peer is the client).
   */
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
    .optional(),
  /** Requests per minute per client address on /v1 and /auth (0: no limit); shared through Redis when it is configured. */
  [ENV.rateLimitPerMinute]: z.coerce.number().int().min(0).default(1200),

  [ENV.vectorStore]: z.enum(VECTOR_STORES).default("pgvector"),
  // Unset: hnsw on a PostgreSQL server, exact in embedded PGlite (resolved in services.ts).
  [ENV.vectorIndex]: z.enum(VECTOR_INDEXES).optional(),
  [ENV.qdrantUrl]: url.optional(),
  [ENV.qdrantApiKey]: z.string().optional(),
  [ENV.qdrantCollection]: z.string().min(1).default("chunks"),
  [ENV.qdrantReplicationFactor]: positiveInt.max(10).default(1),

  [ENV.embeddingProvider]: z.enum(EMBEDDING_PROVIDERS).default("local"),
  [ENV.embeddingModel]: z.string().min(1).optional(),
  [ENV.embeddingBaseUrl]: url.optional(),
  [ENV.embeddingApiKey]: z.string().optional(),
  [ENV.embeddingDimensions]: positiveInt.optional(),
  /** How long an embedding server has to start answering a batch (each attempt; one retry). */
  [ENV.embeddingTimeoutSeconds]: positiveInt
    .max(3600)
    .default(MODEL_TIMEOUT_DEFAULTS.embeddingSeconds),

  [ENV.llmProvider]: z.enum(LLM_PROVIDERS).default("extractive"),
  [ENV.llmModel]: z.string().min(1).optional(),
  [ENV.llmBaseUrl]: url.optional(),
  [ENV.llmApiKey]: z.string().optional(),
  /** How long a model has to start answering (each attempt; one retry on a connection error, a timeout, a 429 or a 5xx). */
  [ENV.llmTimeoutSeconds]: positiveInt.max(3600).default(MODEL_TIMEOUT_DEFAULTS.llmSeconds),

  [ENV.fusionBm25Weight]: z.coerce.number().min(0).max(10).default(1),
  /** @default - 1 with a real embedding model, 0 with the offline hashed embedder (it is lexical) */
  [ENV.fusionVectorWeight]: z.coerce.number().min(0).max(10).optional(),
  [ENV.rerankUrl]: url.optional(),
  [ENV.rerankApiKey]: z.string().optional(),

  [ENV.chunkSizeTokens]: positiveInt.default(256),
  [ENV.chunkOverlapTokens]: z.coerce.number().int().min(0).default(40),

  [ENV.adminApiKey]: z.string().min(16).optional(),
  [ENV.oidcIssuerUrl]: url.optional(),
  [ENV.oidcClientId]: z.string().min(1).optional(),
  [ENV.oidcClientSecret]: z.string().optional(),
  [ENV.oidcAudience]: z.string().min(1).optional(),
  /**
   * The scopes browser single sign-on asks for (space-separated; must include openid).
   * offline_access obtains the refresh token sessions are re-checked with; a provider that issues
   * refresh tokens without it, or rejects it (Amazon Cognito), takes "openid profile email".
   */
  [ENV.oidcScopes]: z
    .string()
    .trim()
    .default("openid profile email offline_access")
    .refine((v) => v.split(/\s+/).includes("openid"), {
      message: 'must include "openid" (space-separated scopes)',
    }),
  /** How long a browser SSO session lasts at most before the user signs in again. */
  [ENV.sessionTtlSeconds]: z.coerce
    .number()
    .int()
    .min(300)
    .max(7 * 24 * 3600)
    .default(8 * 3600),
  /** A browser SSO session unused this long ends, whatever its SESSION_TTL_SECONDS (0: only the TTL ends it). */
  [ENV.sessionIdleSeconds]: z.coerce
    .number()
    .int()
    .refine((n) => n === 0 || (n >= 120 && n <= 7 * 24 * 3600), "must be 0 (off) or 120 to 604800")
    .default(3600),
  /** How often a browser SSO session is re-checked at the identity provider (its refresh token): the longest a disabled user or a role change goes unnoticed. */
  [ENV.sessionCheckSeconds]: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 3600)
    .default(300),

  [ENV.otlpEndpoint]: url.optional(),
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
  return JSON.stringify(value);
}

/** Cross-variable rules: a selected backend must have what it needs. */
function checkCombinations(config: RuntimeConfig, problems: string[]): void {
  if (config.PGPASSWORD_SECRET_ARN && config.PGPASSWORD) {
    problems.push(
      `${ENV.pgPasswordSecretArn}: set together with ${ENV.pgPassword} (or ${PG_PASSWORD_FILE}); give the password one way`,
    );
  }
  if (config.VECTOR_STORE === "qdrant" && !config.QDRANT_URL) {
    problems.push(`${ENV.qdrantUrl}: required when ${ENV.vectorStore}=qdrant`);
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
  if (config.CHUNK_OVERLAP_TOKENS >= config.CHUNK_SIZE_TOKENS) {
    problems.push(
      `${ENV.chunkOverlapTokens}: got ${config.CHUNK_OVERLAP_TOKENS}; must be smaller than ${ENV.chunkSizeTokens} (${config.CHUNK_SIZE_TOKENS})`,
    );
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
