import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { LlmEndpoint } from "../contracts";
import {
  assertOllamaModels,
  OLLAMA_KEEP_ALIVE,
  ollamaEndpoint,
  ollamaModelsPresent,
  ollamaStartScript,
} from "../shared/ollama";
import { gpuPlacement, MODEL_SERVER_TIMEOUTS } from "./gpu-scheduling";
import { flowPolicy, type CidrEgress } from "./network-policy";
import { resources, restrictedPod, type ComputeSize } from "./pod-security";

export interface OllamaServerArgs {
  readonly namespace: pulumi.Input<string>;
  /** A pinned ollama/ollama image. */
  readonly image: string;
  readonly model: string;
  readonly embeddingModel: string;
  readonly gpuCount: number;
  readonly size: ComputeSize;
  readonly storageClassName: pulumi.Input<string>;
  /** @default 50 */
  readonly modelCacheGiB?: number;
  readonly clientLabels: ReadonlyArray<Record<string, string>>;
  readonly downloadEgress: CidrEgress;
  /** The PriorityClass of its pods. @default - none: the cluster's default */
  readonly priorityClassName?: pulumi.Input<string>;
}

export const OLLAMA_LABELS = {
  "app.kubernetes.io/name": "ollama",
  "app.kubernetes.io/part-of": "rag-platform",
};
const PORT = 11434;

/** Ollama on the GPU pool, serving generation and embeddings; ready once both models are pulled. */
export class OllamaServer extends pulumi.ComponentResource {
  readonly endpoint: LlmEndpoint;

  constructor(name: string, args: OllamaServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:Ollama", name, {}, opts);
    const models = [args.model, args.embeddingModel];
    assertOllamaModels(`OllamaServer ${name}`, models);
    const parent = { parent: this };
    const gpu = gpuPlacement(args.gpuCount);
    const cache = new k8s.core.v1.PersistentVolumeClaim(
      `${name}-models`,
      {
        metadata: { name: "ollama-models", namespace: args.namespace },
        spec: {
          accessModes: ["ReadWriteOnce"],
          storageClassName: args.storageClassName,
          resources: { requests: { storage: `${args.modelCacheGiB ?? 50}Gi` } },
        },
      },
      parent,
    );
    const sa = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: { name: "ollama", namespace: args.namespace },
        automountServiceAccountToken: false,
      },
      parent,
    );
    new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { name: "ollama", namespace: args.namespace, labels: OLLAMA_LABELS },
        spec: {
          replicas: 1,
          strategy: { type: "Recreate" },
          selector: { matchLabels: OLLAMA_LABELS },
          template: {
            metadata: { labels: OLLAMA_LABELS },
            spec: restrictedPod({
              uid: 1000,
              labels: OLLAMA_LABELS,
              serviceAccountName: "ollama",
              volumes: [
                { name: "models", persistentVolumeClaim: { claimName: cache.metadata.name } },
              ],
              extra: {
                tolerations: gpu.tolerations,
                nodeSelector: gpu.nodeSelector,
                ...(args.priorityClassName ? { priorityClassName: args.priorityClassName } : {}),
              },
              containers: [
                {
                  name: "ollama",
                  image: args.image,
                  command: ["/bin/sh", "-c", ollamaStartScript(models)],
                  env: [
                    { name: "OLLAMA_HOST", value: `0.0.0.0:${PORT}` },
                    { name: "OLLAMA_MODELS", value: "/models" },
                    { name: "OLLAMA_KEEP_ALIVE", value: OLLAMA_KEEP_ALIVE },
                    { name: "HOME", value: "/tmp" },
                  ],
                  ports: [{ name: "http", containerPort: PORT }],
                  resources: resources(args.size, gpu.limits),
                  volumeMounts: [
                    { name: "tmp", mountPath: "/tmp" },
                    { name: "models", mountPath: "/models" },
                  ],
                  readinessProbe: {
                    exec: { command: ["/bin/sh", "-c", ollamaModelsPresent(models)] },
                    periodSeconds: 15,
                    timeoutSeconds: 10,
                  },
                  livenessProbe: {
                    httpGet: { path: "/api/version", port: PORT },
                    periodSeconds: 30,
                  },
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
        metadata: { name: "ollama", namespace: args.namespace, labels: OLLAMA_LABELS },
        spec: { selector: OLLAMA_LABELS, ports: [{ name: "http", port: PORT, targetPort: PORT }] },
      },
      parent,
    );
    flowPolicy(
      name,
      {
        namespace: args.namespace,
        podLabels: OLLAMA_LABELS,
        ingress: [
          {
            from: args.clientLabels.map((labels) => ({ podSelector: { matchLabels: labels } })),
            ports: [PORT],
          },
        ],
        egressToCidrs: [args.downloadEgress],
      },
      parent,
    );
    const baseUrl = pulumi.interpolate`http://${svc.metadata.name}.${args.namespace}.svc.cluster.local:${PORT}`;
    this.endpoint = ollamaEndpoint(baseUrl, args.model, args.embeddingModel);
    this.registerOutputs({ baseUrl });
  }
}
