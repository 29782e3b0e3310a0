import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ENV } from "../../runtime/src/config";
import type { RuntimeEnvironment } from "../contracts";
import { processEnv, RUNTIME_PROCESSES, RUNTIME_UID, SECRETS_DIR } from "../shared/runtime-image";
import { disruptionBudget, flowPolicy } from "./network-policy";
import { resources, restrictedPod } from "./pod-security";
import { runtimeEnvVars, type RuntimeWorkloadsArgs } from "./runtime-workloads";
import { scrapeAnnotations } from "./telemetry";

/** The stages of ingest on the Kafka bus, each a Deployment of its own (`worker --role <role>`). */
export const INGEST_WORKLOAD_ROLES = ["parse", "embed", "index"] as const;
export type IngestWorkloadRole = (typeof INGEST_WORKLOAD_ROLES)[number];

/** A role's pods' labels. */
export function ingestLabels(role: IngestWorkloadRole): Record<string, string> {
  return {
    "app.kubernetes.io/name": `rag-ingest-${role}`,
    "app.kubernetes.io/component": "ingest",
    "app.kubernetes.io/part-of": "rag-platform",
  };
}

/** A role's service account: its own cloud identity. */
export const ingestServiceAccount = (role: IngestWorkloadRole) => `rag-ingest-${role}`;

/**
 * KEDA's annotation that holds a ScaledObject's target at a replica count and stops scaling it:
 * a standby role stays at 0 until it is removed.
 */
export const PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas";

const HEALTH_PORT = RUNTIME_PROCESSES.worker.port;

/** A role: its bounds, its group, its identity and what it calls (in-cluster pods, peers, CIDRs). */
export interface IngestRoleArgs extends Pick<
  RuntimeWorkloadsArgs,
  "callsPods" | "callsCidrs" | "callsPeers"
> {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Records behind per replica KEDA aims for. */
  readonly lagThreshold: number;
  readonly cpuMillicores: number;
  readonly memoryMiB: number;
  /** The topic the role consumes and its consumer group: what KEDA reads the lag of. */
  readonly topic: string;
  readonly consumerGroup: string;
  /**
   * Held at 0 replicas with the scaler paused (PAUSED_REPLICAS), until a failover starts it.
   * @default false
   */
  readonly standby?: boolean;
  /** The role's environment once its identity is bound (a password read at connect). */
  readonly env: RuntimeEnvironment;
  /** The keys of `secretName` its pods mount: its secrets and files, no other. */
  readonly secretKeys: readonly string[];
  /** Annotations of its service account (a cloud identity). @default - none */
  readonly serviceAccountAnnotations?: Record<string, pulumi.Input<string>>;
  /** Labels of its pods beyond their selector's (an identity webhook's opt-in). @default - none */
  readonly podLabels?: Record<string, string>;
}

export interface IngestWorkloadsArgs {
  readonly namespace: pulumi.Input<string>;
  readonly image: pulumi.Input<string>;
  /** The Kubernetes Secret holding every variable in the roles' `env.secrets`, mounted as files. */
  readonly secretName: pulumi.Input<string>;
  readonly roles: Readonly<Record<IngestWorkloadRole, IngestRoleArgs>>;
  /** Partitions of each topic: no role may scale past them. */
  readonly partitions: number;
  /** The brokers KEDA's Kafka scaler reads the lag from. */
  readonly brokers: pulumi.Input<string>;
  /** KEDA's Kafka trigger's connection settings (TLS, SASL, the cloud's region). */
  readonly scalerMetadata: Record<string, string>;
  /** The TriggerAuthentication spec the scaler signs in with (a pod identity). */
  readonly scalerAuthentication: Record<string, unknown>;
  /** Who reads the roles' /metrics. @default - nobody */
  readonly metricsScrapedBy?: readonly k8s.types.input.networking.v1.NetworkPolicyPeer[];
  /** The PriorityClass of the roles' pods. @default - none: the cluster's default */
  readonly priorityClassName?: pulumi.Input<string>;
}

/**
 * Ingest on the Kafka bus: parse, embed and index, each a Deployment running `worker --role
 * <role>` under its own service account, spread over zones with a disruption budget, scaled by a
 * KEDA ScaledObject on its consumer group's lag, with a NetworkPolicy opening only its flows.
 */
export class IngestWorkloads extends pulumi.ComponentResource {
  /** Each role's Deployment name. */
  readonly deployments: Readonly<Record<IngestWorkloadRole, string>>;

  constructor(name: string, args: IngestWorkloadsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:k8s:IngestWorkloads", name, {}, opts);
    validate(name, args);
    const auth = new k8s.apiextensions.CustomResource(
      `${name}-kafka-auth`,
      {
        apiVersion: "keda.sh/v1alpha1",
        kind: "TriggerAuthentication",
        metadata: { name: "rag-ingest-kafka", namespace: args.namespace },
        spec: args.scalerAuthentication,
      },
      { parent: this },
    );
    const deployments = {} as Record<IngestWorkloadRole, string>;
    for (const role of INGEST_WORKLOAD_ROLES) {
      deployments[role] = this.role(`${name}-${role}`, role, args, auth.metadata.name);
    }
    this.deployments = deployments;
    this.registerOutputs({ deployments });
  }

  private role(
    name: string,
    role: IngestWorkloadRole,
    args: IngestWorkloadsArgs,
    authName: pulumi.Output<string>,
  ): string {
    const r = args.roles[role];
    const labels = ingestLabels(role);
    const deploymentName = `rag-ingest-${role}`;
    const parent = { parent: this };
    const sa = new k8s.core.v1.ServiceAccount(
      name,
      {
        metadata: {
          name: ingestServiceAccount(role),
          namespace: args.namespace,
          annotations: r.serviceAccountAnnotations,
        },
        automountServiceAccountToken: false,
      },
      parent,
    );
    const scraped = (args.metricsScrapedBy ?? []).length > 0;
    const mountsSecrets = r.secretKeys.length > 0;
    new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { name: deploymentName, namespace: args.namespace, labels },
        spec: {
          replicas: r.standby ? 0 : r.minReplicas,
          selector: { matchLabels: labels },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: {
              labels: { ...labels, ...r.podLabels },
              annotations: scraped ? scrapeAnnotations(HEALTH_PORT) : undefined,
            },
            spec: restrictedPod({
              uid: RUNTIME_UID,
              labels,
              serviceAccountName: sa.metadata.name as unknown as string,
              containers: [
                {
                  name: role,
                  image: args.image,
                  command: [...RUNTIME_PROCESSES.worker.command, "--role", role],
                  ports: [{ name: "health", containerPort: HEALTH_PORT }],
                  env: runtimeEnvVars(r.env, {
                    [ENV.host]: "0.0.0.0",
                    [ENV.workerHealthPort]: String(HEALTH_PORT),
                    [ENV.workerRole]: role,
                    ...processEnv("worker"),
                  }),
                  livenessProbe: {
                    httpGet: { path: "/healthz", port: HEALTH_PORT },
                    periodSeconds: 10,
                    timeoutSeconds: 3,
                    failureThreshold: 3,
                  },
                  resources: resources(r),
                  volumeMounts: [
                    { name: "tmp", mountPath: "/tmp" },
                    ...(mountsSecrets
                      ? [{ name: "secrets", mountPath: SECRETS_DIR, readOnly: true }]
                      : []),
                  ],
                },
              ],
              // No volume for a role given no secret: a Secret volume without items holds every key.
              volumes: mountsSecrets
                ? [
                    {
                      name: "secrets",
                      secret: {
                        secretName: args.secretName,
                        defaultMode: 0o440,
                        items: r.secretKeys.map((key) => ({ key, path: key })),
                      },
                    },
                  ]
                : [],
              extra: {
                terminationGracePeriodSeconds: RUNTIME_PROCESSES.worker.stopGraceSeconds,
                ...(args.priorityClassName ? { priorityClassName: args.priorityClassName } : {}),
              },
            }),
          },
        },
      },
      // KEDA owns the replica count after creation.
      { parent: this, ignoreChanges: ["spec.replicas"] },
    );
    disruptionBudget(name, { namespace: args.namespace, podLabels: labels }, parent);
    new k8s.apiextensions.CustomResource(
      `${name}-scaler`,
      {
        apiVersion: "keda.sh/v1alpha1",
        kind: "ScaledObject",
        metadata: {
          name: deploymentName,
          namespace: args.namespace,
          ...(r.standby ? { annotations: { [PAUSED_REPLICAS]: "0" } } : {}),
        },
        spec: {
          scaleTargetRef: { name: deploymentName },
          minReplicaCount: r.minReplicas,
          maxReplicaCount: r.maxReplicas,
          cooldownPeriod: 300,
          triggers: [
            {
              type: "kafka",
              metadata: {
                bootstrapServers: args.brokers,
                consumerGroup: r.consumerGroup,
                topic: r.topic,
                lagThreshold: String(r.lagThreshold),
                // A group with no offset yet starts at the earliest record (as the runtime does).
                offsetResetPolicy: "earliest",
                ...args.scalerMetadata,
              },
              authenticationRef: { name: authName },
            },
          ],
        },
      },
      parent,
    );
    flowPolicy(
      name,
      {
        namespace: args.namespace,
        podLabels: labels,
        ingress: scraped ? [{ from: [...args.metricsScrapedBy!], ports: [HEALTH_PORT] }] : [],
        egressToPods: r.callsPods,
        egressToCidrs: r.callsCidrs,
        egressToPeers: r.callsPeers,
      },
      parent,
    );
    return deploymentName;
  }
}

/** Bounds KEDA would otherwise take silently: replicas past the partitions get no work. */
function validate(name: string, args: IngestWorkloadsArgs): void {
  for (const role of INGEST_WORKLOAD_ROLES) {
    const r = args.roles[role];
    if (r.minReplicas < 1 || r.minReplicas > r.maxReplicas)
      throw new Error(
        `IngestWorkloads ${name}: ${role}.minReplicas must be 1 to maxReplicas (${r.maxReplicas}), got ${r.minReplicas}`,
      );
    if (r.maxReplicas > args.partitions)
      throw new Error(
        `IngestWorkloads ${name}: ${role}.maxReplicas ${r.maxReplicas} exceeds the topics' ${args.partitions} partitions (a consumer past them sits idle)`,
      );
  }
}
