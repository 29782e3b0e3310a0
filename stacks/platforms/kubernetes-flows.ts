/**
 * The workloads of the Kubernetes platform as the flow table names them: namespace, service
 * account (the mesh identity) and pod labels. The service accounts of charts are the names the
 * charts give them (their release's full name).
 */
import { ARGO_CD } from "../../components/kubernetes/cluster-addons";
import type { MeshWorkload } from "../../components/kubernetes/flows";
import { EMBEDDINGS_LABELS } from "../../components/kubernetes/embedding-server";
import { ingestLabels, ingestServiceAccount } from "../../components/kubernetes/ingest-workloads";
import {
  LOKI_NAMESPACE,
  MONITORING_NAMESPACE,
  NODE_AGENTS_NAMESPACE,
  TEMPO_NAMESPACE,
} from "../../components/kubernetes/observability-stack";
import { OLLAMA_LABELS } from "../../components/kubernetes/ollama-server";
import { SIEM_FORWARDER_RELEASE } from "../../components/kubernetes/siem-forwarder";
import { QDRANT_LABELS } from "../../components/kubernetes/qdrant";
import {
  API_LABELS,
  RUNTIME_SERVICE_ACCOUNT,
  WORKER_LABELS,
} from "../../components/kubernetes/runtime-workloads";
import {
  COLLECTOR,
  METRICS_SCRAPER,
  TELEMETRY_NAMESPACE,
} from "../../components/kubernetes/telemetry";
import { VLLM_LABELS } from "../../components/kubernetes/vllm-server";

/** The namespace of the platform's workloads. */
export const KUBERNETES_NAMESPACE = "rag";

const rag = (serviceAccount: string, labels: Record<string, string>): MeshWorkload => ({
  namespace: KUBERNETES_NAMESPACE,
  serviceAccount,
  labels,
});

/** Every pod of a namespace (its own components talking to each other). */
const wholeNamespace = (namespace: string): MeshWorkload => ({
  namespace,
  serviceAccount: "*",
  labels: {},
});

export const WORKLOADS = {
  api: rag(RUNTIME_SERVICE_ACCOUNT, API_LABELS),
  worker: rag(RUNTIME_SERVICE_ACCOUNT, WORKER_LABELS),
  // Ingest on the Kafka bus: each role under a service account of its own.
  ingestParse: rag(ingestServiceAccount("parse"), ingestLabels("parse")),
  ingestEmbed: rag(ingestServiceAccount("embed"), ingestLabels("embed")),
  ingestIndex: rag(ingestServiceAccount("index"), ingestLabels("index")),
  qdrant: rag("qdrant", QDRANT_LABELS),
  vllm: rag("vllm", VLLM_LABELS),
  embeddings: rag("embeddings", EMBEDDINGS_LABELS),
  ollama: rag("ollama", OLLAMA_LABELS),
  modelWarmup: rag("model-warmup", { "app.kubernetes.io/name": "model-warmup" }),
  collector: {
    namespace: TELEMETRY_NAMESPACE,
    serviceAccount: `${COLLECTOR.release}-opentelemetry-collector`,
    labels: COLLECTOR.labels,
  },
  scraper: {
    namespace: TELEMETRY_NAMESPACE,
    serviceAccount: METRICS_SCRAPER.serviceAccount,
    labels: METRICS_SCRAPER.labels,
  },
  prometheus: {
    namespace: MONITORING_NAMESPACE,
    serviceAccount: "kube-prometheus-stack-prometheus",
    labels: { "app.kubernetes.io/name": "prometheus" },
  },
  grafana: {
    namespace: MONITORING_NAMESPACE,
    serviceAccount: "kube-prometheus-stack-grafana",
    labels: { "app.kubernetes.io/name": "grafana" },
  },
  alertmanager: {
    namespace: MONITORING_NAMESPACE,
    serviceAccount: "kube-prometheus-stack-alertmanager",
    labels: { "app.kubernetes.io/name": "alertmanager" },
  },
  prometheusOperator: {
    namespace: MONITORING_NAMESPACE,
    serviceAccount: "kube-prometheus-stack-operator",
    labels: { app: "kube-prometheus-stack-operator" },
  },
  kubeStateMetrics: {
    namespace: MONITORING_NAMESPACE,
    serviceAccount: "kube-prometheus-stack-kube-state-metrics",
    labels: { "app.kubernetes.io/name": "kube-state-metrics" },
  },
  /** The cluster's DNS, outside the mesh: Prometheus reads its metrics. */
  clusterDns: {
    namespace: "kube-system",
    serviceAccount: "coredns",
    labels: { "k8s-app": "kube-dns" },
  },
  logAgent: {
    namespace: NODE_AGENTS_NAMESPACE,
    serviceAccount: "log-agent-opentelemetry-collector",
    labels: { "app.kubernetes.io/instance": "log-agent" },
  },
  /** The SIEM forwarder (an OTLP SIEM only): the cloud's audit logs to the endpoint. */
  siemForwarder: {
    namespace: NODE_AGENTS_NAMESPACE,
    serviceAccount: `${SIEM_FORWARDER_RELEASE}-opentelemetry-collector`,
    labels: { "app.kubernetes.io/instance": SIEM_FORWARDER_RELEASE },
  },
  monitoring: wholeNamespace(MONITORING_NAMESPACE),
  loki: wholeNamespace(LOKI_NAMESPACE),
  tempo: wholeNamespace(TEMPO_NAMESPACE),
  argoCd: wholeNamespace(ARGO_CD.namespace),
  argoCdRepoServer: {
    namespace: ARGO_CD.namespace,
    serviceAccount: ARGO_CD.repoServer.serviceAccount,
    labels: ARGO_CD.repoServer.labels,
  },
} as const satisfies Record<string, MeshWorkload>;
