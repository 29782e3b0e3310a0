/**
 * The telemetry of the Kubernetes tiers: the OpenTelemetry collector that holds the backend's
 * credentials, the scraper that reads the workloads' /metrics, and the backends they send to.
 * ClusterAddons installs them; workloads take their annotations and endpoints from here.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** The backends the collector exports to. */
export const TELEMETRY_EXPORTERS = ["otlp", "datadog", "newrelic"] as const;
export type TelemetryExporter = (typeof TELEMETRY_EXPORTERS)[number];
/** The Datadog sites (where an account lives: its API key works on its own site only). */
export const DATADOG_SITES = [
  "datadoghq.com",
  "us3.datadoghq.com",
  "us5.datadoghq.com",
  "datadoghq.eu",
  "ap1.datadoghq.com",
  "ap2.datadoghq.com",
  "ddog-gov.com",
] as const;
export type DatadogSite = (typeof DATADOG_SITES)[number];
/** New Relic's data centres (a license key works with its account's region only). */
export const NEW_RELIC_REGIONS = ["us", "eu"] as const;
export type NewRelicRegion = (typeof NEW_RELIC_REGIONS)[number];

export interface TelemetryArgs {
  readonly exporter: TelemetryExporter;
  /** OTLP/HTTP endpoint (exporter otlp). */
  readonly otlpEndpoint?: string;
  /** The header the OTLP endpoint authenticates with; its value is `apiKey`. @default - none */
  readonly otlpAuthHeader?: string;
  /** The Datadog site of the account (exporter datadog). @default "datadoghq.com" */
  readonly datadogSite?: DatadogSite;
  /** The New Relic region of the account (exporter newrelic). @default "us" */
  readonly newRelicRegion?: NewRelicRegion;
  /** The vendor's API key (datadog, newrelic; otlp's auth header value) in the cloud's secret manager, synced by External Secrets. */
  readonly apiKey?: {
    readonly storeName: pulumi.Input<string>;
    readonly remoteKey: pulumi.Input<string>;
    readonly storeReady: pulumi.Resource[];
  };
  /**
   * The namespace whose pods' Prometheus metrics are scraped (pods annotated `prometheus.io/scrape`)
   * and sent on through the collector; the scraper needs `pods` get/list/watch there (METRICS_SCRAPER).
   * @default - no scraping
   */
  readonly scrapeNamespace?: string;
  /** The namespace whose pods send traces and metrics to the collector over OTLP (its NetworkPolicy lets them in). */
  readonly clientsNamespace: string;
  /** Labels of the telemetry namespace beyond Pod Security's (the mesh's enrolment). @default - none */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /**
   * In-cluster stores the collector also sends to: traces to Tempo over OTLP/gRPC, logs to Loki's
   * OTLP endpoint; each with the pods and port its NetworkPolicy opens. @default - the backend only
   */
  readonly alsoTo?: {
    readonly traces: InClusterStore;
    readonly logs: InClusterStore;
  };
}

/** A store in the cluster: its address, and the pods and port behind it. */
export interface InClusterStore {
  readonly endpoint: string;
  readonly namespace: string;
  readonly port: number;
}

export const TELEMETRY_NAMESPACE = "observability";
export const OTLP_HTTP_PORT = 4318;
export const OTLP_GRPC_PORT = 4317;
/** The collector that holds the backend's credentials (the chart labels pods with its release as instance). */
export const COLLECTOR = {
  release: "otel-collector",
  labels: {
    "app.kubernetes.io/name": "opentelemetry-collector",
    "app.kubernetes.io/instance": "otel-collector",
  },
} as const;

/**
 * A second, single-replica collector that scrapes the workloads' /metrics (one replica, so each
 * pod is scraped once) and forwards them over OTLP to the collector above, which holds the
 * backend's credentials.
 */
export const METRICS_SCRAPER = {
  release: "otel-scraper",
  serviceAccount: "otel-scraper",
  labels: {
    "app.kubernetes.io/name": "opentelemetry-collector",
    "app.kubernetes.io/instance": "otel-scraper",
  },
  intervalSeconds: 30,
} as const;

/** The pod annotations the scraper looks for. */
export function scrapeAnnotations(port: number): Record<string, string> {
  return {
    "prometheus.io/scrape": "true",
    "prometheus.io/port": String(port),
    "prometheus.io/path": "/metrics",
  };
}

/** The exporter section of the collector's config for each backend. */
export const EXPORTER_KEY_SECRET = "otel-exporter-key";

/** New Relic's OTLP endpoint in each region. */
export const NEW_RELIC_OTLP: Record<NewRelicRegion, string> = {
  us: "https://otlp.nr-data.net",
  eu: "https://otlp.eu01.nr-data.net",
};

export function collectorExporters(t: TelemetryArgs): {
  exporters: Record<string, unknown>;
  names: string[];
  env: k8s.types.input.core.v1.EnvVar[];
} {
  const keyEnv = (name: string) =>
    t.apiKey
      ? [{ name, valueFrom: { secretKeyRef: { name: EXPORTER_KEY_SECRET, key: "api-key" } } }]
      : [];
  switch (t.exporter) {
    case "datadog":
      return {
        exporters: {
          datadog: { api: { key: "${env:DD_API_KEY}", site: t.datadogSite ?? "datadoghq.com" } },
        },
        names: ["datadog"],
        env: keyEnv("DD_API_KEY"),
      };
    case "newrelic":
      return {
        exporters: {
          "otlp_http/newrelic": {
            endpoint: NEW_RELIC_OTLP[t.newRelicRegion ?? "us"],
            headers: { "api-key": "${env:NEW_RELIC_LICENSE_KEY}" },
          },
        },
        names: ["otlp_http/newrelic"],
        env: keyEnv("NEW_RELIC_LICENSE_KEY"),
      };
    case "otlp":
      if (!t.otlpEndpoint) throw new Error("the otlp exporter needs an endpoint");
      if (t.otlpAuthHeader && !t.apiKey)
        throw new Error(`the otlp exporter's ${t.otlpAuthHeader} header needs its value (apiKey)`);
      return {
        exporters: {
          otlp_http: {
            endpoint: t.otlpEndpoint,
            ...(t.otlpAuthHeader
              ? { headers: { [t.otlpAuthHeader]: "${env:OTLP_AUTH_HEADER}" } }
              : {}),
          },
        },
        names: ["otlp_http"],
        env: t.otlpAuthHeader ? keyEnv("OTLP_AUTH_HEADER") : [],
      };
    default: {
      const unreachable: never = t.exporter;
      throw new Error(`unknown exporter ${String(unreachable)}`);
    }
  }
}

/** The port the collector's exporter sends to: the OTLP endpoint's, else HTTPS. */
export function exporterPort(t: TelemetryArgs): number {
  if (t.exporter !== "otlp" || !t.otlpEndpoint) return 443;
  const url = new URL(t.otlpEndpoint);
  return url.port ? Number(url.port) : url.protocol === "http:" ? 80 : 443;
}
