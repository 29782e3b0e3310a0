/**
 * The stack configuration: every `rag-platform:` key, declared once.
 *
 * Resolution: tier preset (stacks/presets.ts) <- the stack file's values (deep merge; lists
 * replace) -> this schema. Invalid config fails before any resource is registered, with one
 * line per problem naming the key, the value received and what is allowed.
 */
import { z } from "zod";
import { ConfigError, formatIssue } from "./config-errors";
import { exportersFor, singleGpuHostTypes } from "./capabilities";
import { checkGpuFit } from "./gpu-fit";
import { presetFor } from "./presets";
import { KUBERNETES_MINORS } from "./versions";
import { MAX_VNET_PREFIX as MAX_AZURE_VNET_PREFIX } from "../components/azure/subnet-plan";
import { MAX_VPC_PREFIX as MAX_GCP_VPC_PREFIX } from "../components/gcp/subnet-plan";

export const NAMESPACE = "rag-platform";

export const TIERS = ["dev", "staging", "sme", "enterprise"] as const;
export type Tier = (typeof TIERS)[number];

export const CLOUDS = ["docker", "aws", "azure", "gcp"] as const;
export type Cloud = (typeof CLOUDS)[number];

/** Which clouds each tier runs on (DESIGN.md, "The two axes"). */
export const SUPPORTED_CLOUDS: Record<Tier, readonly Cloud[]> = {
  dev: ["docker"],
  staging: ["aws", "azure", "gcp"],
  sme: ["aws", "azure", "gcp"],
  enterprise: ["aws", "azure", "gcp"],
};

export const VECTOR_DB_MODES = ["qdrant", "qdrant-cloud", "pgvector"] as const;
export const LLM_MODES = ["self-hosted", "managed"] as const;
export const LLM_SERVERS = ["ollama", "vllm"] as const;
export const MANAGED_LLM_PROVIDERS = [
  "openai",
  "anthropic",
  "azure-openai",
  "openai-compatible",
] as const;
export const GPU_TYPES = ["t4", "a10g", "l4", "a100"] as const;
export type GpuType = (typeof GPU_TYPES)[number];
export const NAT_MODES = ["single", "per-az"] as const;
/** Staging's cloud-native observability per cloud (cloudwatch, azure-monitor, cloud-monitoring), or a vendor's from sme on. */
export const OBSERVABILITY_EXPORTERS = [
  "none",
  "cloudwatch",
  "azure-monitor",
  "cloud-monitoring",
  "otlp",
  "datadog",
  "newrelic",
] as const;
export type ObservabilityExporter = (typeof OBSERVABILITY_EXPORTERS)[number];
/** The Datadog sites (where an account lives: its API key works on its own site only). */
export const DATADOG_SITES = [
  "datadoghq.com",
  "us3.datadoghq.com",
  "us5.datadoghq.com",
  "datadoghq.eu",
  "ap1.datadoghq.com",
  "ap2.datadoghq.com",
  "ddog-gov.com",
] as const;
export type DatadogSite = (typeof DATADOG_SITES)[number];
/** New Relic's data centres (a license key works with its account's region only). */
export const NEW_RELIC_REGIONS = ["us", "eu"] as const;
export type NewRelicRegion = (typeof NEW_RELIC_REGIONS)[number];

const REGION_PATTERN: Record<Exclude<Cloud, "docker">, { pattern: RegExp; example: string }> = {
  aws: { pattern: /^[a-z]{2}(-gov)?-[a-z]+-\d$/, example: "eu-west-1" },
  azure: { pattern: /^[a-z]+[a-z0-9]*$/, example: "westeurope" },
  gcp: { pattern: /^[a-z]+-[a-z]+\d$/, example: "europe-west1" },
};

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
  vpcCidr: cidr,
  azCount: z.number().int().min(2).max(3),
  natGateways: z.enum(NAT_MODES),
  existingVpcId: z.string().min(1).optional(),
  existingPublicSubnetIds: z.array(z.string().min(1)).optional(),
  existingPrivateSubnetIds: z.array(z.string().min(1)).optional(),
  clusterApiAllowedCidrs: z.array(cidr),
});

const postgresSchema = z.strictObject({
  version: z.enum(["15", "16", "17"]),
  instanceClass: z.string().min(1),
  storageGiB: z.number().int().min(20).max(65536),
  maxStorageGiB: z.number().int().min(20).max(65536),
  backupRetentionDays: nonNegativeInt.max(35),
  multiAz: z.boolean(),
  deletionProtection: z.boolean(),
});

const redisSchema = z.strictObject({
  nodeType: z.string().min(1),
  replicas: nonNegativeInt.max(5),
  multiAz: z.boolean(),
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
  adminPrincipalArns: z.array(
    z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+$/, "must be an IAM role or user ARN"),
  ),
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

type Ctx = z.RefinementCtx;

function problem(ctx: Ctx, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: "custom", path, message });
}

/** Rules that span keys. Messages say what is allowed; formatIssue adds the key and the value. */
function checkCombinations(cfg: z.input<typeof configSchema>, ctx: Ctx): void {
  const supported = SUPPORTED_CLOUDS[cfg.tier];
  if (!supported.includes(cfg.cloud)) {
    problem(
      ctx,
      ["cloud"],
      `the ${cfg.tier} tier runs on ${supported.join(", ")} (allowed: ${supported.join(", ")})`,
    );
    return;
  }
  checkRegions(cfg, ctx);
  for (const key of ["api", "worker"] as const) {
    const s = cfg[key];
    if (s.minReplicas > s.maxReplicas) {
      problem(ctx, [key, "minReplicas"], `must be at most ${key}.maxReplicas (${s.maxReplicas})`);
    }
    if (s.replicas < s.minReplicas || s.replicas > s.maxReplicas) {
      problem(
        ctx,
        [key, "replicas"],
        `must lie between ${key}.minReplicas (${s.minReplicas}) and ${key}.maxReplicas (${s.maxReplicas})`,
      );
    }
  }
  if (cfg.postgres.maxStorageGiB < cfg.postgres.storageGiB) {
    problem(
      ctx,
      ["postgres", "maxStorageGiB"],
      `must be at least postgres.storageGiB (${cfg.postgres.storageGiB})`,
    );
  }
  if (cfg.redis.multiAz && cfg.redis.replicas < 1) {
    problem(
      ctx,
      ["redis", "replicas"],
      "must be at least 1 when redis.multiAz is true (failover needs a replica)",
    );
  }
  checkVectorDb(cfg, ctx);
  checkLlm(cfg, ctx);
  checkTierCapabilities(cfg, ctx);
  checkKubernetes(cfg, ctx);
  // Azure and GCP refuse the existing-network keys outright (checkAzure, checkGcp).
  if (cfg.cloud !== "azure" && cfg.cloud !== "gcp") checkNetwork(cfg, ctx);
  if (cfg.observability.exporter === "otlp" && !cfg.observability.otlpEndpoint) {
    problem(ctx, ["observability", "otlpEndpoint"], "required when observability.exporter is otlp");
  }
  // A vendor setting beside another vendor's exporter is a mistake that would pass silently.
  for (const [key, exporter] of [
    ["datadogSite", "datadog"],
    ["newRelicRegion", "newrelic"],
    ["otlpAuthHeader", "otlp"],
  ] as const) {
    if (cfg.observability[key] !== undefined && cfg.observability.exporter !== exporter) {
      problem(
        ctx,
        ["observability", key],
        `only used with observability.exporter ${exporter} (the exporter is ${cfg.observability.exporter})`,
      );
    }
  }
  if (cfg.auth.oidcIssuerUrl && !cfg.auth.oidcClientId) {
    problem(ctx, ["auth", "oidcClientId"], "required when auth.oidcIssuerUrl is set");
  }
  if (cfg.cloud === "azure") checkAzure(cfg, ctx);
  if (cfg.cloud === "gcp") checkGcp(cfg, ctx);
  if (cfg.cloud === "gcp" && !cfg.gcpProject) {
    problem(
      ctx,
      ["gcpProject"],
      "required when cloud is gcp (the project id resources are created in)",
    );
  }
}

function checkRegions(cfg: z.input<typeof configSchema>, ctx: Ctx): void {
  if (cfg.cloud === "docker") {
    if (cfg.regions.length > 0)
      problem(ctx, ["regions"], "must be empty on docker (local containers have no region)");
    return;
  }
  const { pattern, example } = REGION_PATTERN[cfg.cloud];
  cfg.regions.forEach((region, i) => {
    if (!pattern.test(region))
      problem(ctx, ["regions", i], `must be a region name on ${cfg.cloud}, such as ${example}`);
  });
  const wanted = cfg.tier === "enterprise" ? "at least 2 regions" : "exactly 1 region";
  const ok = cfg.tier === "enterprise" ? cfg.regions.length >= 2 : cfg.regions.length === 1;
  if (!ok) problem(ctx, ["regions"], `the ${cfg.tier} tier needs ${wanted}, e.g. [${example}]`);
  if (new Set(cfg.regions).size !== cfg.regions.length)
    problem(ctx, ["regions"], "must not repeat a region");
}

function checkVectorDb(cfg: z.input<typeof configSchema>, ctx: Ctx): void {
  if (cfg.vectorDb.mode === "qdrant-cloud" && !cfg.vectorDb.qdrantCloudUrl) {
    problem(
      ctx,
      ["vectorDb", "qdrantCloudUrl"],
      "required when vectorDb.mode is qdrant-cloud (the cluster URL from the Qdrant Cloud console)",
    );
  }
  if (cfg.vectorDb.mode !== "qdrant-cloud" && cfg.vectorDb.qdrantCloudUrl) {
    problem(
      ctx,
      ["vectorDb", "qdrantCloudUrl"],
      `only used when vectorDb.mode is qdrant-cloud (mode is ${cfg.vectorDb.mode})`,
    );
  }
  if (cfg.cloud === "docker" && cfg.vectorDb.mode === "qdrant-cloud") {
    problem(
      ctx,
      ["vectorDb", "mode"],
      "the dev tier runs Qdrant locally (allowed on docker: qdrant, pgvector)",
    );
  }
}

function checkLlm(cfg: z.input<typeof configSchema>, ctx: Ctx): void {
  const llm = cfg.llm;
  if (llm.mode === "self-hosted" && cfg.cloud !== "docker") {
    const fit = checkGpuFit(llm.model, llm.gpuType, llm.gpuCount, llm.modelMemoryGiB);
    if (!fit.fits) problem(ctx, ["llm", "model"], fit.message);
  }
  if (llm.mode === "managed" && !llm.managedProvider) {
    problem(
      ctx,
      ["llm", "managedProvider"],
      `required when llm.mode is managed (allowed: ${MANAGED_LLM_PROVIDERS.join(", ")})`,
    );
  }
  if (
    llm.mode === "managed" &&
    (llm.managedProvider === "openai-compatible" || llm.managedProvider === "azure-openai") &&
    !llm.managedBaseUrl
  ) {
    problem(
      ctx,
      ["llm", "managedBaseUrl"],
      `required when llm.managedProvider is ${llm.managedProvider}`,
    );
  }
  if (cfg.cloud === "docker" && llm.server !== "ollama") {
    problem(
      ctx,
      ["llm", "server"],
      "the dev tier serves models with Ollama (allowed on docker: ollama)",
    );
  }
}

/** What each tier builds differs: refuse choices a tier does not build, saying what it does. */
function checkTierCapabilities(cfg: z.input<typeof configSchema>, ctx: Ctx): void {
  const allowedExporters = exportersFor(cfg.tier, cfg.cloud);
  if (!allowedExporters.includes(cfg.observability.exporter)) {
    problem(
      ctx,
      ["observability", "exporter"],
      `the ${cfg.tier} tier on ${cfg.cloud} builds ${allowedExporters[0]} (allowed: ${allowedExporters.join(", ")})`,
    );
  }
  if (cfg.tier !== "staging") return;
  if (cfg.vectorDb.mode === "qdrant") {
    problem(
      ctx,
      ["vectorDb", "mode"],
      "staging uses managed vector storage (allowed: pgvector, qdrant-cloud)",
    );
  }
  if (cfg.llm.mode === "self-hosted") {
    const hostGpus = singleGpuHostTypes(cfg.cloud);
    if (!hostGpus.includes(cfg.llm.gpuType)) {
      problem(
        ctx,
        ["llm", "gpuType"],
        `staging runs Ollama on one single-GPU machine (allowed on ${cfg.cloud}: ${hostGpus.join(", ")})`,
      );
    }
    if (cfg.llm.gpuCount !== 1)
      problem(ctx, ["llm", "gpuCount"], "staging's LLM host has exactly 1 GPU (allowed: 1)");
    if (cfg.llm.server !== "ollama")
      problem(ctx, ["llm", "server"], "staging's LLM host runs Ollama (allowed: ollama)");
  }
  if (
    cfg.cloud === "aws" &&
    cfg.domain.certificate &&
    !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/.test(cfg.domain.certificate)
  ) {
    problem(
      ctx,
      ["domain", "certificate"],
      "must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
    );
  }
}

function checkKubernetes(cfg: z.input<typeof configSchema>, ctx: Ctx): void {
  for (const pool of ["systemNodes", "gpuNodes"] as const) {
    const p = cfg.kubernetes[pool];
    if (p.min > p.max)
      problem(
        ctx,
        ["kubernetes", pool, "min"],
        `must be at most kubernetes.${pool}.max (${p.max})`,
      );
    if (p.desired < p.min || p.desired > p.max) {
      problem(
        ctx,
        ["kubernetes", pool, "desired"],
        `must lie between kubernetes.${pool}.min (${p.min}) and kubernetes.${pool}.max (${p.max})`,
      );
    }
  }
  if (cfg.gitops.enabled && !cfg.gitops.repoUrl) {
    problem(
      ctx,
      ["gitops", "repoUrl"],
      "required when gitops.enabled is true (the repository Argo CD syncs from)",
    );
  }
}

function checkNetwork(cfg: z.input<typeof configSchema>, ctx: Ctx): void {
  const n = cfg.network;
  const subnetKeys = ["existingPublicSubnetIds", "existingPrivateSubnetIds"] as const;
  if (n.existingVpcId) {
    if (!n.existingPrivateSubnetIds || n.existingPrivateSubnetIds.length < 2) {
      problem(
        ctx,
        ["network", "existingPrivateSubnetIds"],
        "needs at least 2 subnet ids (in different zones) when network.existingVpcId is set",
      );
    }
    if (cfg.domain?.certificate && (n.existingPublicSubnetIds?.length ?? 0) < 2) {
      problem(
        ctx,
        ["network", "existingPublicSubnetIds"],
        "needs at least 2 public subnet ids (in different zones) for the internet-facing load balancer that domain.certificate asks for",
      );
    }
  } else {
    for (const key of subnetKeys) {
      if (n[key]) problem(ctx, ["network", key], "only used together with network.existingVpcId");
    }
  }
}

/** Azure names its sizes its own way, and the Azure platform builds what these rules allow. */
function checkAzure(cfg: z.input<typeof configSchema>, ctx: Ctx): void {
  const n = cfg.network;
  for (const key of [
    "existingVpcId",
    "existingPublicSubnetIds",
    "existingPrivateSubnetIds",
  ] as const) {
    if (n[key] !== undefined)
      problem(
        ctx,
        ["network", key],
        "only used on aws (the Azure platform creates its virtual network)",
      );
  }
  if (Number(n.vpcCidr.split("/")[1]) > MAX_AZURE_VNET_PREFIX) {
    problem(
      ctx,
      ["network", "vpcCidr"],
      `is too small for the Azure subnets (allowed: a /${MAX_AZURE_VNET_PREFIX} or larger, e.g. 10.40.0.0/16)`,
    );
  }
  if (cfg.tier === "dev") return;
  const pg = cfg.postgres;
  if (!/^Standard_[BDE]\d+[a-z]*(_v\d+)?$/.test(pg.instanceClass)) {
    problem(
      ctx,
      ["postgres", "instanceClass"],
      "must be an Azure PostgreSQL flexible server size (allowed: Standard_B<n>… burstable, Standard_D<n>ds_v5… general purpose, Standard_E<n>ds_v5… memory optimized)",
    );
  } else if (pg.multiAz && pg.instanceClass.startsWith("Standard_B")) {
    problem(
      ctx,
      ["postgres", "multiAz"],
      `needs a general purpose or memory optimized size on azure, not the burstable ${pg.instanceClass} (e.g. Standard_D2ds_v5)`,
    );
  }
  if (pg.storageGiB > 32767)
    problem(
      ctx,
      ["postgres", "storageGiB"],
      "must be at most 32767 on azure (the largest flexible server)",
    );
  if (!/^(Balanced_B|MemoryOptimized_M|ComputeOptimized_X)\d+$/.test(cfg.redis.nodeType)) {
    problem(
      ctx,
      ["redis", "nodeType"],
      "must be an Azure Managed Redis size (allowed: Balanced_B<n>, MemoryOptimized_M<n>, ComputeOptimized_X<n>, e.g. Balanced_B1)",
    );
  }
  if (cfg.domain.certificate !== undefined) {
    if (
      !/^https:\/\/[a-z0-9-]{3,24}\.vault\.azure\.net\/secrets\/[A-Za-z0-9-]+(\/[0-9a-f]{32})?$/.test(
        cfg.domain.certificate,
      )
    ) {
      problem(
        ctx,
        ["domain", "certificate"],
        "must be a Key Vault certificate's secret URL on azure (https://<vault>.vault.azure.net/secrets/<certificate>)",
      );
    }
    if (!cfg.domain.hostname)
      problem(
        ctx,
        ["domain", "hostname"],
        "required with domain.certificate on azure (the certificate is bound to the API's custom domain)",
      );
  }
}

/** GCP names its sizes its own way, and the GCP platform builds what these rules allow. */
function checkGcp(cfg: z.input<typeof configSchema>, ctx: Ctx): void {
  const n = cfg.network;
  for (const key of [
    "existingVpcId",
    "existingPublicSubnetIds",
    "existingPrivateSubnetIds",
  ] as const) {
    if (n[key] !== undefined)
      problem(ctx, ["network", key], "only used on aws (the GCP platform creates its VPC network)");
  }
  if (Number(n.vpcCidr.split("/")[1]) > MAX_GCP_VPC_PREFIX) {
    problem(
      ctx,
      ["network", "vpcCidr"],
      `is too small for the GCP subnet (allowed: a /${MAX_GCP_VPC_PREFIX} or larger, e.g. 10.40.0.0/16)`,
    );
  }
  if (cfg.tier === "dev") return;
  if (!/^db-(custom-\d+-\d+|perf-optimized-N-\d+)$/.test(cfg.postgres.instanceClass)) {
    problem(
      ctx,
      ["postgres", "instanceClass"],
      "must be a Cloud SQL machine type (allowed: db-custom-<vCPUs>-<MiB>, e.g. db-custom-2-7680, or db-perf-optimized-N-<vCPUs>)",
    );
  }
  const redis = /^(BASIC|STANDARD_HA)-(\d+)$/.exec(cfg.redis.nodeType);
  if (!redis || Number(redis[2]) < 1 || Number(redis[2]) > 300) {
    problem(
      ctx,
      ["redis", "nodeType"],
      "must be a Memorystore tier and size in GB (allowed: BASIC-<1-300>, STANDARD_HA-<1-300>, e.g. STANDARD_HA-1)",
    );
  } else if (redis[1] === "BASIC" && (cfg.redis.multiAz || cfg.redis.replicas > 0)) {
    problem(
      ctx,
      ["redis", "nodeType"],
      `got a BASIC instance, which has no replica; redis.replicas and multiAz need STANDARD_HA (e.g. STANDARD_HA-${redis[2]})`,
    );
  }
  if (cfg.domain.certificate !== undefined) {
    if (
      cfg.domain.certificate !== "google-managed" &&
      !/^projects\/[a-z][a-z0-9-]+\/global\/sslCertificates\/[a-z]([-a-z0-9]*[a-z0-9])?$/.test(
        cfg.domain.certificate,
      )
    ) {
      problem(
        ctx,
        ["domain", "certificate"],
        'must be "google-managed" or a Compute Engine SSL certificate on gcp (projects/<project>/global/sslCertificates/<name>)',
      );
    }
    if (!cfg.domain.hostname)
      problem(
        ctx,
        ["domain", "hostname"],
        "required with domain.certificate on gcp (the load balancer's certificate is for that name)",
      );
  }
}

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
 * top of the tier's preset. Throws ConfigError with one line per problem.
 */
export function resolveConfig(stackValues: Record<string, unknown>): PlatformConfig {
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
