import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { LlmEndpoint } from "../contracts";
import { gpuPlacement, MODEL_SERVER_TIMEOUTS } from "./gpu-scheduling";
import { scrapeAnnotations } from "./telemetry";
import { disruptionBudget, flowPolicy, type CidrEgress } from "./network-policy";
import { fetchContainer, HF_TOKEN_DIR, modelArgs, type ModelWeights } from "./model-weights";
import { resources, restrictedPod, type ComputeSize } from "./pod-security";

export type { ModelWeights } from "./model-weights";
export { WEIGHTS_DIR } from "./model-weights";

export interface VllmServerArgs {
  readonly namespace: pulumi.Input<string>;
  /** A pinned vllm/vllm-openai image. */
  readonly image: string;
  /** A Hugging Face model id, e.g. "meta-llama/Llama-3.1-8B-Instruct". */
  readonly model: string;
  /** GPUs per replica (tensor parallelism). */
  readonly gpuCount: number;
  /** CPU and memory next to the GPUs. */
  readonly size: ComputeSize;
  /** Where the weights come from: the Hugging Face hub, or a copy fetched before the server starts. */
  readonly weights: ModelWeights;
  /** The storage class of the model cache volume (encrypted). */
  readonly storageClassName: pulumi.Input<string>;
  /** @default 100 */
  readonly modelCacheGiB?: number;
  /** Pods allowed to call the server (the runtime). */
  readonly clientLabels: ReadonlyArray<Record<string, string>>;
  /** What the pod reaches outside the cluster for its weights (the hub, or the store and its identity). */
  readonly downloadEgress: readonly CidrEgress[];
  /** Annotations of the server's service account (a cloud identity reading the store). @default - none */
  readonly serviceAccountAnnotations?: Record<string, pulumi.Input<string>>;
  /** The metrics scraper (vLLM serves Prometheus /metrics on its port): annotated for it and let in. @default - not scraped */
  readonly metricsScrapedBy?: k8s.types.input.networking.v1.NetworkPolicyPeer;
  /** @default 8192 */
  readonly maxModelLen?: number;
  /**
   * Replicas, each on a GPU node of its own in another zone, with a disruption budget. With more
   * than one, each pod caches the weights on a volume of its own (a generic ephemeral volume),
   * and a rollout replaces one pod at a time. @default 1 (one shared cache volume, Recreate)
   */
  readonly replicas?: number;
  /** The PriorityClass of its pods. @default - none: the cluster's default */
  readonly priorityClassName?: pulumi.Input<string>;
}

export const VLLM_LABELS = {
  "app.kubernetes.io/name": "vllm",
  "app.kubernetes.io/part-of": "rag-platform",
};
const PORT = 8000;
/** The server's service account (a cloud identity reading the model store is bound to it). */
export const VLLM_SERVICE_ACCOUNT = "vllm";
const UID = 1000;
/** Where vLLM and the libraries under it keep what they compile, on the model cache volume. */
export const COMPILE_CACHES = {
  VLLM_CACHE_ROOT: "/models/vllm",
  TRITON_CACHE_DIR: "/models/triton",
  TORCHINDUCTOR_CACHE_DIR: "/models/torchinductor",
} as const;

/**
 * vLLM's OpenAI-compatible server on the GPU pool: tolerates the GPU taint, selects GPU nodes,
 * limits `nvidia.com/gpu`, caches weights on an encrypted volume and turns ready only once the
 * model is loaded (vLLM answers /health after loading).
 */
export class VllmServer extends pulumi.ComponentResource {
  readonly endpoint: LlmEndpoint;

  constructor(name: string, args: VllmServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:Vllm", name, {}, opts);
    const parent = { parent: this };
    const gpu = gpuPlacement(args.gpuCount);
    const replicas = args.replicas ?? 1;
    const cacheSpec = {
      accessModes: ["ReadWriteOnce"],
      storageClassName: args.storageClassName,
      resources: { requests: { storage: `${args.modelCacheGiB ?? 100}Gi` } },
    };
    const cacheVolume: k8s.types.input.core.v1.Volume =
      replicas > 1
        ? { name: "model-cache", ephemeral: { volumeClaimTemplate: { spec: cacheSpec } } }
        : {
            name: "model-cache",
            persistentVolumeClaim: {
              claimName: new k8s.core.v1.PersistentVolumeClaim(
                `${name}-cache`,
                {
                  metadata: { name: "vllm-model-cache", namespace: args.namespace },
                  spec: cacheSpec,
                },
                parent,
              ).metadata.name,
            },
          };
    const weights = args.weights;
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: {
          name: VLLM_SERVICE_ACCOUNT,
          namespace: args.namespace,
          annotations: args.serviceAccountAnnotations,
        },
        automountServiceAccountToken: false,
      },
      parent,
    );
    new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { name: "vllm", namespace: args.namespace, labels: VLLM_LABELS },
        spec: {
          // One replica: its model cache is one ReadWriteOnce volume, which one node at a time
          // attaches (a second replica would wait forever for it). Replace, do not surge.
          // Several: a cache each; one pod at a time is replaced (no spare GPU to surge onto).
          replicas,
          strategy:
            replicas > 1
              ? { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }
              : { type: "Recreate" },
          selector: { matchLabels: VLLM_LABELS },
          template: {
            metadata: {
              labels: VLLM_LABELS,
              annotations: {
                ...(args.metricsScrapedBy ? scrapeAnnotations(PORT) : {}),
                ...(weights.kind === "fetched"
                  ? { "rag-platform/weights-from": weights.from }
                  : {}),
              },
            },
            spec: restrictedPod({
              uid: UID,
              labels: VLLM_LABELS,
              serviceAccountName: VLLM_SERVICE_ACCOUNT,
              volumes: [
                cacheVolume,
                { name: "shm", emptyDir: { medium: "Memory", sizeLimit: "8Gi" } },
                ...(weights.kind === "hub"
                  ? [{ name: "hf-token", secret: { secretName: weights.token.secretName } }]
                  : []),
              ],
              extra: {
                tolerations: gpu.tolerations,
                nodeSelector: gpu.nodeSelector,
                ...(weights.kind === "fetched"
                  ? { initContainers: [fetchContainer(weights)] }
                  : {}),
                ...(args.priorityClassName ? { priorityClassName: args.priorityClassName } : {}),
              },
              containers: [
                {
                  name: "vllm",
                  image: args.image,
                  args: [
                    "--model",
                    ...modelArgs(args.model, weights),
                    "--served-model-name",
                    args.model,
                    "--port",
                    String(PORT),
                    "--tensor-parallel-size",
                    String(args.gpuCount),
                    "--max-model-len",
                    String(args.maxModelLen ?? 8192),
                    "--gpu-memory-utilization",
                    "0.9",
                  ],
                  env: [
                    { name: "HF_HOME", value: "/models" },
                    { name: "HOME", value: "/tmp" },
                    // Its compiled kernels (torch.compile, Triton: hundreds of MB) beside the weights,
                    // not in the small /tmp: kept across restarts, which then skip the compilation.
                    ...Object.entries(COMPILE_CACHES).map(([name, value]) => ({ name, value })),
                    // The token as a file huggingface_hub reads, never an environment variable.
                    ...(weights.kind === "hub"
                      ? [{ name: "HF_TOKEN_PATH", value: `${HF_TOKEN_DIR}/${weights.token.key}` }]
                      : [{ name: "HF_HUB_OFFLINE", value: "1" }]),
                  ],
                  ports: [{ name: "http", containerPort: PORT }],
                  resources: resources(args.size, gpu.limits),
                  volumeMounts: [
                    { name: "tmp", mountPath: "/tmp" },
                    { name: "model-cache", mountPath: "/models" },
                    { name: "shm", mountPath: "/dev/shm" },
                    ...(weights.kind === "hub"
                      ? [{ name: "hf-token", mountPath: HF_TOKEN_DIR, readOnly: true }]
                      : []),
                  ],
                  startupProbe: {
                    httpGet: { path: "/health", port: PORT },
                    periodSeconds: 10,
                    failureThreshold: 180,
                  },
                  readinessProbe: {
                    httpGet: { path: "/health", port: PORT },
                    periodSeconds: 10,
                    failureThreshold: 3,
                  },
                  livenessProbe: {
                    httpGet: { path: "/health", port: PORT },
                    periodSeconds: 30,
                    failureThreshold: 5,
                  },
                },
              ],
            }),
          },
        },
      },
      { parent: this, dependsOn: [sa], customTimeouts: MODEL_SERVER_TIMEOUTS },
    );
    if (replicas > 1)
      disruptionBudget(name, { namespace: args.namespace, podLabels: VLLM_LABELS }, parent);
    const svc = new k8s.core.v1.Service(
      name,
      {
        metadata: { name: "vllm", namespace: args.namespace, labels: VLLM_LABELS },
        spec: { selector: VLLM_LABELS, ports: [{ name: "http", port: PORT, targetPort: PORT }] },
      },
      parent,
    );
    flowPolicy(
      name,
      {
        namespace: args.namespace,
        podLabels: VLLM_LABELS,
        ingress: [
          {
            from: args.clientLabels.map((labels) => ({ podSelector: { matchLabels: labels } })),
            ports: [PORT],
          },
          ...(args.metricsScrapedBy ? [{ from: [args.metricsScrapedBy], ports: [PORT] }] : []),
        ],
        egressToCidrs: [...args.downloadEgress],
      },
      parent,
    );
    this.endpoint = {
      provider: "openai",
      baseUrl: pulumi.interpolate`http://${svc.metadata.name}.${args.namespace}.svc.cluster.local:${PORT}/v1`,
      model: args.model,
      embeddingProvider: "local",
      embeddingModel: "local-hashed-ngrams",
    };
    this.registerOutputs({ baseUrl: this.endpoint.baseUrl });
  }
}
