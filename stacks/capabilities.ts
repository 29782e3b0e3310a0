/**
 * What each tier builds on each cloud, where it narrows what the schema's types allow. Shared by
 * the presets (defaults) and the schema's cross-key rules (errors).
 */
import type { Cloud, ObservabilityExporter, Tier } from "./config";

/** GPU types that exist as a single-GPU instance for staging's one LLM host. */
export const SINGLE_GPU_HOST_TYPES = ["t4", "a10g", "l4"] as const;

/** The observability each tier x cloud builds; the first is the tier's default. */
export function exportersFor(tier: Tier, cloud: Cloud): readonly ObservabilityExporter[] {
  switch (tier) {
    case "dev":
      return ["none", "otlp"];
    case "staging":
      return cloud === "aws" ? ["cloudwatch", "none"] : ["prometheus", "none"];
    case "sme":
    case "enterprise":
      return ["datadog", "newrelic", "otlp", "none"];
    default: {
      const unreachable: never = tier;
      throw new Error(`unknown tier ${String(unreachable)}`);
    }
  }
}

