/**
 * Tier presets: every default of every `rag-platform:` key, per tier. The stack file overrides
 * any of them. What is named in a cloud's own words (sizes, node types, regions, the exporter
 * built) comes from that tier x cloud's registry entry (stacks/registry.ts).
 */
import type { Cloud, Tier } from "./config";
import { CLOUDS_BUILT, PLATFORMS } from "./registry";

type DeepPartialRecord = Record<string, unknown>;

const DEFAULT_CLOUD: Record<Tier, Cloud> = {
  dev: "docker",
  staging: "aws",
  sme: "aws",
  enterprise: "aws",
};

const COMMON = {
  network: {
    cidr: "10.40.0.0/16",
    zoneCount: 2,
    natGateways: "single",
    clusterApiAllowedCidrs: [],
  },
  documents: { noncurrentVersionRetentionDays: 30, maxUploadMiB: 50 },
  domain: {},
  auth: {},
  kubernetes: {
    version: "1.35",
    systemNodes: { min: 2, max: 4, desired: 2 },
    gpuNodes: { min: 1, max: 2, desired: 1 },
    adminPrincipals: [],
  },
  gitops: { enabled: false, path: "deploy", targetRevision: "main" },
  security: {
    mesh: "none",
    releases: "deployments",
    audit: { enabled: false, retentionDays: 365 },
  },
  enterprise: {
    routing: "route53-latency",
    kafka: {
      version: "3.8.x",
      brokerType: "kafka.m7g.large",
      brokerStorageGiB: 1000,
      retentionHours: 168,
    },
    // Two of each role per region (one per zone at least), up to the topics' 24 partitions.
    ingest: {
      partitions: 24,
      parse: {
        minReplicas: 2,
        maxReplicas: 12,
        lagThreshold: 20,
        cpuMillicores: 2000,
        memoryMiB: 4096,
      },
      embed: {
        minReplicas: 2,
        maxReplicas: 8,
        lagThreshold: 50,
        cpuMillicores: 500,
        memoryMiB: 1024,
      },
      index: {
        minReplicas: 2,
        maxReplicas: 12,
        lagThreshold: 50,
        cpuMillicores: 1000,
        memoryMiB: 2048,
      },
    },
    embeddingGpuType: "a10g",
    embeddingGpuNodes: { min: 1, max: 4, desired: 1 },
  },
  dev: {
    gpu: false,
    tools: true,
    hostPorts: {
      api: 8080,
      postgres: 5432,
      redis: 6379,
      qdrant: 6333,
      ollama: 11434,
      redisInsight: 5540,
      prometheus: 9090,
      grafana: 3000,
    },
  },
};

interface TierPreset {
  readonly kubernetes?: object;
  readonly api: object;
  readonly worker: object;
  readonly postgres: object;
  readonly redis: object;
  readonly vectorDb: object;
  readonly llm: { readonly gpuType: string; readonly [key: string]: unknown };
  readonly observability: {
    readonly alertEmails: string[];
    readonly logRetentionDays: number;
    readonly stack?: string;
  };
  readonly network?: object;
  readonly documents?: object;
  readonly security?: object;
  readonly gitops?: object;
}

const TIER_PRESETS: Record<Tier, TierPreset> = {
  dev: {
    api: { replicas: 1, minReplicas: 1, maxReplicas: 1, cpuMillicores: 1000, memoryMiB: 1024 },
    worker: {
      replicas: 1,
      minReplicas: 1,
      maxReplicas: 1,
      cpuMillicores: 1000,
      memoryMiB: 1024,
      concurrency: 2,
    },
    postgres: {
      version: "16",
      size: "local",
      storageGiB: 20,
      maxStorageGiB: 20,
      backupRetentionDays: 0,
      highAvailability: false,
      deletionProtection: false,
    },
    redis: { size: "local", replicas: 0, highAvailability: false },
    vectorDb: { mode: "qdrant", replicas: 1, storageGiB: 10, collection: "chunks" },
    llm: {
      mode: "self-hosted",
      server: "ollama",
      model: "llama3.2:1b",
      embeddingModel: "nomic-embed-text:v1.5",
      gpuType: "t4",
      gpuCount: 1,
    },
    observability: { alertEmails: [], logRetentionDays: 7 },
  },
  staging: {
    api: { replicas: 2, minReplicas: 2, maxReplicas: 4, cpuMillicores: 1000, memoryMiB: 2048 },
    worker: {
      replicas: 1,
      minReplicas: 1,
      maxReplicas: 4,
      cpuMillicores: 1000,
      memoryMiB: 2048,
      concurrency: 4,
    },
    postgres: {
      version: "16",
      storageGiB: 50,
      maxStorageGiB: 200,
      backupRetentionDays: 7,
      highAvailability: false,
      deletionProtection: false,
    },
    redis: { replicas: 1, highAvailability: false },
    vectorDb: { mode: "pgvector", replicas: 1, storageGiB: 20, collection: "chunks" },
    llm: {
      mode: "self-hosted",
      server: "ollama",
      model: "llama3.1:8b",
      embeddingModel: "nomic-embed-text:v1.5",
      gpuType: "t4",
      gpuCount: 1,
    },
    documents: { noncurrentVersionRetentionDays: 30, maxUploadMiB: 100 },
    observability: { alertEmails: [], logRetentionDays: 30 },
  },
  sme: {
    network: { zoneCount: 3, natGateways: "per-zone" },
    kubernetes: {
      systemNodes: { min: 3, max: 6, desired: 3 },
      gpuNodes: { min: 1, max: 2, desired: 1 },
    },
    api: { replicas: 3, minReplicas: 3, maxReplicas: 10, cpuMillicores: 1000, memoryMiB: 2048 },
    worker: {
      replicas: 2,
      minReplicas: 2,
      maxReplicas: 10,
      cpuMillicores: 1000,
      memoryMiB: 2048,
      concurrency: 4,
    },
    postgres: {
      version: "16",
      storageGiB: 100,
      maxStorageGiB: 500,
      backupRetentionDays: 14,
      highAvailability: true,
      deletionProtection: true,
    },
    redis: { replicas: 1, highAvailability: true },
    vectorDb: { mode: "qdrant", replicas: 3, storageGiB: 50, collection: "chunks" },
    llm: {
      mode: "self-hosted",
      server: "vllm",
      model: "meta-llama/Llama-3.1-8B-Instruct",
      embeddingModel: "nomic-ai/nomic-embed-text-v1.5",
      gpuType: "a10g",
      gpuCount: 1,
    },
    documents: { noncurrentVersionRetentionDays: 90, maxUploadMiB: 100 },
    observability: { alertEmails: [], logRetentionDays: 90 },
  },
  enterprise: {
    network: { zoneCount: 3, natGateways: "per-zone" },
    kubernetes: {
      systemNodes: { min: 3, max: 12, desired: 3 },
      // Two generation servers per region, one per zone.
      gpuNodes: { min: 2, max: 4, desired: 2 },
    },
    api: { replicas: 4, minReplicas: 4, maxReplicas: 30, cpuMillicores: 2000, memoryMiB: 4096 },
    worker: {
      replicas: 4,
      minReplicas: 4,
      maxReplicas: 40,
      cpuMillicores: 2000,
      memoryMiB: 4096,
      concurrency: 8,
    },
    postgres: {
      version: "16",
      storageGiB: 500,
      maxStorageGiB: 4000,
      backupRetentionDays: 35,
      highAvailability: true,
      deletionProtection: true,
    },
    redis: { replicas: 2, highAvailability: true },
    vectorDb: { mode: "qdrant", replicas: 3, storageGiB: 200, collection: "chunks" },
    llm: {
      mode: "self-hosted",
      server: "vllm",
      model: "meta-llama/Llama-3.1-8B-Instruct",
      embeddingModel: "nomic-ai/nomic-embed-text-v1.5",
      gpuType: "a100",
      gpuCount: 1,
    },
    documents: { noncurrentVersionRetentionDays: 365, maxUploadMiB: 200 },
    observability: { alertEmails: [], logRetentionDays: 365, stack: "in-cluster" },
    // Argo CD syncs the environment's own manifests into every region (gitops.repoUrl names them).
    gitops: { enabled: true, path: "deploy", targetRevision: "main" },
    // Seven years of audit records (a common regulatory floor).
    security: {
      mesh: "istio-ambient",
      releases: "rollouts",
      audit: { enabled: true, retentionDays: 2555 },
    },
  },
};

function isCloud(value: unknown): value is Cloud {
  return value === "docker" || value === "aws" || value === "azure" || value === "gcp";
}

/**
 * The preset for a tier on a cloud. An unknown `cloud` falls back to the tier's default here;
 * the schema then reports the bad value.
 */
export function presetFor(tier: Tier, requestedCloud: unknown): DeepPartialRecord {
  const cloud = isCloud(requestedCloud) ? requestedCloud : DEFAULT_CLOUD[tier];
  const tierPreset = TIER_PRESETS[tier];
  // A cloud the tier does not run on takes the tier's defaults: the schema then names the cloud.
  const entry = PLATFORMS[tier][cloud];
  const cloudEntry = CLOUDS_BUILT[cloud];
  const sizes = entry?.sizes;
  const defaults = cloudEntry.regions?.defaults;
  const regions = !defaults ? [] : tier === "enterprise" ? [...defaults] : [defaults[0]];
  const observability = {
    stack: "none",
    ...tierPreset.observability,
    exporter: entry?.exporters[0] ?? "none",
  };
  return {
    ...COMMON,
    ...tierPreset,
    observability,
    tier,
    cloud: DEFAULT_CLOUD[tier],
    regions,
    network: { ...COMMON.network, ...tierPreset.network },
    documents: { ...COMMON.documents, ...tierPreset.documents },
    security: securityPreset(tierPreset, cloud),
    // Argo CD is asked of a tier only where the tier is built: a planned pair fails whole first.
    gitops:
      entry?.create || entry?.compose ? { ...COMMON.gitops, ...tierPreset.gitops } : COMMON.gitops,
    kubernetes: {
      ...COMMON.kubernetes,
      systemNodeType: sizes?.systemNodeType ?? cloudEntry.systemNodeType,
      ...tierPreset.kubernetes,
    },
    postgres: { size: sizes?.postgres ?? "local", ...tierPreset.postgres },
    llm: { ...tierPreset.llm, gpuType: sizes?.gpuType ?? tierPreset.llm.gpuType },
    redis: { size: sizes?.redis ?? "local", ...tierPreset.redis },
  };
}

/**
 * The tier's security on a cloud: the audit trail is built on AWS only; GKE Autopilot (the
 * enterprise GKE) refuses ambient's node agent, so there the NetworkPolicies stand alone.
 */
function securityPreset(tierPreset: TierPreset, cloud: Cloud): DeepPartialRecord {
  const preset = { ...COMMON.security, ...tierPreset.security };
  return {
    ...preset,
    mesh: cloud === "gcp" ? "none" : preset.mesh,
    audit: { ...preset.audit, enabled: preset.audit.enabled && cloud === "aws" },
  };
}
