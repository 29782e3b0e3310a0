import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GPU_POOL_LABEL, GPU_TAINT } from "./gpu-scheduling";
import { SyncedSecret } from "./external-secret";
import { pinnedRelease, type PinnedChart } from "./helm";
import { denyByDefault, flowPolicy, podsIn } from "./network-policy";
import { CONTAINER_SECURITY, resources, zoneSpread, type ComputeSize } from "./pod-security";
import {
  COLLECTOR,
  collectorExporters,
  EXPORTER_KEY_SECRET,
  exporterPort,
  METRICS_SCRAPER,
  OTLP_GRPC_PORT,
  OTLP_HTTP_PORT,
  TELEMETRY_NAMESPACE,
  type TelemetryArgs,
} from "./telemetry";

export interface ClusterAddonsArgs {
  readonly charts: {
    readonly nvidiaDevicePlugin: PinnedChart;
    readonly metricsServer: PinnedChart;
    readonly keda: PinnedChart;
    readonly openTelemetryCollector: PinnedChart;
    readonly argoCd: PinnedChart;
  };
  /** The collector's exporter. @default - no collector */
  readonly telemetry?: TelemetryArgs;
  /** Argo CD and an Application syncing this repository path into `targetNamespace`. @default - no GitOps */
  readonly gitops?: {
    readonly repoUrl: string;
    readonly path: string;
    readonly targetRevision: string;
    readonly targetNamespace: pulumi.Input<string>;
    /**
     * The platform owns the namespace's policies (zero trust): the namespace is made here with
     * Pod Security `restricted` and these labels (the mesh's enrolment), and the chart's own
     * NetworkPolicies are left out, the flow table's taking their place.
     * @default - the chart makes the namespace and its ingress NetworkPolicies
     */
    readonly namespaceLabels?: Readonly<Record<string, string>>;
  };
  /**
   * What the cloud already runs on its clusters, left out here so it is not installed twice.
   * @default - nothing: metrics-server and the NVIDIA device plugin are installed
   */
  readonly cloudProvides?: {
    /** metrics-server (the Metrics API HPAs read). @default false */
    readonly metricsServer?: boolean;
    /** The NVIDIA device plugin on GPU nodes. @default false */
    readonly gpuDevicePlugin?: boolean;
  };
  /**
   * Prefix of the Pulumi names of the releases and synced secrets, so several clusters fit in
   * one stack; their names inside the cluster stay. @default - none: the release names
   */
  readonly resourceNamePrefix?: string;
}

/**
 * The cloud-neutral cluster add-ons, each from its official chart at a pinned version: the
 * NVIDIA device plugin (GPU nodes only) and metrics-server (HPA) where the cloud does not run
 * them, KEDA (queue-driven scaling), an OpenTelemetry collector and, with GitOps on, Argo CD.
 */
/** Requests (and limits) of the add-ons: a cluster of a few dozen nodes. */
const ADDON_SIZES = {
  small: { cpuMillicores: 50, memoryMiB: 128 },
  devicePlugin: { cpuMillicores: 50, memoryMiB: 128 },
  metricsServer: { cpuMillicores: 100, memoryMiB: 200 },
  kedaOperator: { cpuMillicores: 100, memoryMiB: 256 },
  kedaMetricsServer: { cpuMillicores: 100, memoryMiB: 256 },
  argoController: { cpuMillicores: 250, memoryMiB: 1024 },
  argoRepoServer: { cpuMillicores: 100, memoryMiB: 512 },
  argoServer: { cpuMillicores: 100, memoryMiB: 256 },
  collector: { cpuMillicores: 200, memoryMiB: 512 },
  scraper: { cpuMillicores: 100, memoryMiB: 256 },
} as const satisfies Record<string, ComputeSize>;

/** Both collectors refuse data before they run out of memory, and send in batches. */
const COLLECTOR_PROCESSORS = {
  memory_limiter: { check_interval: "5s", limit_percentage: 80, spike_limit_percentage: 25 },
  batch: {},
};

/** Both collectors run as the contrib image's user, restricted. */
export const COLLECTOR_SECURITY = {
  podSecurityContext: {
    runAsNonRoot: true,
    runAsUser: 10001,
    seccompProfile: { type: "RuntimeDefault" },
  },
  securityContext: {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  },
};

/** A chart's pod-level security context, where the container's lacks the pod-level fields. */
const RESTRICTED_POD = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };

/**
 * Argo CD: the API server inside the cluster only (reached with a port forward), TLS on; every
 * component with requests and limits (the chart's containers are restricted already).
 */
/** Argo CD as the chart names it at this release: its namespace and the repo server, the one component that reaches the Git repository. */
export const ARGO_CD = {
  namespace: "argocd",
  release: "argo-cd",
  /** The AppProject the Application lives in: this repository, into the platform's namespace only. */
  project: "rag-platform",
  repoServer: {
    // The chart's selector labels: "<nameOverride argocd>-<component>".
    labels: { "app.kubernetes.io/name": "argocd-repo-server" },
    // "<release>-<nameOverride>-repo-server": the release name lacks "argocd", so both appear.
    serviceAccount: "argo-cd-argocd-repo-server",
  },
} as const;

function argoCdValues(ownPolicies: boolean): Record<string, unknown> {
  const small = resources(ADDON_SIZES.small);
  return {
    // With the platform's flow table writing the namespace's policies, the chart's (ingress only)
    // would allow more than the table says.
    global: { networkPolicy: { create: !ownPolicies } },
    configs: { params: { "server.insecure": false } },
    server: { service: { type: "ClusterIP" }, resources: resources(ADDON_SIZES.argoServer) },
    controller: { resources: resources(ADDON_SIZES.argoController) },
    repoServer: { resources: resources(ADDON_SIZES.argoRepoServer) },
    applicationSet: { resources: small },
    notifications: { resources: small },
    dex: { resources: small },
    redis: { resources: small },
  };
}

export class ClusterAddons extends pulumi.ComponentResource {
  /** OTLP/HTTP endpoint for workloads, when a collector runs. */
  readonly otlpEndpoint: string | undefined;
  readonly argoCd: k8s.helm.v3.Release | undefined;
  /** KEDA, whose CRDs (ScaledObject, TriggerAuthentication) the workloads use. */
  readonly keda: k8s.helm.v3.Release;
  /** A release's or secret's Pulumi name (resourceNamePrefix applied). */
  private readonly resourceName: (name: string) => string;

  constructor(name: string, args: ClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:ClusterAddons", name, {}, opts);
    const parent = { parent: this };
    const named = (release: string) =>
      args.resourceNamePrefix ? `${args.resourceNamePrefix}-${release}` : release;
    this.resourceName = named;
    if (!args.cloudProvides?.gpuDevicePlugin) {
      pinnedRelease(
        "nvidia-device-plugin",
        args.charts.nvidiaDevicePlugin,
        {
          resourceName: named("nvidia-device-plugin"),
          namespace: "kube-system",
          values: {
            nodeSelector: { [GPU_POOL_LABEL.key]: GPU_POOL_LABEL.value },
            tolerations: [{ key: GPU_TAINT.key, operator: "Exists", effect: GPU_TAINT.effect }],
            priorityClassName: "system-node-critical",
            resources: resources(ADDON_SIZES.devicePlugin),
            // It runs as root (the kubelet's device-plugin socket directory needs it), but with no
            // privilege escalation, no capability and the runtime's seccomp profile.
            securityContext: {
              allowPrivilegeEscalation: false,
              capabilities: { drop: ["ALL"] },
              seccompProfile: { type: "RuntimeDefault" },
            },
          },
        },
        parent,
      );
    }
    if (!args.cloudProvides?.metricsServer) {
      pinnedRelease(
        "metrics-server",
        args.charts.metricsServer,
        {
          resourceName: named("metrics-server"),
          namespace: "kube-system",
          values: {
            replicas: 2,
            podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
            resources: resources(ADDON_SIZES.metricsServer),
            securityContext: { ...CONTAINER_SECURITY, runAsUser: 1000 },
          },
        },
        parent,
      );
    }
    this.keda = pinnedRelease(
      "keda",
      args.charts.keda,
      {
        resourceName: named("keda"),
        namespace: "keda",
        createNamespace: true,
        values: {
          // Two operators (one leads), so the budget keeps one through a drain.
          operator: { replicaCount: 2 },
          podDisruptionBudget: { operator: { maxUnavailable: 1 } },
          resources: {
            operator: resources(ADDON_SIZES.kedaOperator),
            metricServer: resources(ADDON_SIZES.kedaMetricsServer),
            webhooks: resources(ADDON_SIZES.small),
          },
          securityContext: {
            operator: CONTAINER_SECURITY,
            metricServer: CONTAINER_SECURITY,
            webhooks: CONTAINER_SECURITY,
          },
          podSecurityContext: {
            operator: RESTRICTED_POD,
            metricServer: RESTRICTED_POD,
            webhooks: RESTRICTED_POD,
          },
        },
      },
      parent,
    );

    if (args.telemetry) {
      const { exporters, names, env } = collectorExporters(args.telemetry);
      const also = args.telemetry.alsoTo;
      const inCluster = also
        ? {
            "otlp/tempo": { endpoint: also.traces.endpoint, tls: { insecure: true } },
            "otlphttp/loki": { endpoint: also.logs.endpoint },
          }
        : {};
      const ns = new k8s.core.v1.Namespace(
        `${name}-telemetry`,
        {
          metadata: {
            name: TELEMETRY_NAMESPACE,
            labels: {
              "pod-security.kubernetes.io/enforce": "restricted",
              "pod-security.kubernetes.io/enforce-version": "latest",
              ...args.telemetry.namespaceLabels,
            },
          },
        },
        parent,
      );
      const keySecret = args.telemetry.apiKey
        ? [
            new SyncedSecret(
              named(EXPORTER_KEY_SECRET),
              {
                namespace: ns.metadata.name,
                secretName: EXPORTER_KEY_SECRET,
                storeName: args.telemetry.apiKey.storeName,
                keys: [{ secretKey: "api-key", remoteKey: args.telemetry.apiKey.remoteKey }],
              },
              { parent: this, dependsOn: args.telemetry.apiKey.storeReady },
            ),
          ]
        : [];
      this.telemetryPolicies(name, args.telemetry, ns);
      pinnedRelease(
        COLLECTOR.release,
        args.charts.openTelemetryCollector,
        {
          resourceName: named(COLLECTOR.release),
          namespace: TELEMETRY_NAMESPACE,
          values: {
            mode: "deployment",
            replicaCount: 2,
            image: { repository: "otel/opentelemetry-collector-contrib" },
            extraEnvs: env,
            // It calls no Kubernetes API (the scraper below does): no token.
            serviceAccount: { create: true, automountServiceAccountToken: false },
            topologySpreadConstraints: zoneSpread(COLLECTOR.labels),
            podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
            ...COLLECTOR_SECURITY,
            // Memory not overcommitted (the limit is the request), as for every workload of ours.
            resources: resources(ADDON_SIZES.collector),
            config: {
              receivers: {
                otlp: {
                  protocols: {
                    http: { endpoint: `0.0.0.0:${OTLP_HTTP_PORT}` },
                    grpc: { endpoint: `0.0.0.0:${OTLP_GRPC_PORT}` },
                  },
                },
              },
              processors: COLLECTOR_PROCESSORS,
              // In-cluster stores: plain OTLP, the mesh (when on) carries it over mutual TLS.
              exporters: { ...exporters, ...inCluster },
              service: {
                pipelines: {
                  traces: {
                    receivers: ["otlp"],
                    processors: ["memory_limiter", "batch"],
                    exporters: also ? [...names, "otlp/tempo"] : names,
                  },
                  metrics: {
                    receivers: ["otlp"],
                    processors: ["memory_limiter", "batch"],
                    exporters: names,
                  },
                  logs: {
                    receivers: ["otlp"],
                    processors: ["memory_limiter", "batch"],
                    exporters: also ? [...names, "otlphttp/loki"] : names,
                  },
                },
              },
            },
          },
        },
        { parent: this, dependsOn: [ns, ...keySecret] },
      );
      this.otlpEndpoint = `http://${COLLECTOR.release}-opentelemetry-collector.${TELEMETRY_NAMESPACE}.svc.cluster.local:${OTLP_HTTP_PORT}`;
      if (args.telemetry.scrapeNamespace)
        this.metricsScraper(
          args.charts.openTelemetryCollector,
          args.telemetry.scrapeNamespace,
          this.otlpEndpoint,
          ns,
        );
    } else {
      this.otlpEndpoint = undefined;
    }

    if (args.gitops) {
      const gitops = args.gitops;
      const ns = gitops.namespaceLabels
        ? new k8s.core.v1.Namespace(
            named("argocd-ns"),
            {
              metadata: {
                name: ARGO_CD.namespace,
                labels: {
                  "pod-security.kubernetes.io/enforce": "restricted",
                  ...gitops.namespaceLabels,
                },
              },
            },
            parent,
          )
        : undefined;
      const argoCd = (this.argoCd = pinnedRelease(
        ARGO_CD.release,
        args.charts.argoCd,
        {
          resourceName: named("argo-cd"),
          namespace: ARGO_CD.namespace,
          createNamespace: !ns,
          values: argoCdValues(ns !== undefined),
        },
        { ...parent, ...(ns ? { dependsOn: [ns] } : {}) },
      ));
      // The default project lets an Application deploy anything anywhere; this one takes only the
      // configured repository, into the platform's namespace, and no cluster-scoped resource.
      const project = new k8s.apiextensions.CustomResource(
        `${name}-project`,
        {
          apiVersion: "argoproj.io/v1alpha1",
          kind: "AppProject",
          metadata: { name: ARGO_CD.project, namespace: ARGO_CD.namespace },
          spec: {
            description: "The platform's environment-specific manifests",
            sourceRepos: [gitops.repoUrl],
            destinations: [
              { server: "https://kubernetes.default.svc", namespace: gitops.targetNamespace },
            ],
            clusterResourceWhitelist: [],
          },
        },
        { parent: this, dependsOn: [argoCd] },
      );
      new k8s.apiextensions.CustomResource(
        `${name}-app`,
        {
          apiVersion: "argoproj.io/v1alpha1",
          kind: "Application",
          metadata: { name: "rag-platform-apps", namespace: ARGO_CD.namespace },
          spec: {
            project: ARGO_CD.project,
            source: {
              repoURL: gitops.repoUrl,
              path: gitops.path,
              targetRevision: gitops.targetRevision,
            },
            destination: {
              server: "https://kubernetes.default.svc",
              namespace: gitops.targetNamespace,
            },
            syncPolicy: {
              automated: { prune: true, selfHeal: true },
              syncOptions: ["ServerSideApply=true"],
            },
          },
        },
        { parent: this, dependsOn: [project] },
      );
    } else {
      this.argoCd = undefined;
    }
    this.registerOutputs({ otlpEndpoint: this.otlpEndpoint });
  }

  /**
   * The telemetry namespace denies every flow but these: the workloads' OTLP into the collector,
   * the collector out to its backend, and (with scraping) the scraper to the Kubernetes API for
   * pod discovery, to the scraped namespace (whose own policies open only the metrics ports to
   * it) and on to the collector.
   */
  private telemetryPolicies(name: string, t: TelemetryArgs, ns: k8s.core.v1.Namespace): void {
    const opts = { parent: this, dependsOn: [ns] };
    const namespace = ns.metadata.name;
    denyByDefault(`${name}-telemetry`, namespace, opts);
    flowPolicy(
      `${name}-collector`,
      {
        namespace,
        podLabels: COLLECTOR.labels,
        ingress: [
          {
            from: [
              podsIn(t.clientsNamespace),
              ...(t.scrapeNamespace
                ? [{ podSelector: { matchLabels: { ...METRICS_SCRAPER.labels } } }]
                : []),
            ],
            ports: [OTLP_HTTP_PORT, OTLP_GRPC_PORT],
          },
        ],
        egressToCidrs: [{ cidr: "0.0.0.0/0", ports: [exporterPort(t)] }],
        ...(t.alsoTo
          ? {
              egressToPeers: [t.alsoTo.traces, t.alsoTo.logs].map((store) => ({
                peer: podsIn(store.namespace),
                ports: [store.port],
              })),
            }
          : {}),
      },
      opts,
    );
    if (!t.scrapeNamespace) return;
    flowPolicy(
      `${name}-scraper`,
      {
        namespace,
        podLabels: METRICS_SCRAPER.labels,
        egressToPods: [{ labels: COLLECTOR.labels, ports: [OTLP_HTTP_PORT] }],
        // The Kubernetes API (kubernetes_sd), wherever the cloud puts its endpoint.
        egressToCidrs: [{ cidr: "0.0.0.0/0", ports: [443] }],
        egressToPeers: [{ peer: podsIn(t.scrapeNamespace), ports: [] }],
      },
      opts,
    );
  }

  private metricsScraper(
    chart: PinnedChart,
    namespace: string,
    otlpEndpoint: string,
    telemetryNamespace: k8s.core.v1.Namespace,
  ): void {
    // `$$` is a literal `$` in collector configuration (a single `$` starts a variable).
    const relabel = [
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
        action: "replace",
        regex: "(.+);(\\d+)",
        replacement: "$$1:$$2",
        target_label: "__address__",
      },
      {
        source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
        action: "replace",
        regex: "(.+)",
        target_label: "__metrics_path__",
      },
      {
        source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
        target_label: "app",
      },
      { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
      { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
    ];
    pinnedRelease(
      METRICS_SCRAPER.release,
      chart,
      {
        resourceName: this.resourceName(METRICS_SCRAPER.release),
        namespace: TELEMETRY_NAMESPACE,
        values: {
          mode: "deployment",
          replicaCount: 1,
          image: { repository: "otel/opentelemetry-collector-contrib" },
          serviceAccount: { create: true, name: METRICS_SCRAPER.serviceAccount },
          ...COLLECTOR_SECURITY,
          resources: resources(ADDON_SIZES.scraper),
          config: {
            receivers: {
              prometheus: {
                config: {
                  scrape_configs: [
                    {
                      job_name: "workloads",
                      scrape_interval: `${METRICS_SCRAPER.intervalSeconds}s`,
                      kubernetes_sd_configs: [{ role: "pod", namespaces: { names: [namespace] } }],
                      relabel_configs: relabel,
                    },
                  ],
                },
              },
            },
            processors: COLLECTOR_PROCESSORS,
            exporters: { otlp_http: { endpoint: otlpEndpoint } },
            service: {
              pipelines: {
                metrics: {
                  receivers: ["prometheus"],
                  processors: ["memory_limiter", "batch"],
                  exporters: ["otlp_http"],
                },
                // The chart's default trace and log pipelines: this collector carries metrics only.
                traces: null,
                logs: null,
              },
            },
          },
        },
      },
      { parent: this, dependsOn: [telemetryNamespace] },
    );
  }
}
