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
  GLOBAL_ROUTING,
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
const portNumber = z.number().int().min(1).max(65535);
const email = z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "must be an e-mail address");
const httpsUrl = z.string().regex(/^https:\/\/[^\s]+$/, "must be an https:// URL");

/** Size of one horizontally scaled service (the API, the ingest worker). */
const serviceSchema = z.strictObject({
  replicas: positiveInt.describe("Replicas at the first deployment."),
  minReplicas: positiveInt.describe("Fewest replicas the autoscaler keeps."),
  maxReplicas: positiveInt.describe("Most replicas the autoscaler adds."),
  cpuMillicores: z.number().int().min(100).max(16000).describe("CPU per replica, in millicores."),
  memoryMiB: z.number().int().min(128).max(131072).describe("Memory per replica, in MiB."),
});

const networkSchema = z.strictObject({
  cidr: cidr.describe(
    "The network's address range (AWS VPC, Azure VNet, GCP VPC). Azure needs a /21 or larger, GCP a /20 or larger (a /16 or larger for GKE).",
  ),
  zoneCount: z.number().int().min(2).max(3).describe("Availability zones the network spans."),
  natGateways: z
    .enum(NAT_MODES)
    .describe("One NAT gateway, or one per zone (a zone's outage then spares the others' egress)."),
  existingNetworkId: z
    .string()
    .min(1)
    .optional()
    .describe("An AWS VPC to deploy into instead of creating one (with its subnets, below)."),
  existingPublicSubnetIds: z
    .array(z.string().min(1))
    .optional()
    .describe("Public subnets of that VPC, for an internet-facing load balancer."),
  existingPrivateSubnetIds: z
    .array(z.string().min(1))
    .optional()
    .describe("Private subnets of that VPC (two or more zones), for everything else."),
  regionCidrs: z
    .array(cidr)
    .optional()
    .describe(
      "Enterprise: each region's network range, in the order of regions (they must not overlap). Default: network.cidr for the primary, and the next /16 for each further region.",
    ),
  clusterApiAllowedCidrs: z
    .array(cidr)
    .describe(
      "Addresses allowed to reach the Kubernetes API from the internet. Empty keeps the endpoint private.",
    ),
});

const postgresSchema = z.strictObject({
  version: z.enum(["15", "16", "17"]).describe("PostgreSQL major version."),
  size: z
    .string()
    .min(1)
    .describe(
      "The cloud's size name: an RDS instance class, a flexible server size (Standard_D or Standard_E for high availability), a Cloud SQL machine type.",
    ),
  storageGiB: z.number().int().min(20).max(65536).describe("Storage at creation, in GiB."),
  maxStorageGiB: z
    .number()
    .int()
    .min(20)
    .max(65536)
    .describe("Ceiling storage may grow to by itself, in GiB (AWS, GCP)."),
  backupRetentionDays: nonNegativeInt.max(35).describe("Days automated backups are kept."),
  highAvailability: z.boolean().describe("A standby in another zone that takes over on failure."),
  deletionProtection: z.boolean().describe("Refuse to delete the database (until turned off)."),
});

const redisSchema = z.strictObject({
  size: z
    .string()
    .min(1)
    .describe(
      "The cloud's size name: an ElastiCache node type, an Azure Managed Redis size, a Memorystore tier and size (STANDARD_HA-1).",
    ),
  replicas: nonNegativeInt.max(5).describe("Read replicas beside the primary."),
  highAvailability: z
    .boolean()
    .describe("Replicas in other zones with automatic failover (needs a replica)."),
});

const vectorDbSchema = z.strictObject({
  mode: z
    .enum(VECTOR_DB_MODES)
    .describe(
      "Where vectors live: Qdrant on the cluster (Kubernetes tiers, dev), Qdrant Cloud, or pgvector in Postgres.",
    ),
  qdrantCloudUrl: httpsUrl
    .optional()
    .describe("The Qdrant Cloud cluster's URL (with mode qdrant-cloud)."),
  replicas: positiveInt.max(9).describe("Qdrant nodes on the cluster."),
  storageGiB: z.number().int().min(1).max(16384).describe("Volume per Qdrant node, in GiB."),
  collection: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '_' or '-'")
    .describe("The Qdrant collection of the chunks."),
});

const llmSchema = z.strictObject({
  mode: z
    .enum(LLM_MODES)
    .describe("Run the models on the platform's GPUs, or call a hosted API (managed)."),
  server: z
    .enum(LLM_SERVERS)
    .describe("The model server: Ollama, or vLLM (with a text-embeddings server beside it)."),
  model: z
    .string()
    .min(1)
    .describe(
      "The generation model: an Ollama tag or a Hugging Face id, checked against the GPUs' memory.",
    ),
  embeddingModel: z.string().min(1).describe("The embedding model."),
  gpuType: z.enum(GPU_TYPES).describe("The GPU the model servers run on."),
  gpuCount: z
    .number()
    .int()
    .min(1)
    .max(8)
    .describe("GPUs per model server (tensor parallel with vLLM)."),
  managedProvider: z
    .enum(MANAGED_LLM_PROVIDERS)
    .optional()
    .describe("The hosted API (with mode managed). Its key is a secret you fill."),
  managedBaseUrl: httpsUrl
    .optional()
    .describe("The hosted API's URL (required for azure-openai and openai-compatible)."),
  modelSources: z
    .record(z.string(), z.string())
    .optional()
    .describe(
      "The organisation's own store for a model, by model name (llm.model, or llm.embeddingModel for the embeddings server beside vLLM): s3://<bucket>/<prefix> (AWS, read with the model server's role) or hf://<org>/<repo>@<commit> (a private Hugging Face repository, with the huggingface-token secret). Default: the public hub under the model's id.",
    ),
  modelSourceKmsKeyArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/\S+$/, "must be a KMS key ARN")
    .optional()
    .describe(
      "The KMS key of the s3:// model store's objects, when it is not S3's own: the model server may decrypt with it.",
    ),
  modelMemoryGiB: z
    .number()
    .min(1)
    .max(2048)
    .optional()
    .describe("GPU memory a model outside the fit catalogue needs (stacks/gpu-fit.ts)."),
});

const nodePoolSchema = z.strictObject({
  min: nonNegativeInt.max(100).describe("Fewest nodes the autoscaler keeps."),
  max: positiveInt.max(100).describe("Most nodes the autoscaler adds."),
  desired: nonNegativeInt.max(100).describe("Nodes at creation (the autoscaler owns it after)."),
});

const kubernetesSchema = z.strictObject({
  version: z
    .enum(KUBERNETES_MINORS)
    .describe(
      "The Kubernetes minor version. Every chart the cluster runs must support it (stacks/versions.ts).",
    ),
  systemNodeType: z
    .string()
    .min(1)
    .describe("The system pool's machine type, in the cloud's names (add-ons and the runtime)."),
  systemNodes: nodePoolSchema.describe("The system node pool's bounds."),
  gpuNodes: nodePoolSchema.describe("The GPU node pool's bounds (self-hosted LLM)."),
  gpuZones: z
    .array(
      z.string().regex(/^[a-z]+-[a-z]+\d-[a-z]$/, "must be a zone name such as europe-west1-b"),
    )
    .optional()
    .describe(
      "GCP: the zones of the GPU pool, those of the region that offer llm.gpuType (gcloud compute accelerator-types list). Default: the cluster's three zones.",
    ),
  adminPrincipals: z
    .array(z.string().min(1))
    .describe(
      "Who gets cluster-admin: IAM role or user ARNs (AWS), user:, group: or servicePrincipal:<Entra object id> (Azure), IAM members (GCP).",
    ),
});

const gitopsSchema = z.strictObject({
  enabled: z
    .boolean()
    .describe("Install Argo CD with an Application syncing the repository below."),
  repoUrl: z
    .string()
    .regex(/^(https:\/\/|git@)[^\s]+$/, "must be an https:// or git@ repository URL")
    .optional()
    .describe("The Git repository Argo CD syncs."),
  path: z.string().min(1).describe("The path in that repository."),
  targetRevision: z.string().min(1).describe("The branch, tag or commit."),
});

const documentsSchema = z.strictObject({
  noncurrentVersionRetentionDays: z
    .number()
    .int()
    .min(1)
    .max(3650)
    .describe("Days an overwritten or deleted document's old versions are kept."),
  maxUploadMiB: z.number().int().min(1).max(1024).describe("Largest upload, in MiB."),
});

const domainSchema = z.strictObject({
  hostname: z
    .string()
    .regex(
      /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
      "must be a DNS name such as rag.example.com",
    )
    .optional()
    .describe("The API's public name."),
  certificate: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Its certificate: an ACM ARN (AWS), a Key Vault secret URL (Azure), google-managed or a certificate path (GCP). Without one the API stays internal.",
    ),
  hostedZoneId: z
    .string()
    .regex(/^Z[A-Z0-9]{1,31}$/, "must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ")
    .optional()
    .describe(
      "Enterprise on AWS: the Route 53 public zone of domain.hostname, where the latency records, health checks and each region's certificate validation go.",
    ),
});

/** One ingest role on the Kafka bus: its pods' size and how KEDA scales them. */
const ingestRoleSchema = z.strictObject({
  minReplicas: positiveInt.describe("Fewest replicas KEDA keeps (2 or more: one per zone)."),
  maxReplicas: positiveInt.describe(
    "Most replicas KEDA adds: at most the topics' partitions (a consumer past them sits idle).",
  ),
  lagThreshold: positiveInt.describe(
    "Records behind per replica KEDA aims for: the group's lag over this is the replica count.",
  ),
  cpuMillicores: z.number().int().min(100).max(16000).describe("CPU per replica, in millicores."),
  memoryMiB: z.number().int().min(128).max(131072).describe("Memory per replica, in MiB."),
});

const enterpriseSchema = z.strictObject({
  routing: z
    .enum(GLOBAL_ROUTING)
    .describe(
      "How users reach the nearest healthy region: Route 53 latency records with a health check each, or AWS Global Accelerator (two static anycast addresses, failover without waiting for DNS caches).",
    ),
  trafficDialPercent: z
    .record(z.string(), z.number().int().min(0).max(100))
    .optional()
    .describe(
      "global-accelerator: the share of its nearby traffic each region keeps (the rest goes to the next nearest), by region name. Default 100 for every region.",
    ),
  kafka: z
    .strictObject({
      version: z
        .string()
        .regex(/^\d+\.\d+\.(\d+|x)$/, "must be an MSK Kafka version such as 3.8.x")
        .describe("The MSK Kafka version."),
      brokerType: z
        .string()
        .regex(
          /^kafka\.[a-z0-9]+\.[a-z0-9]+$/,
          "must be an MSK broker type such as kafka.m7g.large",
        )
        .describe("The MSK broker instance type (three brokers per region, one per zone)."),
      brokerStorageGiB: z
        .number()
        .int()
        .min(1)
        .max(16384)
        .describe("EBS storage per broker, in GiB."),
      retentionHours: positiveInt.max(8760).describe("Hours the ingest topics keep a record."),
    })
    .describe("The ingest log: Amazon MSK in every region, replicated from the primary."),
  ingest: z
    .strictObject({
      partitions: positiveInt
        .max(1000)
        .describe(
          "Partitions of each ingest topic (KAFKA_PARTITIONS): the most consumers one role can use.",
        ),
      parse: ingestRoleSchema.describe("The parse role: originals to chunks."),
      embed: ingestRoleSchema.describe(
        "The embed role: chunks to vectors, on the embeddings server.",
      ),
      index: ingestRoleSchema.describe(
        "The index role: chunks and vectors into the region's stores.",
      ),
    })
    .describe(
      "The ingest roles on the Kafka bus, each a Deployment of its own in every region, scaled by KEDA on its consumer group's lag.",
    ),
  embeddingGpuType: z
    .enum(GPU_TYPES)
    .describe("The GPU of the embeddings and reranking pool (its own node pool per region)."),
  embeddingGpuNodes: nodePoolSchema.describe("The embeddings GPU pool's bounds, per region."),
  homeRegion: z
    .string()
    .optional()
    .describe(
      "Where what the regions replicate from lives: the multi-region key's primary, the secrets, the Aurora global database's entry, the account's trail. Defaults to the first region; set it at the first deployment and keep it when a failover reorders regions.",
    ),
});

const siemSchema = z.strictObject({
  kind: z
    .enum(["splunk", "http", "otlp"])
    .describe(
      "splunk: its HTTP Event Collector, one Firehose stream and HEC token per audit stream; http: any endpoint taking Firehose's HTTP delivery (Elastic, Sentinel's), one Firehose stream per audit stream; otlp: an OTLP logs endpoint, CloudTrail, EKS audit and findings read from CloudWatch Logs by the in-cluster SIEM forwarder.",
    ),
  endpoint: httpsUrl.describe("Where the audit logs and findings go."),
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9 _.-]{1,64}$/,
      "must be 1-64 letters, digits, spaces, dots, dashes or underscores",
    )
    .optional()
    .describe("The endpoint's name, as Firehose shows it (http). Default SIEM."),
  authHeader: z
    .string()
    .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "must be an HTTP header name such as authorization")
    .optional()
    .describe(
      "The header the OTLP endpoint authenticates with (otlp). Its value is the siem-credential secret you fill; without it, the endpoint is called unauthenticated.",
    ),
});

const securitySchema = z.strictObject({
  mesh: z
    .enum(["istio-ambient", "none"])
    .describe(
      "Mutual TLS between every pair of services and default-deny by identity: Istio in ambient mode (Kubernetes tiers), generated from the flow table with the NetworkPolicies.",
    ),
  releases: z
    .enum(["rollouts", "deployments"])
    .describe(
      "How the API and the model servers are released: Argo Rollouts (canary on the SLOs, blue/green for models) or plain rolling Deployments.",
    ),
  audit: z
    .strictObject({
      enabled: z
        .boolean()
        .describe(
          "CloudTrail under Object Lock, GuardDuty, Security Hub, Macie and the export to the SIEM (AWS).",
        ),
      retentionDays: z
        .number()
        .int()
        .min(1)
        .max(36500)
        .describe("Days each audit record is locked (compliance mode) and kept."),
      siem: siemSchema.optional().describe("The SIEM the audit logs and findings go to."),
    })
    .describe("The audit trail and its export."),
});

const observabilitySchema = z.strictObject({
  exporter: z
    .enum(OBSERVABILITY_EXPORTERS)
    .describe(
      "Where telemetry goes: the cloud's own service (staging), or OpenTelemetry to a backend (Kubernetes tiers).",
    ),
  otlpEndpoint: httpsUrl.optional().describe("The OTLP/HTTP endpoint (with exporter otlp)."),
  otlpAuthHeader: z
    .string()
    .regex(
      /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/,
      "must be an HTTP header name such as authorization or x-honeycomb-team",
    )
    .optional()
    .describe(
      "The header the OTLP endpoint authenticates with (authorization, x-honeycomb-team). Its value is a secret you fill.",
    ),
  datadogSite: z
    .enum(DATADOG_SITES)
    .optional()
    .describe("The Datadog site of the account (its key works there only). Default datadoghq.com."),
  newRelicRegion: z
    .enum(NEW_RELIC_REGIONS)
    .optional()
    .describe("The New Relic region of the account. Default us."),
  alertEmails: z.array(email).describe("Addresses alerts go to (each confirms once)."),
  azureActionGroupIds: z
    .array(
      z
        .string()
        .regex(
          /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/microsoft\.insights\/actionGroups\/[^/]+$/i,
          "must be an action group's resource id (/subscriptions/<id>/resourceGroups/<group>/providers/microsoft.insights/actionGroups/<name>)",
        ),
    )
    .optional()
    .describe(
      "Azure: action groups made outside the stack the alerts also notify, such as one with PagerDuty's webhook (its URL holds a key, so it stays out of the stack).",
    ),
  gcpNotificationChannels: z
    .array(
      z
        .string()
        .regex(
          /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/notificationChannels\/\d+$/,
          "must be a notification channel's name (projects/<project>/notificationChannels/<id>)",
        ),
    )
    .optional()
    .describe(
      "GCP: Cloud Monitoring notification channels made outside the stack the alerts also notify, such as PagerDuty's (its integration key stays out of the stack).",
    ),
  logRetentionDays: z.number().int().min(1).max(3653).describe("Days logs are kept."),
  stack: z
    .enum(["in-cluster", "none"])
    .describe(
      "in-cluster: each region runs Prometheus, Alertmanager, Grafana, Tempo and Loki (Kubernetes tiers), besides the exporter.",
    ),
  smtp: z
    .strictObject({
      smarthost: z
        .string()
        .regex(
          /^[a-z0-9.-]+:\d+$/,
          "must be host:port, e.g. email-smtp.eu-west-1.amazonaws.com:587",
        )
        .describe("The SMTP server Alertmanager sends tickets through."),
      from: email.describe("The sender of ticket e-mails."),
      username: z
        .string()
        .min(1)
        .describe("The SMTP user (its password is a secret the operator fills)."),
    })
    .optional()
    .describe("How the in-cluster Alertmanager e-mails tickets to alertEmails."),
});

const authSchema = z.strictObject({
  oidcIssuerUrl: httpsUrl
    .optional()
    .describe("Single sign-on: the OpenID Connect issuer (Entra ID, Okta, Cognito)."),
  oidcClientId: z.string().min(1).optional().describe("The application's client id at the issuer."),
  oidcScopes: z
    .string()
    .regex(/(^|\s)openid(\s|$)/, 'must include "openid" (space-separated scopes)')
    .optional()
    .describe(
      "Scopes to ask for instead of the runtime's openid profile email offline_access (Cognito: openid profile email).",
    ),
});

const port = (what: string) => portNumber.describe(`Host port of ${what} on 127.0.0.1.`);

const devSchema = z.strictObject({
  gpu: z.boolean().describe("Give Ollama the machine's NVIDIA GPUs (needs the Container Toolkit)."),
  tools: z
    .boolean()
    .describe(
      "Run the dev tools beside the app: RedisInsight, and Prometheus with Grafana showing the runtime's dashboard.",
    ),
  hostPorts: z.strictObject({
    api: port("the API and web UI"),
    postgres: port("Postgres"),
    redis: port("Redis"),
    qdrant: port("Qdrant"),
    ollama: port("Ollama"),
    redisInsight: port("RedisInsight (with dev.tools)"),
    prometheus: port("Prometheus (with dev.tools)"),
    grafana: port("Grafana (with dev.tools)"),
  }),
});

export const configSchema = z
  .strictObject({
    tier: z.enum(TIERS).describe("The tier (required)."),
    cloud: z.enum(CLOUDS).describe("The cloud; dev runs on Docker."),
    regions: z
      .array(z.string().min(1))
      .describe(
        "The regions, primary first: none on Docker, one for staging and sme, two or more for enterprise.",
      ),
    gcpProject: z
      .string()
      .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a GCP project id")
      .optional()
      .describe("The GCP project resources are created in (required on gcp)."),
    runtimeImage: z
      .string()
      .regex(
        /^[a-z0-9.-]+(:\d+)?\/[a-z0-9._/-]+(@sha256:[a-f0-9]{64}|:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/,
        "must be a full image reference with a tag or digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/rag-runtime@sha256:...",
      )
      .optional()
      .describe("A runtime image already pushed (tag or digest) instead of building runtime/."),
    network: networkSchema,
    api: serviceSchema.describe("The API (and web UI) service."),
    worker: serviceSchema
      .extend({
        concurrency: z
          .number()
          .int()
          .min(1)
          .max(64)
          .describe("Documents one replica ingests at once."),
      })
      .describe("The ingest worker."),
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
    security: securitySchema,
    enterprise: enterpriseSchema.describe("What only the enterprise tier builds."),
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
