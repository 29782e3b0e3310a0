/**
 * The stack configuration: every `rag-platform:` key, declared once.
 *
 * Resolution: tier preset (stacks/presets.ts) <- the stack file's values (deep merge; lists
 * replace) -> this schema. Invalid config fails before any resource is registered, with one
 * line per problem naming the key, the value received and what is allowed.
 */
import { z } from "zod";
import { ConfigError, formatIssue } from "./config-errors";
import {
  CLOUDS,
  DATADOG_SITES,
  GPU_TYPES,
  LLM_MODES,
  LLM_SERVERS,
  MANAGED_LLM_PROVIDERS,
  NAMESPACE,
  NAT_MODES,
  NEW_RELIC_REGIONS,
  OBSERVABILITY_EXPORTERS,
  TIERS,
  VECTOR_DB_MODES,
} from "./choices";
import { applyRenames } from "./config-renames";
import { checkCombinations } from "./config-rules";
import { presetFor } from "./presets";
import { KUBERNETES_MINORS } from "./versions";

export * from "./choices";

const cidr = z
  .string()
  .regex(
    /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d|[12]\d|3[0-2])$/,
    "must be an IPv4 CIDR such as 10.40.0.0/16",
  )
  .refine(
    (v) =>
      v
        .split("/")[0]!
        .split(".")
        .every((o) => Number(o) <= 255),
    "must be an IPv4 CIDR such as 10.40.0.0/16",
  );
const positiveInt = z.number().int().min(1);
const nonNegativeInt = z.number().int().min(0);
const port = z.number().int().min(1).max(65535);
const email = z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "must be an e-mail address");
const httpsUrl = z.string().regex(/^https:\/\/[^\s]+$/, "must be an https:// URL");

/** Size of one horizontally scaled service (the API, the ingest worker). */
const serviceSchema = z.strictObject({
  replicas: positiveInt,
  minReplicas: positiveInt,
  maxReplicas: positiveInt,
  cpuMillicores: z.number().int().min(100).max(16000),
  memoryMiB: z.number().int().min(128).max(131072),
});

const networkSchema = z.strictObject({
  cidr: cidr,
  zoneCount: z.number().int().min(2).max(3),
  natGateways: z.enum(NAT_MODES),
  existingNetworkId: z.string().min(1).optional(),
  existingPublicSubnetIds: z.array(z.string().min(1)).optional(),
  existingPrivateSubnetIds: z.array(z.string().min(1)).optional(),
  clusterApiAllowedCidrs: z.array(cidr),
});

const postgresSchema = z.strictObject({
  version: z.enum(["15", "16", "17"]),
  size: z.string().min(1),
  storageGiB: z.number().int().min(20).max(65536),
  maxStorageGiB: z.number().int().min(20).max(65536),
  backupRetentionDays: nonNegativeInt.max(35),
  highAvailability: z.boolean(),
  deletionProtection: z.boolean(),
});

const redisSchema = z.strictObject({
  size: z.string().min(1),
  replicas: nonNegativeInt.max(5),
  highAvailability: z.boolean(),
});

const vectorDbSchema = z.strictObject({
  mode: z.enum(VECTOR_DB_MODES),
  qdrantCloudUrl: httpsUrl.optional(),
  replicas: positiveInt.max(9),
  storageGiB: z.number().int().min(1).max(16384),
  collection: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '_' or '-'"),
});

const llmSchema = z.strictObject({
  mode: z.enum(LLM_MODES),
  server: z.enum(LLM_SERVERS),
  model: z.string().min(1),
  embeddingModel: z.string().min(1),
  gpuType: z.enum(GPU_TYPES),
  gpuCount: z.number().int().min(1).max(8),
  managedProvider: z.enum(MANAGED_LLM_PROVIDERS).optional(),
  managedBaseUrl: httpsUrl.optional(),
  modelMemoryGiB: z.number().min(1).max(2048).optional(),
});

const nodePoolSchema = z.strictObject({
  min: nonNegativeInt.max(100),
  max: positiveInt.max(100),
  desired: nonNegativeInt.max(100),
});

const kubernetesSchema = z.strictObject({
  version: z.enum(KUBERNETES_MINORS),
  systemNodeType: z.string().min(1),
  systemNodes: nodePoolSchema,
  gpuNodes: nodePoolSchema,
  adminPrincipals: z.array(z.string().min(1)),
});

const gitopsSchema = z.strictObject({
  enabled: z.boolean(),
  repoUrl: z
    .string()
    .regex(/^(https:\/\/|git@)[^\s]+$/, "must be an https:// or git@ repository URL")
    .optional(),
  path: z.string().min(1),
  targetRevision: z.string().min(1),
});

const documentsSchema = z.strictObject({
  noncurrentVersionRetentionDays: z.number().int().min(1).max(3650),
  maxUploadMiB: z.number().int().min(1).max(1024),
});

const domainSchema = z.strictObject({
  hostname: z
    .string()
    .regex(
      /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
      "must be a DNS name such as rag.example.com",
    )
    .optional(),
  certificate: z.string().min(1).optional(),
});

const observabilitySchema = z.strictObject({
  exporter: z.enum(OBSERVABILITY_EXPORTERS),
  otlpEndpoint: httpsUrl.optional(),
  /**
   * A header the OTLP endpoint authenticates with (exporter otlp), e.g. "authorization" or
   * "x-honeycomb-team": its value is a secret the operator fills after the first up.
   * @default - no header (an endpoint inside the network)
   */
  otlpAuthHeader: z
    .string()
    .regex(
      /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/,
      "must be an HTTP header name such as authorization or x-honeycomb-team",
    )
    .optional(),
  /** The Datadog site of the account (exporter datadog). @default "datadoghq.com" */
  datadogSite: z.enum(DATADOG_SITES).optional(),
  /** The New Relic region of the account (exporter newrelic). @default "us" */
  newRelicRegion: z.enum(NEW_RELIC_REGIONS).optional(),
  alertEmails: z.array(email),
  logRetentionDays: z.number().int().min(1).max(3653),
});

const authSchema = z.strictObject({
  oidcIssuerUrl: httpsUrl.optional(),
  oidcClientId: z.string().min(1).optional(),
  /** Scopes single sign-on asks for (the runtime's OIDC_SCOPES); its default includes offline_access. */
  oidcScopes: z
    .string()
    .regex(/(^|\s)openid(\s|$)/, 'must include "openid" (space-separated scopes)')
    .optional(),
});

const devSchema = z.strictObject({
  gpu: z.boolean(),
  hostPorts: z.strictObject({
    api: port,
    postgres: port,
    redis: port,
    qdrant: port,
    ollama: port,
  }),
});

export const configSchema = z
  .strictObject({
    tier: z.enum(TIERS),
    cloud: z.enum(CLOUDS),
    regions: z.array(z.string().min(1)),
    gcpProject: z
      .string()
      .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a GCP project id")
      .optional(),
    runtimeImage: z
      .string()
      .regex(
        /^[a-z0-9.-]+(:\d+)?\/[a-z0-9._/-]+(@sha256:[a-f0-9]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/,
        "must be a full image reference with a tag or digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/rag-runtime@sha256:...",
      )
      .optional(),
    network: networkSchema,
    api: serviceSchema,
    worker: serviceSchema.extend({ concurrency: z.number().int().min(1).max(64) }),
    postgres: postgresSchema,
    redis: redisSchema,
    vectorDb: vectorDbSchema,
    llm: llmSchema,
    documents: documentsSchema,
    domain: domainSchema,
    observability: observabilitySchema,
    auth: authSchema,
    kubernetes: kubernetesSchema,
    gitops: gitopsSchema,
    dev: devSchema,
  })
  .superRefine(checkCombinations);

export type PlatformConfig = z.infer<typeof configSchema>;
/** The configuration as the stack gives it, before the schema's checks (what the rules read). */
export type ConfigInput = z.input<typeof configSchema>;

/** Deep merge for plain objects; arrays and scalars from `override` replace those of `base`. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override))
    return override === undefined ? base : override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = deepMerge(base[key], value);
  return merged;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const tierOnly = z.object({ tier: z.enum(TIERS) });

/**
 * Validates the stack's `rag-platform:` values (already parsed from their config strings) on
 * top of the tier's preset. Throws ConfigError with one line per problem. A key under its old
 * name (config-renames.ts) is read under its new one, and `warn` gets one line for it.
 */
export function resolveConfig(
  given: Record<string, unknown>,
  warn: (message: string) => void = () => undefined,
): PlatformConfig {
  const { values: stackValues, warnings, problems } = applyRenames(given);
  if (problems.length > 0) throw new ConfigError(problems);
  warnings.forEach((w) => warn(w));
  const tier = tierOnly.safeParse(stackValues);
  if (!tier.success) {
    throw new ConfigError(tier.error.issues.flatMap((i) => formatIssue(NAMESPACE, i, stackValues)));
  }
  const merged = deepMerge(presetFor(tier.data.tier, stackValues.cloud), stackValues) as Record<
    string,
    unknown
  >;
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.flatMap((i) => formatIssue(NAMESPACE, i, merged)));
  }
  return parsed.data;
}
