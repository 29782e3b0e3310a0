import * as pulumi from "@pulumi/pulumi";
import type { SecretRef, VectorDbEndpoint } from "../contracts";
import { pinnedRelease, type PinnedChart } from "./helm";
import { flowPolicy } from "./network-policy";
import { CONTAINER_SECURITY, NO_TOKEN, ZONE_KEY } from "./pod-security";

export interface QdrantClusterArgs {
  readonly namespace: pulumi.Input<string>;
  readonly chart: PinnedChart;
  readonly replicas: number;
  readonly storageGiB: number;
  /** Encrypted storage class for the data volumes. */
  readonly storageClassName: pulumi.Input<string>;
  /** The Secret and key holding the API key (for the Qdrant pods). */
  readonly apiKey: { readonly secretName: pulumi.Input<string>; readonly key: string };
  /** Where the same API key lives for the runtime (its secret manager entry). */
  readonly apiKeyRef: SecretRef;
  readonly collection: string;
  readonly clientLabels: ReadonlyArray<Record<string, string>>;
  /** @default { cpuMillicores: 1000, memoryMiB: 4096 } */
  readonly size?: { readonly cpuMillicores: number; readonly memoryMiB: number };
  /**
   * Prefix of the Helm release's Pulumi name, so several clusters fit in one stack (the release
   * keeps its name in the cluster). @default - none: the release's name
   */
  readonly resourceNamePrefix?: string;
  /** The PriorityClass of its pods. @default - none: the cluster's default */
  readonly priorityClassName?: pulumi.Input<string>;
}

export const QDRANT_LABELS = {
  "app.kubernetes.io/name": "qdrant",
  "app.kubernetes.io/instance": "qdrant",
};
const HTTP = 6333;
const GRPC = 6334;
const P2P = 6335;

/**
 * Qdrant from its official chart: replicated (distributed mode when replicas > 1), persistent
 * volumes on the encrypted class, API key from a Secret, one replica per node and zone, a PDB,
 * and a NetworkPolicy admitting the runtime and the peers only.
 */
export class QdrantCluster extends pulumi.ComponentResource {
  readonly endpoint: Extract<VectorDbEndpoint, { kind: "qdrant" }>;

  constructor(name: string, args: QdrantClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:Qdrant", name, {}, opts);
    const size = args.size ?? { cpuMillicores: 1000, memoryMiB: 4096 };
    const release = pinnedRelease(
      "qdrant",
      args.chart,
      {
        resourceName: args.resourceNamePrefix ? `${args.resourceNamePrefix}-qdrant` : undefined,
        namespace: args.namespace,
        values: {
          replicaCount: args.replicas,
          ...(args.priorityClassName ? { priorityClassName: args.priorityClassName } : {}),
          config: { cluster: { enabled: args.replicas > 1 }, telemetry_disabled: true },
          env: [
            {
              name: "QDRANT__SERVICE__API_KEY",
              valueFrom: { secretKeyRef: { name: args.apiKey.secretName, key: args.apiKey.key } },
            },
          ],
          persistence: {
            size: `${args.storageGiB}Gi`,
            storageClassName: args.storageClassName,
            accessModes: ["ReadWriteOnce"],
          },
          snapshotPersistence: { enabled: false },
          updateVolumeFsOwnership: false,
          podSecurityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 2000,
            fsGroup: 3000,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containerSecurityContext: { ...CONTAINER_SECURITY, runAsUser: 1000, runAsGroup: 2000 },
          resources: {
            requests: { cpu: `${size.cpuMillicores}m`, memory: `${size.memoryMiB}Mi` },
            limits: { cpu: `${size.cpuMillicores * 2}m`, memory: `${size.memoryMiB}Mi` },
          },
          podDisruptionBudget: { enabled: args.replicas > 1, maxUnavailable: 1 },
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                {
                  topologyKey: "kubernetes.io/hostname",
                  labelSelector: { matchLabels: QDRANT_LABELS },
                },
              ],
            },
          },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: ZONE_KEY,
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: QDRANT_LABELS },
            },
          ],
          // The chart runs its own service account and has no setting to keep the token out.
          additionalVolumes: [NO_TOKEN.volume],
          additionalVolumeMounts: [NO_TOKEN.mount],
        },
      },
      { parent: this },
    );
    flowPolicy(
      name,
      {
        namespace: args.namespace,
        podLabels: QDRANT_LABELS,
        ingress: [
          {
            from: args.clientLabels.map((labels) => ({ podSelector: { matchLabels: labels } })),
            ports: [HTTP, GRPC],
          },
          { from: [{ podSelector: { matchLabels: QDRANT_LABELS } }], ports: [P2P] },
        ],
        egressToPods: [{ labels: QDRANT_LABELS, ports: [P2P] }],
      },
      { parent: this },
    );
    this.endpoint = {
      kind: "qdrant",
      url: pulumi.interpolate`http://${release.status.name}.${args.namespace}.svc.cluster.local:${HTTP}`,
      apiKey: args.apiKeyRef,
      collection: args.collection,
      // Two copies of each shard on distinct nodes once there are two: one node (or its volume) lost loses nothing.
      replicationFactor: Math.min(args.replicas, 2),
    };
    this.registerOutputs({ url: this.endpoint.url });
  }
}
