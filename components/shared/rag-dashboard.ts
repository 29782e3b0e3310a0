/**
 * The RAG service's Grafana dashboard, as code: each panel one PromQL expression over the
 * runtime's metrics (runtime/src/metrics.ts) or vLLM's own. One source for every tier: the
 * Kubernetes tiers' Grafana loads it from a ConfigMap (kubernetes/observability-stack.ts), the
 * dev tier's from a provisioned file (docker/grafana.ts).
 */

/**
 * The uid of the Prometheus data source the panels query: the one kube-prometheus-stack's
 * Grafana provisions, and the one the dev tier's Grafana provisions under the same uid.
 */
export const PROMETHEUS_DATASOURCE_UID = "prometheus";

/** The file name the dashboard is provisioned under. */
export const RAG_DASHBOARD_FILE = "rag-service.json";

interface Panel {
  readonly title: string;
  readonly expr: string;
  readonly legend: string;
  readonly unit: string;
}

/** The panels, in reading order: requests, retrieval, generation, ingest, GPUs. */
export const RAG_PANELS: readonly Panel[] = [
  {
    title: "Request rate by route",
    expr: 'sum by (route) (rate(rag_http_request_duration_seconds_count{namespace="$namespace"}[5m]))',
    legend: "{{route}}",
    unit: "reqps",
  },
  {
    title: "Errors (5xx share) by route",
    expr: 'sum by (route) (rate(rag_http_request_duration_seconds_count{namespace="$namespace",status=~"5.."}[5m])) / sum by (route) (rate(rag_http_request_duration_seconds_count{namespace="$namespace"}[5m]))',
    legend: "{{route}}",
    unit: "percentunit",
  },
  {
    title: "Latency p95 by route",
    expr: 'histogram_quantile(0.95, sum by (route, le) (rate(rag_http_request_duration_seconds_bucket{namespace="$namespace"}[5m])))',
    legend: "{{route}}",
    unit: "s",
  },
  {
    title: "Retrieval stages p95",
    expr: 'histogram_quantile(0.95, sum by (stage, le) (rate(rag_retrieval_stage_duration_seconds_bucket{namespace="$namespace"}[5m])))',
    legend: "{{stage}}",
    unit: "s",
  },
  {
    title: "Time to first token p95 (vLLM)",
    expr: 'histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{namespace="$namespace"}[5m])))',
    legend: "p95",
    unit: "s",
  },
  {
    title: "Ingest stage p95 (parse, embed, index)",
    expr: 'histogram_quantile(0.95, sum by (stage, le) (rate(rag_ingest_stage_duration_seconds_bucket{namespace="$namespace"}[5m])))',
    legend: "{{stage}}",
    unit: "s",
  },
  {
    title: "Ingest queue depth",
    expr: 'max(rag_ingest_queue_depth{namespace="$namespace"})',
    legend: "jobs",
    unit: "short",
  },
  {
    title: "GPU KV-cache use (vLLM)",
    expr: 'avg by (pod) (vllm:gpu_cache_usage_perc{namespace="$namespace"})',
    legend: "{{pod}}",
    unit: "percentunit",
  },
];

/**
 * The dashboard's JSON model (Grafana schema 39), one time-series panel per row of two. Every
 * query selects the series whose `namespace` label is `namespace`: the Kubernetes namespace of
 * the workloads, or the label the dev tier's Prometheus gives its targets.
 */
export function ragDashboard(namespace: string): Record<string, unknown> {
  return {
    uid: "rag-service",
    title: "RAG service",
    schemaVersion: 39,
    timezone: "utc",
    time: { from: "now-6h", to: "now" },
    refresh: "30s",
    templating: {
      list: [
        {
          name: "namespace",
          type: "constant",
          query: namespace,
          hide: 2,
        },
      ],
    },
    panels: RAG_PANELS.map((p, i) => ({
      id: i + 1,
      type: "timeseries",
      title: p.title,
      datasource: { type: "prometheus", uid: PROMETHEUS_DATASOURCE_UID },
      gridPos: { x: (i % 2) * 12, y: Math.floor(i / 2) * 8, w: 12, h: 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: [{ refId: "A", expr: p.expr, legendFormat: p.legend }],
    })),
  };
}
