/**
 * Every pinned version the program deploys, in one place. Bump here; nothing else pins.
 * Images carry exact tags (never `latest`, never a moving major tag).
 *
 * Each tag and chart version below was checked to be a published release (2026-11) against
 * public deployments and release indexes; this machine cannot reach the registries, so a bump
 * should be checked with `helm search repo <chart> --versions` / `docker manifest inspect`.
 */
/** Ollama release: the dev image tag and the version installed on GPU hosts. */
export const OLLAMA_VERSION = "0.6.5";

export const IMAGES = {
  postgres: "pgvector/pgvector:0.8.0-pg16",
  redis: "redis:7.4.2-alpine3.21",
  qdrant: "qdrant/qdrant:v1.13.4",
  ollama: `ollama/ollama:${OLLAMA_VERSION}`,
} as const;

/** The runtime image's base (runtime/Dockerfile's ARG NODE_IMAGE default must match). */
export const RUNTIME_BASE_IMAGE = "node:24.11.1-bookworm-slim";

/** Images of the Kubernetes tiers' own workloads. */
export const K8S_IMAGES = {
  vllm: "vllm/vllm-openai:v0.8.5",
  ollama: `ollama/ollama:${OLLAMA_VERSION}`,
  textEmbeddingsInference: "ghcr.io/huggingface/text-embeddings-inference:cpu-1.7.2",
} as const;

/**
 * Cluster Autoscaler must run the release of the cluster's Kubernetes minor version (its
 * compatibility rule), whatever the chart's own default image: one tag per minor. These are
 * the minors `kubernetes.version` accepts.
 */
export const CLUSTER_AUTOSCALER_TAGS = {
  "1.32": "v1.32.2",
  "1.33": "v1.33.6",
  "1.34": "v1.34.5",
  "1.35": "v1.35.2",
  "1.36": "v1.36.1",
} as const;
export type KubernetesMinor = keyof typeof CLUSTER_AUTOSCALER_TAGS;
export const KUBERNETES_MINORS = Object.keys(CLUSTER_AUTOSCALER_TAGS) as [
  KubernetesMinor,
  ...KubernetesMinor[],
];

/** Helm charts: repository, chart and exact version. */
export const CHARTS = {
  nvidiaDevicePlugin: {
    repo: "https://nvidia.github.io/k8s-device-plugin",
    chart: "nvidia-device-plugin",
    version: "0.17.1",
  },
  awsLoadBalancerController: {
    repo: "https://aws.github.io/eks-charts",
    chart: "aws-load-balancer-controller",
    version: "1.11.0",
  },
  externalSecrets: {
    repo: "https://charts.external-secrets.io",
    chart: "external-secrets",
    version: "0.14.4",
  },
  metricsServer: {
    repo: "https://kubernetes-sigs.github.io/metrics-server",
    chart: "metrics-server",
    version: "3.12.2",
  },
  clusterAutoscaler: {
    repo: "https://kubernetes.github.io/autoscaler",
    chart: "cluster-autoscaler",
    version: "9.46.6",
  },
  keda: { repo: "https://kedacore.github.io/charts", chart: "keda", version: "2.16.1" },
  openTelemetryCollector: {
    repo: "https://open-telemetry.github.io/opentelemetry-helm-charts",
    chart: "opentelemetry-collector",
    version: "0.119.0",
  },
  argoCd: { repo: "https://argoproj.github.io/argo-helm", chart: "argo-cd", version: "7.8.2" },
  qdrant: { repo: "https://qdrant.github.io/qdrant-helm", chart: "qdrant", version: "1.13.4" },
} as const;

export type ChartRef = (typeof CHARTS)[keyof typeof CHARTS];
