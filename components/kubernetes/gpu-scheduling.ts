import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** The taint every GPU node carries, so only GPU workloads land there. */
export const GPU_TAINT = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" } as const;
/** The label our GPU node pools carry. */
export const GPU_POOL_LABEL = { key: "rag-platform/pool", value: "gpu" } as const;

/**
 * How long `pulumi up` waits for a model server's rollout (Pulumi's default for a Deployment is
 * 10 minutes). A first start waits for a node (the autoscaler may add a GPU node), pulls a
 * multi-GB image and downloads the weights; vLLM's startup probe alone allows 30 minutes.
 */
export const MODEL_SERVER_TIMEOUTS: pulumi.CustomTimeouts = { create: "45m", update: "45m" };

export function gpuPlacement(gpuCount: number): {
  tolerations: k8s.types.input.core.v1.Toleration[];
  nodeSelector: Record<string, string>;
  limits: Record<string, string>;
} {
  return {
    tolerations: [
      { key: GPU_TAINT.key, operator: "Equal", value: GPU_TAINT.value, effect: GPU_TAINT.effect },
    ],
    nodeSelector: { [GPU_POOL_LABEL.key]: GPU_POOL_LABEL.value },
    limits: { "nvidia.com/gpu": String(gpuCount) },
  };
}
