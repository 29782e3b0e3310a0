/**
 * A region's own observability, in its cluster: kube-prometheus-stack (Prometheus, Alertmanager,
 * Grafana), Grafana Tempo for traces and Loki for logs (both on the cloud's object storage), and
 * a node-level OpenTelemetry collector reading the pods' logs into Loki. The platform's collector
 * (ClusterAddons) sends its traces to Tempo and its OTLP logs to Loki.
 *
 * In-cluster Prometheus rather than a managed one: each region keeps alerting and the canary's
 * analysis when the others are down, and Alertmanager, the SLO rules and Argo Rollouts' queries
 * all speak to one PromQL endpoint the stack owns.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  PROMETHEUS_DATASOURCE_UID,
  RAG_DASHBOARD_FILE,
  ragDashboard,
} from "../shared/rag-dashboard";
import { AUDIT_KEY_SECRET, auditPipeline, type AuditDestination } from "./audit-export";
import type { CidrEgress } from "./network-policy";
import { SyncedSecret } from "./external-secret";
import { pinnedRelease, type PinnedChart } from "./helm";
import { resources, type ComputeSize } from "./pod-security";
import { SIEM_FORWARDER_RELEASE, siemForwarderValues } from "./siem-forwarder";

export const MONITORING_NAMESPACE = "monitoring";
/** Where Grafana finds a log line's trace id: the runtime's `trace_id` field (runtime/src/logger.ts). */
export const LOG_TRACE_ID_PATTERN = '"trace_id":"(\\w+)"';
/**
 * The agents that read the node itself (node-exporter: host network, PID namespace and root
 * filesystem; the log agent: the pods' log files), apart from the monitoring namespace: they need
 * Pod Security's privileged level, the rest of the stack runs restricted.
 */
export const NODE_AGENTS_NAMESPACE = "node-agents";
export const LOKI_NAMESPACE = "loki";
export const TEMPO_NAMESPACE = "tempo";
/** Prometheus's in-cluster address (the release is named kube-prometheus-stack). */
export const PROMETHEUS_URL = `http://kube-prometheus-stack-prometheus.${MONITORING_NAMESPACE}.svc.cluster.local:9090`;
/** Tempo's distributor, OTLP over gRPC. */
export const TEMPO_OTLP_GRPC = `tempo-distributor.${TEMPO_NAMESPACE}.svc.cluster.local:4317`;
/** Loki's gateway, OTLP logs over HTTP (the exporter appends /v1/logs). */
export const LOKI_OTLP_HTTP = `http://loki-gateway.${LOKI_NAMESPACE}.svc.cluster.local/otlp`;

/** Where a store keeps its data: a bucket, and the identity its pods use to reach it. */
export interface ObjectStorage {
  readonly bucket: pulumi.Input<string>;
  readonly region: string;
  /** The service account's annotations giving it the cloud role (IRSA), if any. @default - none */
  readonly serviceAccountAnnotations?: Record<string, pulumi.Input<string>>;
  /** What the store's pods reach the bucket and their credentials through. @default - nothing */
  readonly egress?: readonly CidrEgress[];
}

/** The Alertmanager receivers: pages to PagerDuty, tickets by e-mail. */
export interface AlertRouting {
  /** The Secret (in MONITORING_NAMESPACE) holding `pagerduty-routing-key` and `smtp-password`. */
  readonly secretName: string;
  /** Where External Secrets reads those keys (the operator fills them in the cloud's secret manager). */
  readonly keys?: {
    readonly storeName: pulumi.Input<string>;
    readonly remoteKeys: readonly {
      readonly secretKey: string;
      readonly remoteKey: pulumi.Input<string>;
    }[];
    readonly storeReady: pulumi.Resource[];
  };
  /** Where tickets go; none: tickets are only seen in Alertmanager and Grafana. */
  readonly ticketEmails: readonly string[];
  /** The SMTP server tickets go through (needed with ticketEmails). @default - none */
  readonly smtp?: { readonly smarthost: string; readonly from: string; readonly username: string };
}

export interface ObservabilityStackArgs {
  readonly charts: {
    readonly kubePrometheusStack: PinnedChart;
    readonly loki: PinnedChart;
    readonly tempo: PinnedChart;
    readonly openTelemetryCollector: PinnedChart;
  };
  readonly loki: ObjectStorage;
  readonly tempo: ObjectStorage;
  /** Days logs and traces are kept (the stores delete older blocks). */
  readonly retentionDays: number;
  /** Days Prometheus keeps samples locally. @default 15 */
  readonly metricsRetentionDays?: number;
  readonly storageClassName: pulumi.Input<string>;
  /** The namespace of the RAG workloads (scraped, and the dashboard's). */
  readonly workloadNamespace: string;
  readonly alerts: AlertRouting;
  /**
   * Where the log agent sends the runtime's audit stream (its own pipeline, out of Loki's); an
   * OTLP destination with `cloudLogs` also gets the SIEM forwarder of the cloud's audit logs.
   * @default - the audit lines stay among the logs in Loki
   */
  readonly audit?: AuditDestination;
  /** Labels every namespace of the stack carries (the mesh's enrolment). @default - none */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Prefix of the releases' Pulumi names. @default - none */
  readonly resourceNamePrefix?: string;
}

const SIZES = {
  prometheus: { cpuMillicores: 1000, memoryMiB: 8192 },
  alertmanager: { cpuMillicores: 100, memoryMiB: 256 },
  grafana: { cpuMillicores: 200, memoryMiB: 512 },
  lokiComponent: { cpuMillicores: 500, memoryMiB: 1024 },
  tempoComponent: { cpuMillicores: 500, memoryMiB: 1024 },
  logAgent: { cpuMillicores: 100, memoryMiB: 256 },
} as const satisfies Record<string, ComputeSize>;

/** The Alertmanager routing tree: severity page to PagerDuty, ticket to e-mail, the rest nowhere. */
export function alertmanagerConfig(a: AlertRouting): Record<string, unknown> {
  const smtp = a.smtp;
  if (a.ticketEmails.length > 0 && !smtp)
    throw new Error("alert routing: e-mailing tickets needs an SMTP server (smtp)");
  const secrets = "/etc/alertmanager/secrets";
  return {
    global: { resolve_timeout: "5m" },
    route: {
      receiver: "null",
      group_by: ["alertname", "slo", "namespace"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [
        { receiver: "pagerduty", matchers: ['severity="page"'], continue: false },
        {
          receiver: smtp ? "ticket-email" : "null",
          matchers: ['severity="ticket"'],
          repeat_interval: "24h",
        },
      ],
    },
    receivers: [
      { name: "null" },
      {
        name: "pagerduty",
        pagerduty_configs: [
          {
            routing_key_file: `${secrets}/${a.secretName}/pagerduty-routing-key`,
            send_resolved: true,
          },
        ],
      },
      ...(smtp
        ? [
            {
              name: "ticket-email",
              email_configs: a.ticketEmails.map((to) => ({
                to,
                from: smtp.from,
                smarthost: smtp.smarthost,
                auth_username: smtp.username,
                auth_password_file: `${secrets}/${a.secretName}/smtp-password`,
                send_resolved: true,
              })),
            },
          ]
        : []),
    ],
  };
}

export class ObservabilityStack extends pulumi.ComponentResource {
  /** Prometheus's release: what uses its CRDs (PrometheusRule) waits for it. */
  readonly prometheusStack: k8s.helm.v3.Release;
  /** The stack's namespaces by name: their NetworkPolicies wait for them. */
  readonly namespaces: Readonly<Record<string, k8s.core.v1.Namespace>>;

  constructor(name: string, args: ObservabilityStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:ObservabilityStack", name, {}, opts);
    if (!Number.isInteger(args.retentionDays) || args.retentionDays < 1)
      throw new Error(
        `${name}: retentionDays must be a whole number >= 1, got ${args.retentionDays}`,
      );
    const named = (release: string) =>
      args.resourceNamePrefix ? `${args.resourceNamePrefix}-${release}` : release;
    const namespace = (ns: string, podSecurity: "restricted" | "privileged") =>
      new k8s.core.v1.Namespace(
        `${name}-${ns}`,
        {
          metadata: {
            name: ns,
            labels: { "pod-security.kubernetes.io/enforce": podSecurity, ...args.namespaceLabels },
          },
        },
        { parent: this },
      );
    const monitoring = namespace(MONITORING_NAMESPACE, "restricted");
    // node-exporter and the log agent read the node: no Pod Security level short of privileged admits them.
    const nodeAgents = namespace(NODE_AGENTS_NAMESPACE, "privileged");
    const loki = namespace(LOKI_NAMESPACE, "restricted");
    const tempo = namespace(TEMPO_NAMESPACE, "restricted");
    this.namespaces = {
      [MONITORING_NAMESPACE]: monitoring,
      [NODE_AGENTS_NAMESPACE]: nodeAgents,
      [LOKI_NAMESPACE]: loki,
      [TEMPO_NAMESPACE]: tempo,
    };
    const hours = `${args.retentionDays * 24}h`;

    pinnedRelease(
      "loki",
      args.charts.loki,
      { resourceName: named("loki"), namespace: LOKI_NAMESPACE, values: lokiValues(args, hours) },
      { parent: this, dependsOn: [loki] },
    );
    pinnedRelease(
      "tempo",
      args.charts.tempo,
      {
        resourceName: named("tempo"),
        namespace: TEMPO_NAMESPACE,
        values: tempoValues(args, hours),
      },
      { parent: this, dependsOn: [tempo] },
    );
    new k8s.core.v1.ConfigMap(
      `${name}-dashboard`,
      {
        metadata: {
          name: "rag-service-dashboard",
          namespace: MONITORING_NAMESPACE,
          labels: { grafana_dashboard: "1" },
        },
        data: { [RAG_DASHBOARD_FILE]: JSON.stringify(ragDashboard(args.workloadNamespace)) },
      },
      { parent: this, dependsOn: [monitoring] },
    );
    const keys = args.alerts.keys;
    const alertSecret = keys
      ? [
          new SyncedSecret(
            named(args.alerts.secretName),
            {
              namespace: MONITORING_NAMESPACE,
              secretName: args.alerts.secretName,
              storeName: keys.storeName,
              keys: keys.remoteKeys.map((k) => ({ ...k })),
            },
            { parent: this, dependsOn: [monitoring, ...keys.storeReady] },
          ),
        ]
      : [];
    this.prometheusStack = pinnedRelease(
      "kube-prometheus-stack",
      args.charts.kubePrometheusStack,
      {
        resourceName: named("kube-prometheus-stack"),
        namespace: MONITORING_NAMESPACE,
        values: prometheusStackValues(args),
      },
      { parent: this, dependsOn: [monitoring, nodeAgents, ...alertSecret] },
    );
    const auth = args.audit?.kind === "otlp" ? args.audit.auth : undefined;
    const auditKey = auth
      ? [
          new SyncedSecret(
            named(AUDIT_KEY_SECRET),
            {
              namespace: NODE_AGENTS_NAMESPACE,
              secretName: AUDIT_KEY_SECRET,
              storeName: auth.storeName,
              keys: [{ secretKey: "value", remoteKey: auth.remoteKey }],
            },
            { parent: this, dependsOn: [nodeAgents, ...auth.storeReady] },
          ),
        ]
      : [];
    pinnedRelease(
      "log-agent",
      args.charts.openTelemetryCollector,
      {
        resourceName: named("log-agent"),
        namespace: NODE_AGENTS_NAMESPACE,
        values: logAgentValues(args),
      },
      { parent: this, dependsOn: [nodeAgents, ...auditKey] },
    );
    if (args.audit?.kind === "otlp" && args.audit.cloudLogs)
      pinnedRelease(
        SIEM_FORWARDER_RELEASE,
        args.charts.openTelemetryCollector,
        {
          resourceName: named(SIEM_FORWARDER_RELEASE),
          namespace: NODE_AGENTS_NAMESPACE,
          values: siemForwarderValues(args.audit, args.audit.cloudLogs, args.storageClassName),
        },
        { parent: this, dependsOn: [nodeAgents, ...auditKey] },
      );
    this.registerOutputs({});
  }
}

/** The node log agent: every pod's log lines to Loki; with `audit`, the runtime's audit lines to the SIEM instead. */
export function logAgentValues(
  args: Pick<ObservabilityStackArgs, "audit" | "workloadNamespace">,
): Record<string, unknown> {
  const audit = args.audit && auditPipeline(args.audit, args.workloadNamespace);
  return {
    mode: "daemonset",
    image: { repository: "otel/opentelemetry-collector-contrib" },
    presets: { logsCollection: { enabled: true }, kubernetesAttributes: { enabled: true } },
    resources: resources(SIZES.logAgent),
    extraEnvs: audit?.env ?? [],
    config: {
      exporters: { otlphttp: { endpoint: LOKI_OTLP_HTTP }, ...audit?.exporters },
      processors: { ...audit?.processors },
      service: {
        pipelines: {
          logs: {
            ...(audit ? { processors: ["memory_limiter", audit.appLogsFilter, "batch"] } : {}),
            exporters: ["otlphttp"],
          },
          ...(audit ? { "logs/audit": audit.pipeline } : {}),
          traces: null,
          metrics: null,
        },
      },
    },
  };
}

function prometheusStackValues(args: ObservabilityStackArgs): Record<string, unknown> {
  return {
    // EKS, AKS and GKE run these on their own control plane, out of Prometheus's reach.
    kubeControllerManager: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeEtcd: { enabled: false },
    // The API server calls admission webhooks in plain text, which a STRICT mesh refuses: the
    // rules' validation is left to the operator's reconcile.
    prometheusOperator: { admissionWebhooks: { enabled: false } },
    "prometheus-node-exporter": { namespaceOverride: NODE_AGENTS_NAMESPACE },
    prometheus: {
      prometheusSpec: {
        replicas: 2,
        retention: `${args.metricsRetentionDays ?? 15}d`,
        resources: resources(SIZES.prometheus),
        // Rules, monitors and probes from any release or namespace (the SLO rules are our own).
        ruleSelectorNilUsesHelmValues: false,
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        storageSpec: {
          volumeClaimTemplate: {
            spec: {
              storageClassName: args.storageClassName,
              accessModes: ["ReadWriteOnce"],
              resources: { requests: { storage: "200Gi" } },
            },
          },
        },
        additionalScrapeConfigs: [workloadScrape(args.workloadNamespace)],
      },
    },
    alertmanager: {
      alertmanagerSpec: {
        replicas: 2,
        resources: resources(SIZES.alertmanager),
        secrets: [args.alerts.secretName],
      },
      config: alertmanagerConfig(args.alerts),
    },
    grafana: {
      resources: resources(SIZES.grafana),
      sidecar: { dashboards: { enabled: true, label: "grafana_dashboard", labelValue: "1" } },
      additionalDataSources: [
        {
          name: "Tempo",
          uid: "tempo",
          type: "tempo",
          url: `http://tempo-query-frontend.${TEMPO_NAMESPACE}.svc.cluster.local:3200`,
          jsonData: {
            tracesToLogsV2: { datasourceUid: "loki", filterByTraceID: true },
            serviceMap: { datasourceUid: PROMETHEUS_DATASOURCE_UID },
          },
        },
        {
          name: "Loki",
          uid: "loki",
          type: "loki",
          url: `http://loki-gateway.${LOKI_NAMESPACE}.svc.cluster.local`,
          jsonData: {
            derivedFields: [
              {
                name: "trace",
                matcherRegex: LOG_TRACE_ID_PATTERN,
                url: "$${__value.raw}",
                datasourceUid: "tempo",
              },
            ],
          },
        },
      ],
    },
  };
}

/**
 * The RAG pods' /metrics (the pods annotated prometheus.io/scrape), keeping Argo Rollouts'
 * pod-template hash so a canary's analysis can tell its pods from the stable ones.
 */
export function workloadScrape(namespace: string): Record<string, unknown> {
  return {
    job_name: "rag-workloads",
    kubernetes_sd_configs: [{ role: "pod", namespaces: { names: [namespace] } }],
    relabel_configs: [
      {
        source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
        action: "keep",
        regex: "true",
      },
      {
        source_labels: [
          "__meta_kubernetes_pod_ip",
          "__meta_kubernetes_pod_annotation_prometheus_io_port",
        ],
        regex: "(.+);(\\d+)",
        replacement: "$1:$2",
        target_label: "__address__",
      },
      { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
      { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
      {
        source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
        target_label: "app",
      },
      {
        source_labels: ["__meta_kubernetes_pod_label_rollouts_pod_template_hash"],
        target_label: "rollouts_pod_template_hash",
      },
    ],
  };
}

function lokiValues(args: ObservabilityStackArgs, hours: string): Record<string, unknown> {
  const size = resources(SIZES.lokiComponent);
  const component = (replicas: number) => ({ replicas, resources: size });
  return {
    // The chart deprecates SingleBinary and SimpleScalable (removed in Loki 4): microservices.
    deploymentMode: "Distributed",
    serviceAccount: { create: true, annotations: args.loki.serviceAccountAnnotations ?? {} },
    loki: {
      auth_enabled: false,
      schemaConfig: {
        configs: [
          {
            from: "2026-01-01",
            store: "tsdb",
            object_store: "s3",
            schema: "v13",
            index: { prefix: "loki_index_", period: "24h" },
          },
        ],
      },
      storage: {
        type: "s3",
        bucketNames: { chunks: args.loki.bucket, ruler: args.loki.bucket, admin: args.loki.bucket },
        s3: { region: args.loki.region },
      },
      compactor: { retention_enabled: true, delete_request_store: "s3" },
      limits_config: { retention_period: hours, allow_structured_metadata: true },
    },
    ingester: { ...component(3), zoneAwareReplication: { enabled: false } },
    distributor: component(3),
    querier: component(3),
    queryFrontend: component(2),
    queryScheduler: component(2),
    indexGateway: component(2),
    compactor: component(1),
    gateway: { replicas: 2 },
    singleBinary: { replicas: 0 },
    write: { replicas: 0 },
    read: { replicas: 0 },
    backend: { replicas: 0 },
    minio: { enabled: false },
  };
}

function tempoValues(args: ObservabilityStackArgs, hours: string): Record<string, unknown> {
  const size = resources(SIZES.tempoComponent);
  return {
    serviceAccount: { create: true, annotations: args.tempo.serviceAccountAnnotations ?? {} },
    reportingEnabled: false,
    traces: { otlp: { grpc: { enabled: true }, http: { enabled: true } } },
    storage: {
      trace: {
        backend: "s3",
        s3: {
          bucket: args.tempo.bucket,
          endpoint: `s3.${args.tempo.region}.amazonaws.com`,
          region: args.tempo.region,
        },
      },
    },
    ingester: { replicas: 3, resources: size },
    distributor: { replicas: 2, resources: size },
    querier: { replicas: 2, resources: size },
    queryFrontend: { replicas: 2, resources: size },
    compactor: { replicas: 1, resources: size, config: { compaction: { block_retention: hours } } },
  };
}
