/**
 * What each tier builds on each cloud, where it narrows what the schema's types allow. Shared by
 * the presets (defaults) and the schema's cross-key rules (errors).
 */
import {
  AWS_GPU_HOST_TYPES,
  AZURE_GPU_VM_SIZES,
  GCP_GPU_MACHINES,
} from "../components/shared/gpu-hosts";
import type { Cloud, GpuType, ObservabilityExporter, Tier } from "./config";

/** GPU types that exist as a single-GPU machine for staging's one LLM host, per cloud (the host components' size tables). */
export function singleGpuHostTypes(cloud: Cloud): readonly GpuType[] {
  switch (cloud) {
    case "aws":
      return Object.keys(AWS_GPU_HOST_TYPES) as GpuType[];
    case "azure":
      return Object.keys(AZURE_GPU_VM_SIZES) as GpuType[];
    case "gcp":
      return Object.keys(GCP_GPU_MACHINES) as GpuType[];
    case "docker":
      return [];
    default: {
      const unreachable: never = cloud;
      throw new Error(`unknown cloud ${String(unreachable)}`);
    }
  }
}

/** The observability each tier x cloud builds; the first is the tier's default. */
export function exportersFor(tier: Tier, cloud: Cloud): readonly ObservabilityExporter[] {
  switch (tier) {
    case "dev":
      return ["none", "otlp"];
    case "staging":
      return cloud === "aws"
        ? ["cloudwatch", "none"]
        : cloud === "azure"
          ? ["azure-monitor", "none"]
          : ["cloud-monitoring", "none"];
    case "sme":
    case "enterprise":
      return ["datadog", "newrelic", "otlp", "none"];
    default: {
      const unreachable: never = tier;
      throw new Error(`unknown tier ${String(unreachable)}`);
    }
  }
}
