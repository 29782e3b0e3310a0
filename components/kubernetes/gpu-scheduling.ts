import type * as k8s from "@pulumi/kubernetes";

/** The taint every GPU node carries, so only GPU workloads land there. */
export const GPU_TAINT = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" } as const;
/** The label our GPU node pools carry. */
export const GPU_POOL_LABEL = { key: "rag-platform/pool", value: "gpu" } as const;

export function gpuPlacement(gpuCount: number): {
  tolerations: k8s.types.input.core.v1.Toleration[];
  nodeSelector: Record<string, string>;
  limits: Record<string, string>;
} {
  return {
    tolerations: [{ key: GPU_TAINT.key, operator: "Equal", value: GPU_TAINT.value, effect: GPU_TAINT.effect }],
    nodeSelector: { [GPU_POOL_LABEL.key]: GPU_POOL_LABEL.value },
    limits: { "nvidia.com/gpu": String(gpuCount) },
  };
}
