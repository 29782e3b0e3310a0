import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { scrapeAnnotations } from "./telemetry";
import { MODEL_SERVER_TIMEOUTS } from "./gpu-scheduling";
import { disruptionBudget, flowPolicy, type CidrEgress } from "./network-policy";
import { resources, restrictedPod, type ComputeSize } from "./pod-security";

export interface EmbeddingServerArgs {
  readonly namespace: pulumi.Input<string>;
  /** A pinned Text Embeddings Inference (CPU) image. */
  readonly image: string;
  /** A Hugging Face embedding model id, e.g. "nomic-ai/nomic-embed-text-v1.5". */
  readonly model: string;
  readonly replicas: number;
  readonly size: ComputeSize;
  readonly clientLabels: ReadonlyArray<Record<string, string>>;
  readonly downloadEgress: CidrEgress;
  /** The metrics scraper, when one reads TEI's Prometheus metrics (request and batch timings, queue). @default - not scraped */
  readonly metricsScrapedBy?: k8s.types.input.networking.v1.NetworkPolicyPeer;
  /** The PriorityClass of its pods. @default - none: the cluster's default */
  readonly priorityClassName?: pulumi.Input<string>;
}

export const EMBEDDINGS_LABELS = {
  "app.kubernetes.io/name": "embeddings",
  "app.kubernetes.io/part-of": "rag-platform",
};
const PORT = 8080;
/** TEI serves its Prometheus metrics on their own port (`--prometheus-port`, 9000 by default). */
const METRICS_PORT = 9000;

/**
 * Hugging Face Text Embeddings Inference on CPU nodes: an OpenAI-compatible /v1/embeddings
 * endpoint, so embeddings do not compete with generation for the GPU.
 */
export class EmbeddingServer extends pulumi.ComponentResource {
  readonly baseUrl: pulumi.Output<string>;
  readonly model: string;

  constructor(name: string, args: EmbeddingServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:EmbeddingServer", name, {}, opts);
    const parent = { parent: this };
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: { name: "embeddings", namespace: args.namespace },
        automountServiceAccountToken: false,
      },
      parent,
    );
    new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { name: "embeddings", namespace: args.namespace, labels: EMBEDDINGS_LABELS },
        spec: {
          replicas: args.replicas,
          selector: { matchLabels: EMBEDDINGS_LABELS },
          template: {
            metadata: {
              labels: EMBEDDINGS_LABELS,
              annotations: args.metricsScrapedBy ? scrapeAnnotations(METRICS_PORT) : undefined,
            },
            spec: restrictedPod({
              uid: 1000,
              labels: EMBEDDINGS_LABELS,
              serviceAccountName: "embeddings",
              volumes: [{ name: "model-cache", emptyDir: { sizeLimit: "5Gi" } }],
              ...(args.priorityClassName
                ? { extra: { priorityClassName: args.priorityClassName } }
                : {}),
              containers: [
                {
                  name: "tei",
                  image: args.image,
                  args: [
                    "--model-id",
                    args.model,
                    "--port",
                    String(PORT),
                    "--huggingface-hub-cache",
                    "/data",
                  ],
                  env: [{ name: "HOME", value: "/tmp" }],
                  ports: [
                    { name: "http", containerPort: PORT },
                    { name: "metrics", containerPort: METRICS_PORT },
                  ],
                  resources: resources(args.size),
                  volumeMounts: [
                    { name: "tmp", mountPath: "/tmp" },
                    { name: "model-cache", mountPath: "/data" },
                  ],
                  startupProbe: {
                    httpGet: { path: "/health", port: PORT },
                    periodSeconds: 10,
                    failureThreshold: 60,
                  },
                  readinessProbe: { httpGet: { path: "/health", port: PORT }, periodSeconds: 10 },
                  livenessProbe: { httpGet: { path: "/health", port: PORT }, periodSeconds: 30 },
                },
              ],
            }),
          },
        },
      },
      { parent: this, dependsOn: [sa], customTimeouts: MODEL_SERVER_TIMEOUTS },
    );
    const svc = new k8s.core.v1.Service(
      name,
      {
        metadata: { name: "embeddings", namespace: args.namespace, labels: EMBEDDINGS_LABELS },
        spec: {
          selector: EMBEDDINGS_LABELS,
          ports: [{ name: "http", port: PORT, targetPort: PORT }],
        },
      },
      parent,
    );
    if (args.replicas > 1)
      disruptionBudget(name, { namespace: args.namespace, podLabels: EMBEDDINGS_LABELS }, parent);
    flowPolicy(
      name,
      {
        namespace: args.namespace,
        podLabels: EMBEDDINGS_LABELS,
        ingress: [
          {
            from: args.clientLabels.map((labels) => ({ podSelector: { matchLabels: labels } })),
            ports: [PORT],
          },
          ...(args.metricsScrapedBy
            ? [{ from: [args.metricsScrapedBy], ports: [METRICS_PORT] }]
            : []),
        ],
        egressToCidrs: [args.downloadEgress],
      },
      parent,
    );
    this.model = args.model;
    this.baseUrl = pulumi.interpolate`http://${svc.metadata.name}.${args.namespace}.svc.cluster.local:${PORT}/v1`;
    this.registerOutputs({ baseUrl: this.baseUrl });
  }
}
