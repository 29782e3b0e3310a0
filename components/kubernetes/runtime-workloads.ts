import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ENV, FILE_SUFFIX } from "../../runtime/src/config";
import { type RuntimeEnvironment, secretEntries } from "../contracts";
import {
  API_DRAIN_LIMIT_SECONDS,
  API_READINESS_PATH,
  REEMBED_COMMAND,
  RUNTIME_PROCESSES,
  RUNTIME_UID,
  SECRETS_DIR,
  processEnv,
} from "../shared/runtime-image";
import { canaryRoute, routedBackend, type CanaryRoute, type CanaryRouter } from "./canary-routing";
import { disruptionBudget, flowPolicy, type CidrEgress } from "./network-policy";
import { scrapeAnnotations } from "./telemetry";
import {
  resources,
  restrictedPod,
  type ComputeSize,
  type RestrictedContainer,
} from "./pod-security";

export interface ScaledSize extends ComputeSize {
  readonly replicas: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
}

export interface RuntimeWorkloadsArgs {
  readonly namespace: pulumi.Input<string>;
  readonly image: pulumi.Input<string>;
  /** Plain values become env values; secrets are `secretName`'s keys (by variable name), mounted as files. */
  readonly env: RuntimeEnvironment;
  /** The Kubernetes Secret holding every variable in `env.secrets`. */
  readonly secretName: pulumi.Input<string>;
  readonly api: ScaledSize;
  /**
   * The BullMQ ingest worker, scaled on `queue`. @default - none: ingest runs elsewhere (the
   * Kafka roles)
   */
  readonly worker?: ScaledSize;
  /**
   * An Ingress for the API: the ingress class and the cloud's annotations. @default - none (the
   * cloud routes to the Service itself: a Gateway's route)
   */
  readonly ingress?: {
    readonly className: string;
    readonly annotations: Record<string, pulumi.Input<string>>;
    readonly host?: string;
  };
  /**
   * How long the API keeps an idle client connection: longer than the load balancer keeps one to
   * it. @default - API_IDLE_TIMEOUT_SECONDS + 5 (processEnv)
   */
  readonly apiKeepAliveSeconds?: number;
  /** Who may reach the API pods (the load balancer's source ranges). */
  readonly apiIngressFrom: k8s.types.input.networking.v1.NetworkPolicyPeer[];
  /** In-cluster services the runtime calls, by pod labels and port (vector DB, LLM, embeddings). */
  readonly callsPods: ReadonlyArray<{
    readonly labels: Record<string, string>;
    readonly ports: readonly number[];
  }>;
  /** Managed services outside the cluster (Postgres, Redis, AWS APIs, hosted models). */
  readonly callsCidrs: readonly CidrEgress[];
  /** Services in other namespaces (the telemetry collector). @default - none */
  readonly callsPeers?: ReadonlyArray<{
    readonly peer: k8s.types.input.networking.v1.NetworkPolicyPeer;
    readonly ports: readonly number[];
  }>;
  /** Worker autoscaling on the ingest queue (KEDA). Redis connection for the scaler. @default - none: no worker */
  readonly queue?: {
    readonly redisAddress: pulumi.Input<string>;
    readonly tls: boolean;
    readonly listName: string;
    readonly targetDepthPerReplica: number;
    /**
     * A Secret with the CA Redis's certificate chains to (`caKey`) and "enable" (`tlsKey`): KEDA
     * then checks the certificate against it. @default - the system's roots
     */
    readonly tlsAuth?: {
      readonly secretName: pulumi.Input<string>;
      readonly tlsKey: string;
      readonly caKey: string;
    };
  };
  /** Annotations for the pods' service account (e.g. a cloud identity). @default - none */
  readonly serviceAccountAnnotations?: Record<string, pulumi.Input<string>>;
  /** Labels of the pods beyond their selector's (a workload identity's opt-in). @default - none */
  readonly podLabels?: Record<string, string>;
  /**
   * The collector that scrapes the API's and the worker's /metrics: it may list the namespace's
   * pods (a Role), and reach their metrics ports (NetworkPolicy); the pods carry its annotations.
   * @default - not scraped
   */
  readonly metricsScrapedBy?: {
    readonly peer: k8s.types.input.networking.v1.NetworkPolicyPeer;
    readonly serviceAccount: { readonly name: string; readonly namespace: string };
  };
  /** More scrapers of the metrics ports with their own discovery (an in-cluster Prometheus). @default - none */
  readonly metricsAlsoScrapedBy?: readonly k8s.types.input.networking.v1.NetworkPolicyPeer[];
  /**
   * What runs the API's pods, which its autoscaler scales: its Deployment, or an Argo Rollout
   * that took the Deployment over (workloadRef). @default "deployment"
   */
  readonly apiReleasedBy?: "deployment" | "rollout";
  /**
   * The Rollout's traffic router on the API's Ingress (needs both): the stable and canary Services
   * beside the API's, and the Ingress's rule sent through the router's action.
   * @default - none: a canary splits by pod count
   */
  readonly apiCanaryRouter?: CanaryRouter;
  /** The PriorityClass of the API's and the worker's pods. @default - none: the cluster's default */
  readonly priorityClassName?: pulumi.Input<string>;
}

/** The service account the API and the worker run as (the cloud gives it the runtime's identity: EKS Pod Identity). */
export const RUNTIME_SERVICE_ACCOUNT = "rag-runtime";

export const API_LABELS = {
  "app.kubernetes.io/name": "rag-api",
  "app.kubernetes.io/part-of": "rag-platform",
};
export const WORKER_LABELS = {
  "app.kubernetes.io/name": "rag-worker",
  "app.kubernetes.io/part-of": "rag-platform",
};

/**
 * The one-off re-embedding Job after a change of embedding model: the worker's pod template (its
 * environment, secrets, security context and network policy) running dist/reembed.js once. On
 * the Kafka bus, the index role's (`deployment`).
 */
export function reembedJobCommand(
  namespace: string,
  deployment: string = WORKER_LABELS["app.kubernetes.io/name"],
): string {
  const job =
    '{apiVersion: "batch/v1", kind: "Job", metadata: {name: "rag-reembed", namespace: .metadata.namespace}, ' +
    `spec: {backoffLimit: 0, template: (.spec.template | .spec.restartPolicy = "Never" | .spec.containers[0].command = ${JSON.stringify(REEMBED_COMMAND)} ` +
    "| del(.spec.containers[0].livenessProbe, .spec.containers[0].readinessProbe, .spec.containers[0].startupProbe))}}";
  return `kubectl -n ${namespace} get deployment ${deployment} -o json | jq '${job}' | kubectl apply -f -`;
}

const API_PORT = RUNTIME_PROCESSES.api.port;
/** The port of the API's Service (what an Ingress or a route sends to). */
export const API_SERVICE_PORT = 80;
const API_METRICS_PORT = RUNTIME_PROCESSES.api.metricsPort;
/**
 * A stopping API pod keeps serving this long before it is sent SIGTERM: load balancers and
 * kube-proxy learn of its removal a few seconds late, and requests they still send must not
 * meet a closed port.
 */
export const API_DRAIN_SECONDS = 15;
/**
 * After SIGTERM, an API pod finishes the requests it holds (its balancer does not hold it back,
 * as ECS's does): as long as one can last (API_DRAIN_LIMIT_SECONDS), with 10 s to close. A pod
 * with nothing in flight exits at once (it closes its idle connections).
 */
export const API_STOP_GRACE_SECONDS = API_DRAIN_LIMIT_SECONDS + 10;
const WORKER_HEALTH_PORT = RUNTIME_PROCESSES.worker.port;

/** The runtime Secret is mounted at SECRETS_DIR; the files follow the Secret (External Secrets refreshes it, the kubelet the volume). */

/** The container's env: plain values, then each secret as `<NAME>_FILE`, its path under SECRETS_DIR. */
export function runtimeEnvVars(
  env: RuntimeEnvironment,
  extra: Record<string, string>,
): k8s.types.input.core.v1.EnvVar[] {
  const plain = Object.entries({ ...env.plain, ...extra } as Record<string, pulumi.Input<string>>)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => ({ name, value }));
  const secret = secretEntries(env).map(([name]) => ({
    name: `${name}${FILE_SUFFIX}`,
    value: `${SECRETS_DIR}/${name}`,
  }));
  return [...plain, ...secret];
}

/**
 * The runtime on Kubernetes: the API (Deployment, Service, Ingress, HPA on CPU) and the ingest
 * worker (Deployment, KEDA ScaledObject on the queue's length), each with a PDB when it has
 * more than one replica and a NetworkPolicy opening only its flows.
 */
export class RuntimeWorkloads extends pulumi.ComponentResource {
  readonly serviceName: string;
  /** The API's Ingress, when one was asked for. */
  readonly ingress: k8s.networking.v1.Ingress | undefined;
  /** What the API's canary router splits between, when one was asked for. */
  readonly apiCanaryRoute: CanaryRoute | undefined;

  constructor(name: string, args: RuntimeWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:Runtime", name, {}, opts);
    if (args.apiCanaryRouter && !(args.ingress && args.apiReleasedBy === "rollout"))
      throw new Error(
        `${name}: apiCanaryRouter ${args.apiCanaryRouter} splits a Rollout's canary on the API's Ingress: needs ingress and apiReleasedBy "rollout"`,
      );
    const parent = { parent: this };
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: {
          name: RUNTIME_SERVICE_ACCOUNT,
          namespace: args.namespace,
          annotations: args.serviceAccountAnnotations,
        },
        automountServiceAccountToken: false,
      },
      parent,
    );
    // The API's /metrics on a port of its own, which the Service and the Ingress do not expose.
    const apiEnv = runtimeEnvVars(args.env, {
      [ENV.host]: "0.0.0.0",
      [ENV.port]: String(API_PORT),
      [ENV.metricsPort]: String(API_METRICS_PORT),
      ...processEnv("api", API_STOP_GRACE_SECONDS),
      ...(args.apiKeepAliveSeconds
        ? { [ENV.httpKeepAliveSeconds]: String(args.apiKeepAliveSeconds) }
        : {}),
    });
    const probe = (port: number, path: string) => ({
      httpGet: { path, port },
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    });

    const scraped = args.metricsScrapedBy;
    const scrapers = [...(scraped ? [scraped.peer] : []), ...(args.metricsAlsoScrapedBy ?? [])];
    const api = this.deployment(
      `${name}-api`,
      args,
      API_LABELS,
      args.api,
      sa.metadata.name,
      API_DRAIN_SECONDS + API_STOP_GRACE_SECONDS,
      scrapers.length ? scrapeAnnotations(API_METRICS_PORT) : undefined,
      {
        name: "api",
        lifecycle: { preStop: { sleep: { seconds: API_DRAIN_SECONDS } } },
        image: args.image,
        command: [...RUNTIME_PROCESSES.api.command],
        ports: [
          { name: "http", containerPort: API_PORT },
          { name: "metrics", containerPort: API_METRICS_PORT },
        ],
        env: apiEnv,
        readinessProbe: probe(API_PORT, API_READINESS_PATH),
        livenessProbe: probe(API_PORT, "/healthz"),
      },
    );
    if (args.worker) this.worker(name, args, args.worker, sa.metadata.name, probe, scrapers);

    // The API's Service, and with a canary router its stable and canary halves (Rollouts adds the
    // pod-template hash to theirs).
    const apiService = (serviceName: string) =>
      new k8s.core.v1.Service(
        `${name}-${serviceName.replace(/^rag-/, "")}`,
        {
          metadata: { name: serviceName, namespace: args.namespace, labels: API_LABELS },
          spec: {
            selector: API_LABELS,
            ports: [{ name: "http", port: API_SERVICE_PORT, targetPort: API_PORT }],
          },
        },
        parent,
      );
    const service = apiService("rag-api");
    this.serviceName = "rag-api";
    this.apiCanaryRoute =
      args.apiCanaryRouter &&
      canaryRoute(args.apiCanaryRouter, "rag-api", this.serviceName, API_SERVICE_PORT);
    const halves = this.apiCanaryRoute
      ? [
          apiService(this.apiCanaryRoute.stableService),
          apiService(this.apiCanaryRoute.canaryService),
        ]
      : [];
    const routed = this.apiCanaryRoute && routedBackend(this.apiCanaryRoute);
    const ingress = args.ingress;
    this.ingress =
      ingress &&
      new k8s.networking.v1.Ingress(
        `${name}-api`,
        {
          metadata: {
            name: "rag-api",
            namespace: args.namespace,
            annotations: { ...ingress.annotations, ...routed?.annotations },
          },
          spec: {
            ingressClassName: ingress.className,
            rules: [
              {
                host: ingress.host,
                http: {
                  paths: [
                    {
                      path: "/",
                      pathType: "Prefix",
                      backend: {
                        service: {
                          name: service.metadata.name,
                          port: routed
                            ? { name: routed.backendPortName }
                            : { number: API_SERVICE_PORT },
                        },
                      },
                    },
                  ],
                },
              },
            ],
          },
        },
        // The router's action names both halves: they exist before the load balancer reads it.
        { parent: this, dependsOn: halves },
      );
    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      `${name}-api`,
      {
        metadata: { name: "rag-api", namespace: args.namespace },
        spec: {
          scaleTargetRef:
            args.apiReleasedBy === "rollout"
              ? { apiVersion: "argoproj.io/v1alpha1", kind: "Rollout", name: api.metadata.name }
              : { apiVersion: "apps/v1", kind: "Deployment", name: api.metadata.name },
          minReplicas: args.api.minReplicas,
          maxReplicas: args.api.maxReplicas,
          metrics: [
            {
              type: "Resource",
              resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
            },
          ],
        },
      },
      parent,
    );

    const egress = {
      egressToPods: args.callsPods,
      egressToCidrs: args.callsCidrs,
      egressToPeers: args.callsPeers,
    };
    const scrapeFrom = (port: number) =>
      scrapers.length ? [{ from: scrapers, ports: [port] }] : [];
    flowPolicy(
      `${name}-api`,
      {
        namespace: args.namespace,
        podLabels: API_LABELS,
        ingress: [
          { from: args.apiIngressFrom, ports: [API_PORT] },
          ...scrapeFrom(API_METRICS_PORT),
        ],
        ...egress,
      },
      parent,
    );
    if (scraped) {
      // Service discovery for the scraper: the pods of this namespace, read-only.
      const role = new k8s.rbac.v1.Role(
        `${name}-scrape`,
        {
          metadata: { name: "metrics-scraper", namespace: args.namespace },
          rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }],
        },
        parent,
      );
      new k8s.rbac.v1.RoleBinding(
        `${name}-scrape`,
        {
          metadata: { name: "metrics-scraper", namespace: args.namespace },
          roleRef: {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "Role",
            name: role.metadata.name,
          },
          subjects: [
            {
              kind: "ServiceAccount",
              name: scraped.serviceAccount.name,
              namespace: scraped.serviceAccount.namespace,
            },
          ],
        },
        parent,
      );
    }
    this.registerOutputs({ serviceName: this.serviceName, apiCanaryRoute: this.apiCanaryRoute });
  }

  private deployment(
    name: string,
    args: RuntimeWorkloadsArgs,
    labels: Record<string, string>,
    size: ScaledSize,
    serviceAccountName: pulumi.Input<string>,
    stopGraceSeconds: number,
    annotations: Record<string, string> | undefined,
    container: RestrictedContainer,
  ): k8s.apps.v1.Deployment {
    const deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { name: labels["app.kubernetes.io/name"], namespace: args.namespace, labels },
        spec: {
          replicas: size.replicas,
          selector: { matchLabels: labels },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: { labels: { ...labels, ...args.podLabels }, annotations },
            spec: restrictedPod({
              uid: RUNTIME_UID,
              labels,
              serviceAccountName: serviceAccountName as string,
              containers: [
                {
                  ...container,
                  resources: resources(size),
                  volumeMounts: [
                    { name: "tmp", mountPath: "/tmp" },
                    { name: "secrets", mountPath: SECRETS_DIR, readOnly: true },
                  ],
                },
              ],
              // Group-readable for the pod's fsGroup (the runtime's uid), no one else.
              volumes: [
                { name: "secrets", secret: { secretName: args.secretName, defaultMode: 0o440 } },
              ],
              extra: {
                terminationGracePeriodSeconds: stopGraceSeconds,
                ...(args.priorityClassName ? { priorityClassName: args.priorityClassName } : {}),
              },
            }),
          },
        },
      },
      // The autoscalers own the replica count after creation.
      { parent: this, ignoreChanges: ["spec.replicas"] },
    );
    if (size.replicas > 1 || size.minReplicas > 1)
      disruptionBudget(name, { namespace: args.namespace, podLabels: labels }, { parent: this });
    return deployment;
  }

  /** The BullMQ worker: its Deployment, KEDA's scaler on the queue and its NetworkPolicy. */
  private worker(
    name: string,
    args: RuntimeWorkloadsArgs,
    size: ScaledSize,
    serviceAccountName: pulumi.Input<string>,
    probe: (port: number, path: string) => k8s.types.input.core.v1.Probe,
    scrapers: k8s.types.input.networking.v1.NetworkPolicyPeer[],
  ): void {
    const queue = args.queue;
    if (!queue) throw new Error(`RuntimeWorkloads ${name}: a worker needs its queue (queue)`);
    const workerEnv = runtimeEnvVars(args.env, {
      [ENV.host]: "0.0.0.0",
      [ENV.workerHealthPort]: String(WORKER_HEALTH_PORT),
      ...processEnv("worker"),
    });
    this.deployment(
      `${name}-worker`,
      args,
      WORKER_LABELS,
      size,
      serviceAccountName,
      RUNTIME_PROCESSES.worker.stopGraceSeconds,
      scrapers.length ? scrapeAnnotations(WORKER_HEALTH_PORT) : undefined,
      {
        name: "worker",
        image: args.image,
        command: [...RUNTIME_PROCESSES.worker.command],
        ports: [{ name: "health", containerPort: WORKER_HEALTH_PORT }],
        env: workerEnv,
        livenessProbe: probe(WORKER_HEALTH_PORT, "/healthz"),
      },
    );
    this.queueScaler(name, args, size, queue);
    flowPolicy(
      `${name}-worker`,
      {
        namespace: args.namespace,
        podLabels: WORKER_LABELS,
        ingress: scrapers.length ? [{ from: scrapers, ports: [WORKER_HEALTH_PORT] }] : [],
        egressToPods: args.callsPods,
        egressToCidrs: args.callsCidrs,
        egressToPeers: args.callsPeers,
      },
      { parent: this },
    );
  }

  /** KEDA scales the worker on the BullMQ wait list's length; the Redis password comes from the runtime Secret. */
  private queueScaler(
    name: string,
    args: RuntimeWorkloadsArgs,
    size: ScaledSize,
    queue: NonNullable<RuntimeWorkloadsArgs["queue"]>,
  ): void {
    const tlsAuth = queue.tlsAuth;
    const auth = new k8s.apiextensions.CustomResource(
      `${name}-queue-auth`,
      {
        apiVersion: "keda.sh/v1alpha1",
        kind: "TriggerAuthentication",
        metadata: { name: "rag-queue", namespace: args.namespace },
        spec: {
          secretTargetRef: [
            { parameter: "password", name: args.secretName, key: ENV.redisPassword },
            ...(tlsAuth
              ? [
                  { parameter: "tls", name: tlsAuth.secretName, key: tlsAuth.tlsKey },
                  { parameter: "ca", name: tlsAuth.secretName, key: tlsAuth.caKey },
                ]
              : []),
          ],
        },
      },
      { parent: this },
    );
    new k8s.apiextensions.CustomResource(
      `${name}-worker-scaler`,
      {
        apiVersion: "keda.sh/v1alpha1",
        kind: "ScaledObject",
        metadata: { name: "rag-worker", namespace: args.namespace },
        spec: {
          scaleTargetRef: { name: WORKER_LABELS["app.kubernetes.io/name"] },
          minReplicaCount: size.minReplicas,
          maxReplicaCount: size.maxReplicas,
          cooldownPeriod: 300,
          triggers: [
            {
              type: "redis",
              metadata: {
                address: queue.redisAddress,
                listName: queue.listName,
                listLength: String(queue.targetDepthPerReplica),
                // TLS with a CA of its own comes with the authentication (KEDA refuses both).
                ...(tlsAuth ? {} : { enableTLS: String(queue.tls) }),
              },
              authenticationRef: { name: auth.metadata.name },
            },
          ],
        },
      },
      { parent: this },
    );
  }
}
