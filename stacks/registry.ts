/**
 * What is built: one entry per tier x cloud, saying how its platform is created in a region,
 * which observability it builds, which GPUs its LLM runs on and its sizes in the cloud's names;
 * and one entry per cloud for what every tier there shares (regions, config rules, sizes).
 *
 * Everything else derives from here: the clouds a tier accepts, the not-implemented message, the
 * exporters allowed, the presets' cloud sizes, the per-cloud config checks. Adding a cloud to a
 * tier is one entry; an entry without `create` is planned (TIERS.md) but not built yet.
 */
import * as pulumi from "@pulumi/pulumi";
import type { SecretRef, SecretRefKind } from "../components/contracts";
import { GPU_NODE_TYPES } from "../components/aws/eks-node-group";
import { AKS_GPU_MEMORY_GIB, AKS_GPU_NODE_SIZES } from "../components/azure/aks-cluster";
import { GKE_GPU_MACHINE_TYPES } from "../components/gcp/gke-node-pool";
import {
  AWS_GPU_HOST_TYPES,
  AZURE_GPU_VM_SIZES,
  GCP_GPU_MACHINES,
} from "../components/shared/gpu-hosts";
import { checkAws, checkAzure, checkDocker, checkGcp, type Problem } from "./cloud-checks";
import type { Cloud, ConfigInput, ObservabilityExporter, PlatformConfig, Tier } from "./config";
import { NotImplementedError } from "./config-errors";
import { offersOf, type GpuOffers, type GpuType } from "./gpu-fit";
import { AwsEcsPlatform } from "./platforms/aws-ecs";
import { eksCharts, eksPlatform } from "./platforms/aws-eks";
import { aksCharts, aksPlatform } from "./platforms/azure-aks";
import { AzureAcaPlatform } from "./platforms/azure-aca";
import { DockerPlatform } from "./platforms/docker";
import { gkeCharts, gkePlatform } from "./platforms/gcp-gke";
import { GcpRunPlatform } from "./platforms/gcp-run";
import type { ChartChoices } from "./platforms/kubernetes";
import type { Platform } from "./platforms/platform";
import type { SupportedChart } from "./versions";
import type { RegionSite } from "./regions";
import { enterpriseAwsTier } from "./tiers/enterprise";

/** A tier's sizes in one cloud's own names. */
export interface CloudSizes {
  /** The managed Postgres size (`postgres.size`). */
  readonly postgres: string;
  /** The managed Redis size (`redis.size`). */
  readonly redis: string;
  /** The Kubernetes system pool's machine type. @default - the cloud's `systemNodeType` */
  readonly systemNodeType?: string;
  /** The LLM's GPU, where the cloud has none of the tier's (GCP has no A10). @default - the tier's */
  readonly gpuType?: GpuType;
}

export interface TierCloudEntry {
  /** What runs the workloads, for tables: "ECS Fargate", "EKS". */
  readonly label: string;
  /** Builds the platform in one region. @default - planned, not built yet */
  readonly create?: (cfg: PlatformConfig, site: RegionSite) => Platform;
  /** Builds a multi-region tier whole: every region and what spans them; the stack's outputs. @default - planned */
  readonly compose?: (cfg: PlatformConfig) => Record<string, pulumi.Input<unknown>>;
  /** The observability it builds; the first is the default. */
  readonly exporters: readonly ObservabilityExporter[];
  /** The GPUs its self-hosted LLM can run on: each type's memory and the most one server has. @default - any */
  readonly llmGpus?: GpuOffers;
  /** @default - "local" (Docker) */
  readonly sizes?: CloudSizes;
  /** The Helm charts a Kubernetes platform installs for a config. @default - none (no cluster) */
  readonly charts?: (cfg: ChartChoices) => readonly SupportedChart[];
}

export interface CloudEntry {
  /** A region name on this cloud, and an example for messages. @default - no regions (Docker) */
  readonly regions?: {
    readonly pattern: RegExp;
    readonly example: string;
    /** Every region the cloud has, when we list them: a name outside it is refused. @default - the pattern alone */
    readonly known?: readonly string[];
    /** The default region, and the second an enterprise stack adds. */
    readonly defaults: readonly [string, string];
  };
  /** The Kubernetes system pool's default machine type. */
  readonly systemNodeType: string;
  /** Rules of this cloud's names and keys, after the shared ones passed. @default - none */
  readonly validate?: (cfg: ConfigInput, problem: Problem) => void;
}

/** AWS's regions (commercial and GovCloud), from the AWS General Reference's list of endpoints. */
export const AWS_REGIONS = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "af-south-1",
  "ap-east-1",
  "ap-east-2",
  "ap-south-1",
  "ap-south-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "ap-southeast-5",
  "ap-southeast-7",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ca-central-1",
  "ca-west-1",
  "eu-central-1",
  "eu-central-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "eu-south-1",
  "eu-south-2",
  "eu-north-1",
  "il-central-1",
  "me-south-1",
  "me-central-1",
  "mx-central-1",
  "sa-east-1",
  "us-gov-east-1",
  "us-gov-west-1",
] as const;

const KUBERNETES_EXPORTERS = ["datadog", "newrelic", "otlp", "none"] as const;
/** One GPU of each type the table names: staging's single-GPU host. */
const singleGpu = (table: object): GpuOffers =>
  Object.fromEntries(Object.keys(table).map((gpu) => [gpu, { maxPerServer: 1 }]));

export const CLOUDS_BUILT: { readonly [C in Cloud]: CloudEntry } = {
  docker: { systemNodeType: "local", validate: checkDocker },
  aws: {
    regions: {
      pattern: /^[a-z]{2}(-gov)?-[a-z]+-\d$/,
      example: "eu-west-1",
      known: AWS_REGIONS,
      defaults: ["eu-west-1", "eu-central-1"],
    },
    systemNodeType: "m6i.large",
    validate: checkAws,
  },
  azure: {
    regions: {
      pattern: /^[a-z]+[a-z0-9]*$/,
      example: "westeurope",
      defaults: ["westeurope", "northeurope"],
    },
    systemNodeType: "Standard_D4ds_v5",
    validate: checkAzure,
  },
  gcp: {
    regions: {
      pattern: /^[a-z]+-[a-z]+\d$/,
      example: "europe-west1",
      defaults: ["europe-west1", "europe-west4"],
    },
    systemNodeType: "n2-standard-4",
    validate: checkGcp,
  },
};

export const PLATFORMS: { readonly [T in Tier]: { readonly [C in Cloud]?: TierCloudEntry } } = {
  dev: {
    docker: {
      label: "Docker",
      create: (cfg, site) => new DockerPlatform(cfg, site),
      exporters: ["none", "otlp"],
    },
  },
  staging: {
    aws: {
      label: "ECS Fargate",
      create: (cfg, site) => new AwsEcsPlatform(cfg, site),
      exporters: ["cloudwatch", "none"],
      llmGpus: singleGpu(AWS_GPU_HOST_TYPES),
      sizes: { postgres: "db.t4g.medium", redis: "cache.t4g.small" },
    },
    // Azure Managed Redis sizes: Azure Cache for Redis (Standard_C1, Premium_P1...) retires every SKU.
    azure: {
      label: "Container Apps",
      create: (cfg, site) => new AzureAcaPlatform(cfg, site),
      exporters: ["azure-monitor", "none"],
      llmGpus: singleGpu(AZURE_GPU_VM_SIZES),
      sizes: { postgres: "Standard_B2s", redis: "Balanced_B1" },
    },
    gcp: {
      label: "Cloud Run",
      create: (cfg, site) => new GcpRunPlatform(cfg, site),
      exporters: ["cloud-monitoring", "none"],
      llmGpus: singleGpu(GCP_GPU_MACHINES),
      sizes: { postgres: "db-custom-2-7680", redis: "STANDARD_HA-1" },
    },
  },
  sme: {
    aws: {
      label: "EKS",
      create: eksPlatform,
      charts: eksCharts,
      exporters: KUBERNETES_EXPORTERS,
      llmGpus: offersOf(GPU_NODE_TYPES),
      sizes: { postgres: "db.r6g.large", redis: "cache.r6g.large" },
    },
    azure: {
      label: "AKS",
      create: aksPlatform,
      charts: aksCharts,
      exporters: KUBERNETES_EXPORTERS,
      llmGpus: offersOf(AKS_GPU_NODE_SIZES, AKS_GPU_MEMORY_GIB),
      sizes: { postgres: "Standard_D4ds_v5", redis: "Balanced_B5" },
    },
    gcp: {
      label: "GKE",
      create: gkePlatform,
      charts: gkeCharts,
      exporters: KUBERNETES_EXPORTERS,
      llmGpus: offersOf(GKE_GPU_MACHINE_TYPES),
      sizes: { postgres: "db-custom-4-15360", redis: "STANDARD_HA-5", gpuType: "l4" },
    },
  },
  enterprise: {
    aws: {
      label: "EKS per region",
      compose: (cfg) => enterpriseAwsTier(cfg),
      charts: eksCharts,
      llmGpus: offersOf(GPU_NODE_TYPES),
      exporters: KUBERNETES_EXPORTERS,
      sizes: {
        postgres: "db.r6g.2xlarge",
        redis: "cache.r6g.xlarge",
        systemNodeType: "m6i.xlarge",
      },
    },
    azure: {
      label: "AKS per region",
      exporters: KUBERNETES_EXPORTERS,
      sizes: { postgres: "Standard_D8ds_v5", redis: "Balanced_B10" },
    },
    gcp: {
      label: "GKE per region",
      exporters: KUBERNETES_EXPORTERS,
      sizes: { postgres: "db-custom-8-30720", redis: "STANDARD_HA-13" },
    },
  },
};

/** The clouds a tier runs on (built or planned). */
export function cloudsOf(tier: Tier): Cloud[] {
  return Object.keys(PLATFORMS[tier]) as Cloud[];
}

/** The tier x cloud pairs built so far, as `sme on aws`. */
export function builtPairs(): string[] {
  return (Object.keys(PLATFORMS) as Tier[]).flatMap((tier) =>
    cloudsOf(tier)
      .filter((cloud) => PLATFORMS[tier][cloud]?.create || PLATFORMS[tier][cloud]?.compose)
      .map((cloud) => `${tier} on ${cloud}`),
  );
}

/**
 * How a stack's platform is created in each region; fails whole, before any resource, when the
 * tier is not built on the cloud yet.
 */
export function platformFactory(
  cfg: Pick<PlatformConfig, "tier" | "cloud">,
): (cfg: PlatformConfig, site: RegionSite) => Platform {
  const create = PLATFORMS[cfg.tier][cfg.cloud]?.create;
  if (!create) {
    throw new NotImplementedError(
      `the ${cfg.tier} tier is not implemented for ${cfg.cloud} yet: no resources were registered. ` +
        `Built so far: ${builtPairs().join(", ")}.`,
    );
  }
  return create;
}

/** How a multi-region tier is built whole; fails before any resource when it is not built on the cloud yet. */
export function tierComposer(
  cfg: Pick<PlatformConfig, "tier" | "cloud">,
): (cfg: PlatformConfig) => Record<string, pulumi.Input<unknown>> {
  const compose = PLATFORMS[cfg.tier][cfg.cloud]?.compose;
  if (!compose) {
    throw new NotImplementedError(
      `the ${cfg.tier} tier is not implemented for ${cfg.cloud} yet: no resources were registered. ` +
        `Built so far: ${builtPairs().join(", ")}.`,
    );
  }
  return compose;
}

type SecretReaders = {
  readonly [K in SecretRefKind]: (ref: Extract<SecretRef, { kind: K }>) => pulumi.Input<unknown>;
};

/** How an operator reads each kind of secret: the (secret) value when this stack holds it, else the cloud's command. */
const SECRET_READERS: SecretReaders = {
  generated: (ref) => pulumi.secret(ref.value),
  "aws-secretsmanager": (ref) =>
    pulumi.interpolate`aws secretsmanager get-secret-value --secret-id ${ref.arn} --query SecretString --output text`,
  // The vault answers its network only; a value the stack wrote is in the stack's (encrypted) state.
  "azure-keyvault": (ref) =>
    ref.value
      ? pulumi.secret(ref.value)
      : pulumi.interpolate`az keyvault secret show --id ${ref.secretUri} --query value --output tsv   # from inside the stack's network`,
  "gcp-secretmanager": (ref) =>
    ref.value
      ? pulumi.secret(ref.value)
      : pulumi.interpolate`gcloud secrets versions access latest --secret ${ref.secretId} --project ${ref.project}`,
};

/** A secret as a stack output: the (secret) value when generated here, else where to read it. */
export function secretOutput(ref: SecretRef): pulumi.Input<unknown> {
  return (SECRET_READERS[ref.kind] as (r: SecretRef) => pulumi.Input<unknown>)(ref);
}
