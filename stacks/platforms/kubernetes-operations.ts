/**
 * What the Kubernetes platform adds when the tier asks for zero trust, progressive releases and
 * its own observability (enterprise): Istio ambient and the mesh's policies from the flow table,
 * Argo Rollouts with the API's canary and the model server's blue/green, and the region's
 * Prometheus, Grafana, Tempo and Loki with the SLO rules. Each part follows its config key
 * (security.mesh, security.releases, observability.stack); with all three off nothing is created.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { CanaryRoute } from "../../components/kubernetes/canary-routing";
import {
  ANYWHERE,
  egressOf,
  namespaceFlowPolicies,
  type FlowTable,
  type MeshWorkload,
} from "../../components/kubernetes/flows";
import { ARGO_CD } from "../../components/kubernetes/cluster-addons";
import { auditEndpointPort, type AuditDestination } from "../../components/kubernetes/audit-export";
import { AMBIENT_LABELS, IstioAmbient, MeshPolicies } from "../../components/kubernetes/mesh";
import {
  LOKI_NAMESPACE,
  LOKI_OTLP_HTTP,
  MONITORING_NAMESPACE,
  NODE_AGENTS_NAMESPACE,
  ObservabilityStack,
  type ObjectStorage,
  PROMETHEUS_URL,
  TEMPO_NAMESPACE,
  TEMPO_OTLP_GRPC,
} from "../../components/kubernetes/observability-stack";
import { denyByDefault, flowPolicy, podsIn } from "../../components/kubernetes/network-policy";
import {
  ApiCanary,
  ModelBlueGreen,
  ROLLOUTS_CONTROLLER,
  ROLLOUTS_NAMESPACE,
  rolloutsController,
  rolloutsServiceMonitor,
  ROLLOUTS_METRICS_PORT,
} from "../../components/kubernetes/progressive-delivery";
import { API_LABELS } from "../../components/kubernetes/runtime-workloads";
import { errorBudget, ragSlos, SloRules } from "../../components/kubernetes/slo";
import type { TelemetryArgs } from "../../components/kubernetes/telemetry";
import { TELEMETRY_NAMESPACE } from "../../components/kubernetes/telemetry";
import type { PlatformConfig } from "../config";
import type { RegionSite } from "../regions";
import { CHARTS, ISTIO_IMAGES, K8S_IMAGES } from "../versions";
import type { ClusterHost } from "./cluster-host";
import { KUBERNETES_NAMESPACE, WORKLOADS } from "./kubernetes-flows";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

/** The API's canary: a pod's worth first, then a quarter, half, all; watched between steps. */
export const API_CANARY_STEPS = [
  { weightPercent: 5, pauseMinutes: 5 },
  { weightPercent: 25, pauseMinutes: 10 },
  { weightPercent: 50, pauseMinutes: 10 },
  { weightPercent: 100, pauseMinutes: 0 },
] as const;
/** A canary fails where the page alert would fire: 14.4 times the query SLO's error budget. */
const CANARY_BURN_RATE = 14.4;
/** The port a Git URL (as the config takes them) is fetched on: SSH's for git@host:path, else HTTPS's or the one it names. */
export function gitPort(repoUrl: string): number {
  if (repoUrl.startsWith("git@")) return 22;
  const url = new URL(repoUrl);
  return url.port ? Number(url.port) : 443;
}

/** Ports of the in-cluster stores (their pods' ports, which the mesh and NetworkPolicies see). */
const PORTS = {
  prometheus: 9090,
  tempoOtlp: 4317,
  tempoQuery: 3200,
  lokiGateway: 8080,
  kubernetesApi: 443,
  pagerDuty: 443,
  dnsMetrics: 9153,
};
/** What Prometheus reads on every node: the kubelet (and cAdvisor), node-exporter, kube-proxy. */
const NODE_METRICS_PORTS = [10250, 9100, 10249];
/** The Secret of Alertmanager's keys in the monitoring namespace. */
const ALERT_SECRET = "alertmanager-keys";

export class ClusterOperations {
  readonly mesh: IstioAmbient | undefined;
  private readonly rollouts: k8s.helm.v3.Release | undefined;
  private readonly stack: boolean;
  private observability: ObservabilityStack | undefined;

  constructor(
    private readonly host: ClusterHost,
    private readonly cfg: PlatformConfig,
    private readonly site: RegionSite,
    private readonly flows: FlowTable,
    private readonly onCluster: () => pulumi.ComponentResourceOptions,
  ) {
    const named = (release: string) =>
      site.namePrefix ? `${site.namePrefix}-${release}` : release;
    this.stack = cfg.observability.stack === "in-cluster";
    this.mesh =
      cfg.security.mesh === "istio-ambient"
        ? new IstioAmbient(
            `${site.prefix}-istio`,
            {
              charts: {
                base: CHARTS.istioBase,
                istiod: CHARTS.istiod,
                cni: CHARTS.istioCni,
                ztunnel: CHARTS.ztunnel,
              },
              image: ISTIO_IMAGES,
              resourceNamePrefix: site.namePrefix,
            },
            onCluster(),
          )
        : undefined;
    this.rollouts =
      cfg.security.releases === "rollouts"
        ? rolloutsController(
            `${site.prefix}-argo-rollouts`,
            CHARTS.argoRollouts,
            { namespaceLabels: this.namespaceLabels, resourceName: named("argo-rollouts") },
            { provider: host.kubernetes },
          )
        : undefined;
  }

  /** The labels every namespace of the platform carries: the mesh's enrolment. */
  get namespaceLabels(): Record<string, string> {
    return this.mesh ? { ...AMBIENT_LABELS } : {};
  }

  /** Where the collector also sends traces and logs: the region's Tempo and Loki. */
  telemetryAlsoTo(): TelemetryArgs["alsoTo"] {
    return this.stack
      ? {
          traces: { endpoint: TEMPO_OTLP_GRPC, namespace: TEMPO_NAMESPACE, port: PORTS.tempoOtlp },
          logs: { endpoint: LOKI_OTLP_HTTP, namespace: LOKI_NAMESPACE, port: PORTS.lokiGateway },
        }
      : undefined;
  }

  /** Prometheus's pods, which scrape the workloads' metrics ports when the stack runs. */
  get prometheusPeers(): Peer[] {
    return this.stack ? [podsIn(MONITORING_NAMESPACE, WORKLOADS.prometheus.labels)] : [];
  }

  /**
   * Who reads a model server's metrics port: the collector's scraper and Prometheus (by
   * namespace: the component takes one peer), or the scraper alone.
   */
  modelScrapers(scraper: Peer | undefined): Peer | undefined {
    if (!this.stack) return scraper;
    return {
      namespaceSelector: {
        matchExpressions: [
          {
            key: "kubernetes.io/metadata.name",
            operator: "In",
            values: [TELEMETRY_NAMESPACE, MONITORING_NAMESPACE],
          },
        ],
      },
    };
  }

  /** Prometheus reads `w`'s /metrics on `port`. */
  scrapedByPrometheus(w: MeshWorkload, port: number): void {
    if (this.stack) this.flows.calls(WORKLOADS.prometheus, w, [port], "Prometheus metrics");
  }

  get releasesWithRollouts(): boolean {
    return this.rollouts !== undefined;
  }

  /** The model server's warm-up reaches it before a blue/green promotion. */
  warmupFlow(server: MeshWorkload, port: number): void {
    if (this.rollouts)
      this.flows.calls(WORKLOADS.modelWarmup, server, [port], "a new model's warm-up");
  }

  /** The API's canary over its Deployment, split by `route` when the way in has a router, gated by the query SLOs. */
  apiCanary(
    namespace: pulumi.Input<string>,
    route: CanaryRoute | undefined,
    after: pulumi.Resource[],
  ): void {
    if (!this.rollouts) return;
    const slos = ragSlos(KUBERNETES_NAMESPACE, { selfHostedModel: false });
    const availability = slos.find((s) => s.name === "query-availability")!;
    new ApiCanary(
      `${this.site.prefix}-api-canary`,
      {
        namespace,
        deploymentName: API_LABELS["app.kubernetes.io/name"],
        labels: API_LABELS,
        steps: API_CANARY_STEPS,
        prometheusUrl: PROMETHEUS_URL,
        maxErrorRatio: Number((CANARY_BURN_RATE * errorBudget(availability)).toPrecision(6)),
        maxP95Seconds: 10,
        ...(route ? { route } : {}),
      },
      { ...this.onCluster(), dependsOn: [this.rollouts, ...after] },
    );
  }

  /** vLLM's blue/green: the new model loaded and answering before its Service moves. */
  modelBlueGreen(
    namespace: pulumi.Input<string>,
    model: pulumi.Input<string>,
    after: pulumi.Resource[],
  ): void {
    if (!this.rollouts) return;
    // The warm-up's pods: what the table lets them call, nothing in.
    flowPolicy(
      `${this.site.prefix}-model-warmup`,
      {
        namespace,
        podLabels: { ...WORKLOADS.modelWarmup.labels },
        ...egressOf(this.flows, WORKLOADS.modelWarmup),
      },
      { provider: this.host.kubernetes },
    );
    new ModelBlueGreen(
      `${this.site.prefix}-vllm-release`,
      {
        namespace,
        deploymentName: "vllm",
        activeService: "vllm",
        labels: WORKLOADS.vllm.labels,
        port: 8000,
        replicas: 1,
        model,
        warmup: WORKLOADS.modelWarmup,
        curlImage: K8S_IMAGES.curl,
      },
      { ...this.onCluster(), dependsOn: [this.rollouts, ...after] },
    );
  }

  /**
   * Last, once every workload's flows are in the table: the region's observability stack and
   * SLO rules, then the mesh's policies over every namespace the platform enrols.
   */
  finish(
    alertKey: (
      name: string,
      description: string,
    ) => {
      storeName: pulumi.Input<string>;
      remoteKey: pulumi.Input<string>;
      storeReady: pulumi.Resource[];
    },
    hasTelemetry: boolean,
    argoCd?: pulumi.Resource,
  ): void {
    const namespaces: string[] = [
      KUBERNETES_NAMESPACE,
      ...(hasTelemetry ? [TELEMETRY_NAMESPACE] : []),
    ];
    if (this.stack) {
      this.observabilityStack(alertKey, hasTelemetry);
      namespaces.push(MONITORING_NAMESPACE, NODE_AGENTS_NAMESPACE, LOKI_NAMESPACE, TEMPO_NAMESPACE);
    }
    if (this.rollouts) {
      namespaces.push(ROLLOUTS_NAMESPACE);
      this.toKubernetesApi(ROLLOUTS_CONTROLLER, "rollouts, ReplicaSets and analyses");
      if (this.stack)
        this.flows.calls(
          ROLLOUTS_CONTROLLER,
          WORKLOADS.prometheus,
          [PORTS.prometheus],
          "canary analysis queries",
        );
      if (this.observability) {
        this.scrapedByPrometheus(ROLLOUTS_CONTROLLER, ROLLOUTS_METRICS_PORT);
        rolloutsServiceMonitor(`${this.site.prefix}-argo-rollouts-metrics`, {
          provider: this.host.kubernetes,
          dependsOn: [this.rollouts, this.observability.prometheusStack],
        });
      }
      this.flowPolicies(ROLLOUTS_NAMESPACE, this.rollouts);
    }
    // Argo CD's namespace is the platform's when the mesh enrols it (ClusterAddons made it so).
    if (argoCd && this.mesh) {
      namespaces.push(ARGO_CD.namespace);
      this.gitopsFlows();
      this.flowPolicies(ARGO_CD.namespace, argoCd);
    }
    if (this.observability)
      for (const [ns, resource] of Object.entries(this.observability.namespaces))
        this.flowPolicies(ns, resource);
    if (!this.mesh) return;
    new MeshPolicies(
      `${this.site.prefix}-mesh-policies`,
      { flows: this.flows, namespaces },
      { ...this.onCluster(), dependsOn: this.mesh.ready },
    );
  }

  private observabilityStack(
    alertKey: (
      name: string,
      description: string,
    ) => {
      storeName: pulumi.Input<string>;
      remoteKey: pulumi.Input<string>;
      storeReady: pulumi.Resource[];
    },
    hasTelemetry: boolean,
  ): void {
    const o = this.cfg.observability;
    const storage = this.host.telemetryStorage?.([
      { name: "loki", namespace: LOKI_NAMESPACE, serviceAccount: "loki" },
      { name: "tempo", namespace: TEMPO_NAMESPACE, serviceAccount: "tempo" },
    ]);
    if (!storage)
      throw new Error(
        `${this.site.prefix}: this cluster's cloud keeps no in-cluster telemetry (observability.stack)`,
      );
    const pagerDuty = alertKey(
      "pagerduty-routing-key",
      "PagerDuty Events API v2 routing key for the SLO pages",
    );
    const smtp = o.smtp
      ? alertKey("smtp-password", "SMTP password Alertmanager e-mails tickets with")
      : undefined;
    const audit = this.host.runtimeAuditExport?.(WORKLOADS.logAgent, WORKLOADS.siemForwarder);
    const stack = (this.observability = new ObservabilityStack(
      `${this.site.prefix}-observability`,
      {
        charts: {
          kubePrometheusStack: CHARTS.kubePrometheusStack,
          loki: CHARTS.loki,
          tempo: CHARTS.tempoDistributed,
          openTelemetryCollector: CHARTS.openTelemetryCollector,
        },
        loki: storage[0]!,
        tempo: storage[1]!,
        retentionDays: o.logRetentionDays,
        storageClassName: this.host.storageClassName,
        workloadNamespace: KUBERNETES_NAMESPACE,
        alerts: {
          secretName: ALERT_SECRET,
          ticketEmails: o.alertEmails,
          smtp: o.smtp,
          keys: {
            storeName: pagerDuty.storeName,
            storeReady: pagerDuty.storeReady,
            remoteKeys: [
              { secretKey: "pagerduty-routing-key", remoteKey: pagerDuty.remoteKey },
              ...(smtp ? [{ secretKey: "smtp-password", remoteKey: smtp.remoteKey }] : []),
            ],
          },
        },
        ...(audit ? { audit } : {}),
        namespaceLabels: this.namespaceLabels,
        resourceNamePrefix: this.site.namePrefix,
      },
      this.onCluster(),
    ));
    const selfHosted = this.cfg.llm.mode === "self-hosted" && this.cfg.llm.server === "vllm";
    new SloRules(
      `${this.site.prefix}-slos`,
      {
        namespace: MONITORING_NAMESPACE,
        slos: ragSlos(KUBERNETES_NAMESPACE, {
          selfHostedModel: selfHosted,
          replicaRegion: !this.site.primary,
        }),
      },
      { ...this.onCluster(), dependsOn: [stack.prometheusStack] },
    );
    this.stackFlows(storage, hasTelemetry);
    if (audit) this.auditFlows(audit);
  }

  /**
   * The stack's flows: each store's components among themselves and out to its bucket,
   * Prometheus to the nodes, the cluster's DNS and the API server, Grafana to the stores, the
   * log agent and the collector into them, the operators to the API server, Alertmanager out to
   * PagerDuty and the SMTP server.
   */
  private stackFlows(storage: readonly ObjectStorage[], hasTelemetry: boolean): void {
    const w = WORKLOADS;
    for (const ns of [w.monitoring, w.loki, w.tempo])
      this.flows.add({
        from: { kind: "workload", workload: ns },
        to: { kind: "workload", workload: ns },
        ports: [],
        protocol: "TCP",
        purpose: "the store's own components",
      });
    const [loki, tempo] = storage;
    for (const [store, bucket] of [
      [w.loki, loki],
      [w.tempo, tempo],
    ] as const)
      for (const e of bucket?.egress ?? [])
        this.flows.reaches(store, e, "its bucket", "cloud-apis");
    this.flows.reaches(
      w.prometheus,
      { cidr: this.host.networkCidr, ports: NODE_METRICS_PORTS },
      "node metrics: kubelet, node-exporter (host network), kube-proxy",
    );
    this.flows.calls(w.prometheus, w.clusterDns, [PORTS.dnsMetrics], "cluster DNS metrics");
    this.toKubernetesApi(w.prometheus, "service discovery and the API server's metrics");
    this.toKubernetesApi(w.prometheusOperator, "Prometheus and Alertmanager resources");
    this.toKubernetesApi(w.kubeStateMetrics, "the objects' state");
    this.toKubernetesApi(w.grafana, "dashboards and data sources (its sidecars)");
    this.toKubernetesApi(w.logAgent, "pod metadata on each log line");
    this.flows.reaches(
      w.alertmanager,
      { cidr: ANYWHERE, ports: [PORTS.pagerDuty] },
      "pages to PagerDuty",
      "alert-delivery",
    );
    const smtp = this.cfg.observability.smtp;
    if (smtp)
      this.flows.reaches(
        w.alertmanager,
        { cidr: ANYWHERE, ports: [Number(smtp.smarthost.split(":").at(-1))] },
        "ticket e-mails",
        "alert-delivery",
      );
    this.flows.calls(w.grafana, w.tempo, [PORTS.tempoQuery], "trace queries");
    this.flows.calls(w.grafana, w.loki, [PORTS.lokiGateway], "log queries");
    this.flows.calls(w.logAgent, w.loki, [PORTS.lokiGateway], "pod logs");
    if (hasTelemetry) {
      this.flows.calls(w.collector, w.tempo, [PORTS.tempoOtlp], "traces");
      this.flows.calls(w.collector, w.loki, [PORTS.lokiGateway], "OTLP logs");
    }
  }

  /**
   * The log agent's way to the SIEM: CloudWatch Logs (and its credentials), or the OTLP endpoint;
   * with OTLP, the forwarder's from CloudWatch Logs to the endpoint.
   */
  private auditFlows(audit: AuditDestination): void {
    const agent = WORKLOADS.logAgent;
    switch (audit.kind) {
      case "cloudwatch-logs":
        for (const e of audit.egress)
          this.flows.reaches(agent, e, "audit events to CloudWatch Logs", "cloud-apis");
        return;
      case "otlp": {
        const toSiem = { cidr: ANYWHERE, ports: [auditEndpointPort(audit)] };
        this.flows.reaches(agent, toSiem, "audit events to the SIEM", "siem-export");
        if (!audit.cloudLogs) return;
        const forwarder = WORKLOADS.siemForwarder;
        for (const e of audit.cloudLogs.egress)
          this.flows.reaches(
            forwarder,
            e,
            "the cloud's audit logs from CloudWatch Logs",
            "cloud-apis",
          );
        this.flows.reaches(forwarder, toSiem, "the cloud's audit logs to the SIEM", "siem-export");
        return;
      }
      default: {
        const unreachable: never = audit;
        throw new Error(`unknown audit destination ${String(unreachable)}`);
      }
    }
  }

  /**
   * Argo CD's flows: its components among themselves and to the Kubernetes API (the
   * Applications' resources), and the repo server out to the Git repository, on HTTPS or SSH as
   * its URL says.
   */
  private gitopsFlows(): void {
    const { argoCd, argoCdRepoServer } = WORKLOADS;
    this.flows.calls(argoCd, argoCd, [], "Argo CD's own components");
    this.toKubernetesApi(argoCd, "the Applications' resources");
    this.flows.reaches(
      argoCdRepoServer,
      { cidr: ANYWHERE, ports: [gitPort(this.cfg.gitops.repoUrl!)] },
      "the GitOps repository",
      "gitops-repository",
    );
  }

  /** `from` calls the Kubernetes API, wherever the cloud puts its endpoint. */
  private toKubernetesApi(from: MeshWorkload, what: string): void {
    this.flows.reaches(
      from,
      { cidr: ANYWHERE, ports: [PORTS.kubernetesApi] },
      `the Kubernetes API: ${what}`,
      "kubernetes-api",
    );
  }

  /** A namespace of the stack's, denied by default and opened flow by flow from the table. */
  private flowPolicies(namespace: string, after: pulumi.Resource): void {
    const opts = { provider: this.host.kubernetes, dependsOn: [after] };
    const name = `${this.site.prefix}-${namespace}`;
    denyByDefault(name, namespace, opts);
    for (const { id, args } of namespaceFlowPolicies(this.flows, namespace))
      flowPolicy(`${this.site.prefix}-${id}`, { namespace, ...args }, opts);
  }
}
