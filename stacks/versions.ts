/**
 * Every pinned version the program deploys, in one place. Bump here; nothing else pins.
 * Images carry exact tags (never `latest`, never a moving major tag).
 *
 * Each tag and chart version below was read from its project's repository (release tags, chart
 * indexes, values.yaml at that tag); this machine cannot reach the registries, so a bump should
 * be checked with `helm search repo <chart> --versions` / `docker manifest inspect`. A chart
 * records the Kubernetes minors its project supports; test/versions.test.ts holds every tier's
 * pinned version inside them.
 */
/** Ollama release: the dev image tag and the version installed on GPU hosts. */
export const OLLAMA_VERSION = "0.6.5";

export const IMAGES = {
  postgres: "pgvector/pgvector:0.8.0-pg16",
  redis: "redis:7.4.2-alpine3.21",
  qdrant: "qdrant/qdrant:v1.13.4",
  ollama: `ollama/ollama:${OLLAMA_VERSION}`,
  // The dev tools (dev.tools). Prometheus and Grafana are the releases kube-prometheus-stack
  // 88.5.3 runs (its values.yaml; its Grafana chart 12.11.1's appVersion), so the dev tier shows
  // the dashboard on the Grafana the Kubernetes tiers run.
  redisInsight: "redis/redisinsight:3.8.0",
  prometheus: "prom/prometheus:v3.14.0",
  grafana: "grafana/grafana:13.2.0",
} as const;

/** The runtime image's base (runtime/Dockerfile's ARG NODE_IMAGE default must match). */
export const RUNTIME_BASE_IMAGE = "node:24.11.1-bookworm-slim";

/** Images of the Kubernetes tiers' own workloads. */
export const K8S_IMAGES = {
  vllm: "vllm/vllm-openai:v0.8.5",
  ollama: `ollama/ollama:${OLLAMA_VERSION}`,
  textEmbeddingsInference: "ghcr.io/huggingface/text-embeddings-inference:cpu-1.7.2",
  /** The model servers' warm-up before a blue/green promotion. */
  curl: "curlimages/curl:8.11.1",
  /** Copies a model's weights from the organisation's S3 prefix (llm.modelSources). */
  awsCli: "amazon/aws-cli:2.27.63",
} as const;

/** Istio's release: the four ambient charts and the images they run (istiod, CNI, ztunnel). */
export const ISTIO_VERSION = "1.30.3";
export const ISTIO_IMAGES = { hub: "docker.io/istio", tag: ISTIO_VERSION } as const;

/**
 * Cluster Autoscaler must run the release of the cluster's Kubernetes minor version (its
 * compatibility rule), whatever the chart's own default image: one tag, the newest patch, per
 * minor. These are the minors `kubernetes.version` accepts.
 */
export const CLUSTER_AUTOSCALER_TAGS = {
  "1.32": "v1.32.7",
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

/**
 * The Kubernetes minors a project supports for the pinned release, as the project states them:
 * the oldest, and the newest where it gives one (`source` says where).
 */
export interface KubernetesSupport {
  readonly min: string;
  /** @default - no newest stated ("1.24+") */
  readonly max?: string;
  readonly source: string;
}

/** A chart at an exact version in its repository, and the Kubernetes minors it supports there. */
export interface SupportedChart {
  readonly repo: string;
  readonly chart: string;
  readonly version: string;
  readonly kubernetes: KubernetesSupport;
}

/**
 * Helm charts: repository, chart, exact version and supported Kubernetes minors. Read from each
 * project's repository at that version (values.yaml keys, CRDs, support tables), 2026-12.
 */
export const CHARTS = {
  nvidiaDevicePlugin: {
    repo: "https://nvidia.github.io/k8s-device-plugin",
    chart: "nvidia-device-plugin",
    version: "0.20.0",
    kubernetes: { min: "1.10", source: "README, Prerequisites: Kubernetes >= 1.10" },
  },
  awsLoadBalancerController: {
    repo: "https://aws.github.io/eks-charts",
    chart: "aws-load-balancer-controller",
    version: "3.5.0",
    kubernetes: { min: "1.22", source: "docs/deploy/installation.md: v2.5.0+ requires 1.22+" },
  },
  externalSecrets: {
    repo: "https://charts.external-secrets.io",
    chart: "external-secrets",
    version: "2.9.0",
    kubernetes: {
      min: "1.33",
      max: "1.36",
      source: "docs/introduction/stability-support.md (2.9: 1.36); e2e tests on 1.33",
    },
  },
  metricsServer: {
    repo: "https://kubernetes-sigs.github.io/metrics-server",
    chart: "metrics-server",
    version: "3.13.1",
    kubernetes: { min: "1.31", source: "README, Compatibility Matrix: 0.8.x on 1.31+" },
  },
  clusterAutoscaler: {
    repo: "https://kubernetes.github.io/autoscaler",
    chart: "cluster-autoscaler",
    version: "9.59.0",
    kubernetes: {
      min: "1.32",
      max: "1.36",
      source:
        "one image per minor (CLUSTER_AUTOSCALER_TAGS); chart RBAC for resource.k8s.io (1.35+) from 9.54.0",
    },
  },
  keda: {
    repo: "https://kedacore.github.io/charts",
    chart: "keda",
    version: "2.20.2",
    kubernetes: {
      min: "1.33",
      max: "1.35",
      source: "keda.sh docs, Kubernetes Compatibility: v2.20",
    },
  },
  openTelemetryCollector: {
    repo: "https://open-telemetry.github.io/opentelemetry-helm-charts",
    chart: "opentelemetry-collector",
    // The newest chart stating Helm 3 support (Helm 4 from 0.157.2): Pulumi's helm.v3.Release runs Helm 3.
    version: "0.157.1",
    kubernetes: { min: "1.24", source: "chart README, Prerequisites: Kubernetes 1.24+" },
  },
  argoCd: {
    repo: "https://argoproj.github.io/argo-helm",
    chart: "argo-cd",
    version: "10.1.1",
    kubernetes: {
      min: "1.32",
      max: "1.35",
      source: "argo-cd docs/operator-manual/tested-kubernetes-versions.md (v3.4)",
    },
  },
  traefik: {
    repo: "https://traefik.github.io/charts",
    chart: "traefik",
    version: "41.3.0",
    kubernetes: {
      min: "1.25",
      source: "Chart.yaml kubeVersion >=1.25.0-0; README, Prerequisites (Traefik v3.7.11)",
    },
  },
  qdrant: {
    repo: "https://qdrant.github.io/qdrant-helm",
    chart: "qdrant",
    version: "1.13.4",
    kubernetes: { min: "1.24", source: "chart README, Prerequisites: Kubernetes v1.24+" },
  },
  istioBase: {
    repo: "https://istio-release.storage.googleapis.com/charts",
    chart: "base",
    version: ISTIO_VERSION,
    kubernetes: {
      min: "1.32",
      source: "istioctl/pkg/install/k8sversion/version.go MinK8SVersion = 32 at 1.30.3",
    },
  },
  istiod: {
    repo: "https://istio-release.storage.googleapis.com/charts",
    chart: "istiod",
    version: ISTIO_VERSION,
    kubernetes: {
      min: "1.32",
      source: "istioctl/pkg/install/k8sversion/version.go MinK8SVersion = 32 at 1.30.3",
    },
  },
  istioCni: {
    repo: "https://istio-release.storage.googleapis.com/charts",
    chart: "cni",
    version: ISTIO_VERSION,
    kubernetes: {
      min: "1.32",
      source: "istioctl/pkg/install/k8sversion/version.go MinK8SVersion = 32 at 1.30.3",
    },
  },
  ztunnel: {
    repo: "https://istio-release.storage.googleapis.com/charts",
    chart: "ztunnel",
    version: ISTIO_VERSION,
    kubernetes: {
      min: "1.32",
      source: "istioctl/pkg/install/k8sversion/version.go MinK8SVersion = 32 at 1.30.3",
    },
  },
  argoRollouts: {
    repo: "https://argoproj.github.io/argo-helm",
    chart: "argo-rollouts",
    version: "2.41.0",
    kubernetes: {
      min: "1.16",
      source:
        "argo-helm charts/argo-rollouts 2.41.0 (v1.9.0) states no kubeVersion; its CRDs are apiextensions v1 (1.16+)",
    },
  },
  kubePrometheusStack: {
    repo: "https://prometheus-community.github.io/helm-charts",
    chart: "kube-prometheus-stack",
    version: "88.5.3",
    kubernetes: { min: "1.25", source: "Chart.yaml kubeVersion >=1.25.0-0 (operator v0.93.1)" },
  },
  loki: {
    repo: "https://grafana-community.github.io/helm-charts",
    chart: "loki",
    version: "18.11.0",
    kubernetes: {
      min: "1.25",
      source: "grafana-community Chart.yaml kubeVersion >=1.25.0-0 (Loki 3.7.6)",
    },
  },
  tempoDistributed: {
    repo: "https://grafana-community.github.io/helm-charts",
    chart: "tempo-distributed",
    // The last 2.x chart (Tempo 2.10.7): 3.x ingests through Kafka (see docs/tiers/enterprise-operations.md).
    version: "2.26.2",
    kubernetes: { min: "1.25", source: "grafana-community Chart.yaml kubeVersion ^1.25.0-0" },
  },
} as const satisfies Record<string, SupportedChart>;

/**
 * The Kubernetes minors AKS supports (community support, Standard tier) in 2026-12: 1.34 left it
 * on 2026-11-30; 1.37 is newer than the add-ons this program pins support.
 */
export const AKS_KUBERNETES_VERSIONS: KubernetesSupport = {
  min: "1.35",
  max: "1.37",
  source:
    "AKS supported-kubernetes-versions, release calendar (2026-08): 1.34 end of life Nov 2026",
};

/**
 * The Kubernetes minors GKE supports in the Regular channel (standard support) in 2026-12, from
 * GKE's policy of about 14 months of standard support after a minor reaches the Regular channel:
 * 1.33 left it in 2026-09; 1.37 has not reached the Regular channel.
 */
export const GKE_KUBERNETES_VERSIONS: KubernetesSupport = {
  min: "1.34",
  max: "1.36",
  source:
    "GKE versioning and support: about 14 months of standard support after Regular; check the GKE release schedule",
};

export type ChartRef = (typeof CHARTS)[keyof typeof CHARTS];

/** Whether `version` ("1.35") lies in what a project supports. */
export function supportsMinor(support: KubernetesSupport, version: string): boolean {
  const order = (v: string) => {
    const [major = 0, minor = 0] = v.split(".").map(Number);
    return major * 1000 + minor;
  };
  const at = order(version);
  return at >= order(support.min) && (support.max === undefined || at <= order(support.max));
}

/** "1.33-1.35", or "1.24+" when the project states no newest. */
export function supportRange(support: KubernetesSupport): string {
  return support.max ? `${support.min}-${support.max}` : `${support.min}+`;
}
