/**
 * Releases that prove themselves before they take the traffic: Argo Rollouts (pinned chart), a
 * canary for the API gated by an analysis on its SLO metrics (aborts and returns to the stable
 * version on a failed measurement), and blue/green for a model server (the new model is loaded
 * and answers a completion on the preview Service before the active Service moves to it).
 *
 * Each Rollout takes over an existing Deployment by `workloadRef` (Argo's migration path): the
 * Deployment stays the template Pulumi and Argo CD write, the Rollout runs its pods and scales
 * it to zero once healthy; the Deployment's replica count is already left to the autoscalers.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { rolloutTrafficRouting, type CanaryRoute } from "./canary-routing";
import type { MeshWorkload } from "./flows";
import { pinnedRelease, type PinnedChart } from "./helm";
import { CONTAINER_SECURITY, podSecurity, resources } from "./pod-security";

export const ROLLOUTS_NAMESPACE = "argo-rollouts";
const ROLLOUTS_API = "argoproj.io/v1alpha1";

/** The controller, as the flow table knows it: it queries Prometheus for the analyses. */
export const ROLLOUTS_CONTROLLER: MeshWorkload = {
  namespace: ROLLOUTS_NAMESPACE,
  serviceAccount: "argo-rollouts",
  labels: { "app.kubernetes.io/name": "argo-rollouts" },
};

/** Where the controller serves its Prometheus metrics (the chart's controller.containerPorts.metrics). */
export const ROLLOUTS_METRICS_PORT = 8090;

/**
 * The Argo Rollouts controller: two replicas (one leads), its CRDs kept on uninstall, its metrics
 * Service on (rolloutsServiceMonitor has Prometheus scrape it).
 */
export function rolloutsController(
  name: string,
  chart: PinnedChart,
  args: { namespaceLabels?: Readonly<Record<string, string>>; resourceName?: string },
  opts: pulumi.CustomResourceOptions,
): k8s.helm.v3.Release {
  const ns = new k8s.core.v1.Namespace(
    `${name}-ns`,
    {
      metadata: {
        name: ROLLOUTS_NAMESPACE,
        labels: { "pod-security.kubernetes.io/enforce": "restricted", ...args.namespaceLabels },
      },
    },
    opts,
  );
  return pinnedRelease(
    "argo-rollouts",
    chart,
    {
      resourceName: args.resourceName ?? name,
      namespace: ROLLOUTS_NAMESPACE,
      values: {
        installCRDs: true,
        keepCRDs: true,
        controller: {
          replicas: 2,
          resources: resources({ cpuMillicores: 100, memoryMiB: 256 }),
          pdb: { enabled: true, maxUnavailable: 1 },
          // The chart's own ServiceMonitor would need Prometheus's CRDs before this release exists.
          metrics: { enabled: true, service: { port: ROLLOUTS_METRICS_PORT } },
        },
        dashboard: { enabled: false },
      },
    },
    { ...opts, dependsOn: [ns] },
  );
}

/**
 * Prometheus scrapes the controller's metrics Service (rollout phases, analysis runs, reconcile
 * errors), in the controller's namespace; made once the Prometheus operator's CRDs exist.
 */
export function rolloutsServiceMonitor(
  name: string,
  opts: pulumi.CustomResourceOptions,
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(
    name,
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "argo-rollouts-controller", namespace: ROLLOUTS_NAMESPACE },
      spec: {
        // The chart's metrics Service: its component label, the controller's name label.
        selector: {
          matchLabels: {
            ...ROLLOUTS_CONTROLLER.labels,
            "app.kubernetes.io/component": "rollouts-controller",
          },
        },
        endpoints: [{ port: "metrics", interval: "30s" }],
      },
    },
    opts,
  );
}

/** A canary step: the share of requests (or, with no router, of pods) on the new version, then how long to watch it. */
export interface CanaryStep {
  readonly weightPercent: number;
  readonly pauseMinutes: number;
}

export interface ApiCanaryArgs {
  readonly namespace: pulumi.Input<string>;
  /** The Deployment the Rollout takes over (its name and pod labels). */
  readonly deploymentName: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Ascending weights; the last is 100. */
  readonly steps: readonly CanaryStep[];
  /** Prometheus, where the analysis reads the canary's metrics. */
  readonly prometheusUrl: string;
  /** The canary fails when more than this share of its requests are 5xx (e.g. 14.4x the budget). */
  readonly maxErrorRatio: number;
  /** The canary fails when its p95 latency is above this. */
  readonly maxP95Seconds: number;
  /** The request histogram. @default "rag_http_request_duration_seconds" */
  readonly histogram?: string;
  /**
   * The traffic router that splits requests by each step's weight (its Services and Ingress made
   * by the workloads). @default - none: the split is by pod count
   */
  readonly route?: CanaryRoute;
}

/** The analysis's Prometheus queries over the canary's pods (by their pod-template hash). */
export function canaryQueries(
  histogram: string,
  namespace: string,
): { errors: string; p95: string } {
  const pods = `namespace="${namespace}",rollouts_pod_template_hash="{{args.canary-hash}}"`;
  return {
    errors: `sum(rate(${histogram}_count{${pods},status=~"5.."}[2m])) / sum(rate(${histogram}_count{${pods}}[2m]))`,
    p95: `histogram_quantile(0.95, sum by (le) (rate(${histogram}_bucket{${pods}}[2m])))`,
  };
}

function checkSteps(name: string, steps: readonly CanaryStep[]): void {
  if (steps.length === 0) throw new Error(`${name}: a canary needs at least one step`);
  steps.forEach((s, i) => {
    if (!Number.isInteger(s.weightPercent) || s.weightPercent < 1 || s.weightPercent > 100)
      throw new Error(
        `${name}: step ${i + 1}'s weightPercent must be 1-100, got ${s.weightPercent}`,
      );
    if (i > 0 && s.weightPercent <= steps[i - 1]!.weightPercent)
      throw new Error(
        `${name}: step weights must rise, got ${steps.map((x) => x.weightPercent).join(", ")}`,
      );
  });
  if (steps.at(-1)!.weightPercent !== 100)
    throw new Error(`${name}: the last step must send 100%, got ${steps.at(-1)!.weightPercent}`);
}

/**
 * The API's canary: each step sends a share of the requests to the new version and waits, while
 * a background analysis measures the canary's error ratio and p95 every minute; one failed
 * measurement aborts the rollout, which sets the canary's weight back to 0 (all requests to the
 * stable version) and scales the canary down. With a route the router splits requests by weight
 * and Rollouts sizes the canary to match; without one the split is by pod count (4 replicas: 5%
 * is one pod).
 */
export class ApiCanary extends pulumi.ComponentResource {
  readonly rolloutName: string;

  constructor(name: string, args: ApiCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:ApiCanary", name, {}, opts);
    checkSteps(name, args.steps);
    if (!(args.maxErrorRatio > 0 && args.maxErrorRatio < 1))
      throw new Error(`${name}: maxErrorRatio must be between 0 and 1, got ${args.maxErrorRatio}`);
    const histogram = args.histogram ?? "rag_http_request_duration_seconds";
    const template = `${args.deploymentName}-slo`;
    const analysis = new k8s.apiextensions.CustomResource(
      `${name}-analysis`,
      {
        apiVersion: ROLLOUTS_API,
        kind: "AnalysisTemplate",
        metadata: { name: template, namespace: args.namespace },
        spec: pulumi.output(args.namespace).apply((ns) => {
          const q = canaryQueries(histogram, ns);
          const metric = (metricName: string, query: string, condition: string) => ({
            name: metricName,
            interval: "1m",
            failureLimit: 0,
            // No traffic yet reads as NaN or no series: not a failure.
            successCondition: `len(result) == 0 || isNaN(result[0]) || result[0] ${condition}`,
            provider: { prometheus: { address: args.prometheusUrl, query } },
          });
          return {
            args: [{ name: "canary-hash" }],
            metrics: [
              metric("error-ratio", q.errors, `<= ${args.maxErrorRatio}`),
              metric("latency-p95", q.p95, `<= ${args.maxP95Seconds}`),
            ],
          };
        }),
      },
      { parent: this },
    );
    this.rolloutName = args.deploymentName;
    new k8s.apiextensions.CustomResource(
      `${name}-rollout`,
      {
        apiVersion: ROLLOUTS_API,
        kind: "Rollout",
        metadata: { name: args.deploymentName, namespace: args.namespace },
        spec: {
          revisionHistoryLimit: 5,
          selector: { matchLabels: { ...args.labels } },
          workloadRef: {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: args.deploymentName,
            scaleDown: "progressively",
          },
          strategy: {
            canary: {
              ...(args.route ? rolloutTrafficRouting(args.route) : {}),
              maxUnavailable: 0,
              abortScaleDownDelaySeconds: 30,
              analysis: {
                templates: [{ templateName: template }],
                startingStep: 1,
                args: [{ name: "canary-hash", valueFrom: { podTemplateHashValue: "Latest" } }],
              },
              steps: args.steps.flatMap((s) => [
                { setWeight: s.weightPercent },
                ...(s.weightPercent < 100 ? [{ pause: { duration: `${s.pauseMinutes}m` } }] : []),
              ]),
            },
          },
        },
      },
      // The HPA owns the replica count.
      { parent: this, dependsOn: [analysis], ignoreChanges: ["spec.replicas"] },
    );
    this.registerOutputs({});
  }
}

export interface ModelBlueGreenArgs {
  readonly namespace: pulumi.Input<string>;
  readonly deploymentName: string;
  /** The active Service (clients' address): the Rollout points it at the promoted version. */
  readonly activeService: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly port: number;
  /** The model server's replicas. */
  readonly replicas: number;
  /** The model the warm-up asks for a token. */
  readonly model: pulumi.Input<string>;
  /** The warm-up Job's pods: their labels and service account (the flow table's source). */
  readonly warmup: MeshWorkload;
  /** The curl image of the warm-up. */
  readonly curlImage: string;
  /** How long the old version stays up after promotion, for a quick abort. @default 600 */
  readonly scaleDownDelaySeconds?: number;
}

/** The warm-up's uid (curl's image runs as 100). */
const CURL_UID = 100;

/**
 * Blue/green for a model server: a new version starts beside the active one behind a preview
 * Service; a Job asks it for one completion (the model loaded and on the GPU) and only then the
 * active Service moves. A failed warm-up leaves the old version active and the new one aborted.
 */
export class ModelBlueGreen extends pulumi.ComponentResource {
  readonly previewService: string;

  constructor(name: string, args: ModelBlueGreenArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:ModelBlueGreen", name, {}, opts);
    const parent = { parent: this };
    this.previewService = `${args.activeService}-preview`;
    new k8s.core.v1.Service(
      `${name}-preview`,
      {
        metadata: {
          name: this.previewService,
          namespace: args.namespace,
          labels: { ...args.labels },
        },
        spec: {
          selector: { ...args.labels },
          ports: [{ name: "http", port: args.port, targetPort: args.port }],
        },
      },
      parent,
    );
    new k8s.core.v1.ServiceAccount(
      `${name}-warmup`,
      {
        metadata: { name: args.warmup.serviceAccount, namespace: args.namespace },
        automountServiceAccountToken: false,
      },
      parent,
    );
    const template = `${args.deploymentName}-warm`;
    const url = pulumi.interpolate`http://${this.previewService}.${args.namespace}.svc.cluster.local:${args.port}/v1/completions`;
    const body = pulumi
      .output(args.model)
      .apply((model) => JSON.stringify({ model, prompt: "ping", max_tokens: 1 }));
    const analysis = new k8s.apiextensions.CustomResource(
      `${name}-warm`,
      {
        apiVersion: ROLLOUTS_API,
        kind: "AnalysisTemplate",
        metadata: { name: template, namespace: args.namespace },
        spec: {
          metrics: [
            {
              name: "first-completion",
              provider: {
                job: {
                  spec: {
                    backoffLimit: 2,
                    activeDeadlineSeconds: 1800,
                    template: {
                      metadata: { labels: { ...args.warmup.labels } },
                      spec: {
                        restartPolicy: "Never",
                        serviceAccountName: args.warmup.serviceAccount,
                        automountServiceAccountToken: false,
                        securityContext: podSecurity(CURL_UID),
                        containers: [
                          {
                            name: "warmup",
                            image: args.curlImage,
                            args: [
                              "-sSf",
                              "--retry",
                              "30",
                              "--retry-all-errors",
                              "--retry-delay",
                              "20",
                              "-m",
                              "120",
                              "-H",
                              "Content-Type: application/json",
                              "-d",
                              body,
                              url,
                            ],
                            securityContext: CONTAINER_SECURITY,
                            resources: resources({ cpuMillicores: 50, memoryMiB: 64 }),
                          },
                        ],
                      },
                    },
                  },
                },
              },
            },
          ],
        },
      },
      parent,
    );
    new k8s.apiextensions.CustomResource(
      `${name}-rollout`,
      {
        apiVersion: ROLLOUTS_API,
        kind: "Rollout",
        metadata: { name: args.deploymentName, namespace: args.namespace },
        spec: {
          replicas: args.replicas,
          revisionHistoryLimit: 3,
          selector: { matchLabels: { ...args.labels } },
          workloadRef: {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: args.deploymentName,
            scaleDown: "onsuccess",
          },
          strategy: {
            blueGreen: {
              activeService: args.activeService,
              previewService: this.previewService,
              autoPromotionEnabled: true,
              prePromotionAnalysis: { templates: [{ templateName: template }] },
              scaleDownDelaySeconds: args.scaleDownDelaySeconds ?? 600,
            },
          },
        },
      },
      { parent: this, dependsOn: [analysis] },
    );
    this.registerOutputs({ previewService: this.previewService });
  }
}
