/**
 * The fixed choices of the configuration (tiers, clouds, modes, providers), as literal unions:
 * the schema (config.ts), its rules and the registry share them.
 */

/** The configuration's namespace: every key is `rag-platform:<key>`. */
export const NAMESPACE = "rag-platform";

export const TIERS = ["dev", "staging", "sme", "enterprise"] as const;
export type Tier = (typeof TIERS)[number];

export const CLOUDS = ["docker", "aws", "azure", "gcp"] as const;
export type Cloud = (typeof CLOUDS)[number];

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
/** How the enterprise tier routes users to a region. */
export const GLOBAL_ROUTING = ["route53-latency", "global-accelerator"] as const;
export type GlobalRouting = (typeof GLOBAL_ROUTING)[number];
/** One NAT gateway for the network, or one per zone (a zone's outage then spares the others' egress). */
export const NAT_MODES = ["single", "per-zone"] as const;
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
export {
  DATADOG_SITES,
  NEW_RELIC_REGIONS,
  type DatadogSite,
  type NewRelicRegion,
} from "../components/kubernetes/telemetry";
