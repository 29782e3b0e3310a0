import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { scrapeAnnotations } from "./telemetry";
import { MODEL_SERVER_TIMEOUTS } from "./gpu-scheduling";
import { fetchContainer, HF_TOKEN_DIR, modelArgs, type ModelWeights } from "./model-weights";
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
  /** What the pod reaches outside the cluster for its weights (the hub, or the store and its identity). */
  readonly downloadEgress: readonly CidrEgress[];
  /**
   * Where the weights come from. @default - the public hub under the model's id, no token
   */
  readonly weights?: ModelWeights;
  /** Annotations of the server's service account (a cloud identity reading the store). @default - none */
  readonly serviceAccountAnnotations?: Record<string, pulumi.Input<string>>;
  /** The metrics scraper, when one reads TEI's Prometheus metrics (request and batch timings, queue). @default - not scraped */
  readonly metricsScrapedBy?: k8s.types.input.networking.v1.NetworkPolicyPeer;
  /** The PriorityClass of its pods. @default - none: the cluster's default */
  readonly priorityClassName?: pulumi.Input<string>;
}

export const EMBEDDINGS_LABELS = {
  "app.kubernetes.io/name": "embeddings",
  "app.kubernetes.io/part-of": "rag-platform",
};
/** The server's service account (a cloud identity reading the model store is bound to it). */
export const EMBEDDINGS_SERVICE_ACCOUNT = "embeddings";
/** TEI's binary, which the image's entrypoint runs. */
const ROUTER = "text-embeddings-router";
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
    const weights = args.weights;
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: {
          name: EMBEDDINGS_SERVICE_ACCOUNT,
          namespace: args.namespace,
          annotations: args.serviceAccountAnnotations,
        },
        automountServiceAccountToken: false,
      },
      parent,
    );
    const routerArgs = [
      "--model-id",
      ...modelArgs(args.model, weights),
      "--port",
      String(PORT),
      "--huggingface-hub-cache",
      "/models",
    ];
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
              annotations: {
                ...(args.metricsScrapedBy ? scrapeAnnotations(METRICS_PORT) : {}),
                ...(weights?.kind === "fetched"
                  ? { "rag-platform/weights-from": weights.from }
                  : {}),
              },
            },
            spec: restrictedPod({
              uid: 1000,
              labels: EMBEDDINGS_LABELS,
              serviceAccountName: EMBEDDINGS_SERVICE_ACCOUNT,
              volumes: [
                { name: "model-cache", emptyDir: { sizeLimit: "5Gi" } },
                ...(weights?.kind === "hub"
                  ? [{ name: "hf-token", secret: { secretName: weights.token.secretName } }]
                  : []),
              ],
              extra: {
                ...(weights?.kind === "fetched"
                  ? { initContainers: [fetchContainer(weights)] }
                  : {}),
                ...(args.priorityClassName ? { priorityClassName: args.priorityClassName } : {}),
              },
              containers: [
                {
                  name: "tei",
                  image: args.image,
                  // TEI takes its token from --hf-token or HF_TOKEN only (hf-hub 0.4's builder
                  // drops the token file): a shell reads the mounted file into the router's
                  // environment, so the token is never in the pod's spec.
                  ...(weights?.kind === "hub"
                    ? {
                        command: [
                          "/bin/sh",
                          "-c",
                          `HF_TOKEN="$(cat "$0")" exec ${ROUTER} "$@"`,
                          `${HF_TOKEN_DIR}/${weights.token.key}`,
                        ],
                      }
                    : {}),
                  args: routerArgs,
                  env: [
                    { name: "HOME", value: "/tmp" },
                    // A fetched copy is all there is: never reach for the hub.
                    ...(weights?.kind === "fetched"
                      ? [{ name: "HF_HUB_OFFLINE", value: "1" }]
                      : []),
                  ],
                  ports: [
                    { name: "http", containerPort: PORT },
                    { name: "metrics", containerPort: METRICS_PORT },
                  ],
                  resources: resources(args.size),
                  volumeMounts: [
                    { name: "tmp", mountPath: "/tmp" },
                    { name: "model-cache", mountPath: "/models" },
                    ...(weights?.kind === "hub"
                      ? [{ name: "hf-token", mountPath: HF_TOKEN_DIR, readOnly: true }]
                      : []),
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
        egressToCidrs: [...args.downloadEgress],
      },
      parent,
    );
    this.model = args.model;
    this.baseUrl = pulumi.interpolate`http://${svc.metadata.name}.${args.namespace}.svc.cluster.local:${PORT}/v1`;
    this.registerOutputs({ baseUrl: this.baseUrl });
  }
}
