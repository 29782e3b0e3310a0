/**
 * Ingest on the Kafka bus on the Kubernetes platform: the roles' environments, identities and
 * Deployments. Each role's flows come from the flow table, like every other workload's.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { type RuntimeEnvironment, secretEntries } from "../../components/contracts";
import { egressOf, type FlowTable, type MeshWorkload } from "../../components/kubernetes/flows";
import {
  ingestServiceAccount,
  IngestWorkloads,
  type IngestRoleArgs,
} from "../../components/kubernetes/ingest-workloads";
import { ENV, type SecretEnvName } from "../../runtime/src/config";
import type { PlatformConfig } from "../config";
import {
  CATALOGUE_ROLES,
  EMBEDDING_ROLES,
  INGEST_CONSUMER_GROUPS,
  INGEST_ROLES,
  ROLE_TOPICS,
  type IngestRole,
} from "../ingest-log";
import { kafkaEnvironment } from "../runtime-env";
import type { ClusterIngestBus } from "./cluster-host";
import { KUBERNETES_NAMESPACE, WORKLOADS } from "./kubernetes-flows";

/** Each role's workload in the flow table. */
export const INGEST_WORKLOADS: Readonly<Record<IngestRole, MeshWorkload>> = {
  parse: WORKLOADS.ingestParse,
  embed: WORKLOADS.ingestEmbed,
  index: WORKLOADS.ingestIndex,
};

/** What the API alone uses: the roles' pods get none of it. */
const API_ONLY_SECRETS: readonly SecretEnvName[] = [
  ENV.adminApiKey,
  ENV.oidcClientSecret,
  ENV.redisPassword,
];
const API_ONLY_PLAIN = [
  ENV.redisHost,
  ENV.redisPort,
  ENV.redisTls,
  ENV.redisTlsCaFile,
  ENV.trustProxy,
  ENV.publicUrl,
  ENV.oidcIssuerUrl,
  ENV.oidcClientId,
  ENV.oidcScopes,
] as const;

/**
 * What only the roles that open the catalogue use (CATALOGUE_ROLES): the database (every PG* and
 * DATABASE_* variable), the vector store and search, the catalogue's upkeep, and the models the
 * API answers with. Parse and embed are given none of it (runtime/src/kafka/stage-services.ts
 * reads none).
 */
const CATALOGUE_ONLY: readonly string[] = [
  ENV.requirePgvector,
  ENV.searchBackend,
  ENV.vectorStore,
  ENV.vectorIndex,
  ENV.qdrantUrl,
  ENV.qdrantApiKey,
  ENV.qdrantCollection,
  ENV.qdrantReplicationFactor,
  ENV.qdrantShards,
  ENV.qdrantWriteConsistency,
  ENV.kafkaCatalogue,
  ENV.orphanGraceMinutes,
  ENV.retentionDaysByCollection,
  ENV.retentionDaysByLabel,
  ENV.purgeIntervalMinutes,
  ENV.fusionBm25Weight,
  ENV.fusionVectorWeight,
  ENV.rerankUrl,
  ENV.rerankApiKey,
  ENV.llmProvider,
  ENV.llmModel,
  ENV.llmBaseUrl,
  ENV.llmApiKey,
  ENV.llmTimeoutSeconds,
  ENV.modelRoutes,
];
/** What only the roles that embed use (EMBEDDING_ROLES): the embedding model. */
const EMBEDDING_ONLY: readonly string[] = [
  ENV.embeddingProvider,
  ENV.embeddingModel,
  ENV.embeddingBaseUrl,
  ENV.embeddingApiKey,
  ENV.embeddingDimensions,
  ENV.embeddingTimeoutSeconds,
];

/**
 * A role's environment: the runtime's, less what only the API uses and what the role does not
 * use, on the region's bus.
 */
export function ingestRoleEnvironment(
  env: RuntimeEnvironment,
  bus: ClusterIngestBus,
  partitions: number,
  role: IngestRole,
): RuntimeEnvironment {
  const unused = (name: string) =>
    (!CATALOGUE_ROLES.includes(role) &&
      (CATALOGUE_ONLY.includes(name) || /^(PG|DATABASE_)/.test(name))) ||
    (!EMBEDDING_ROLES.includes(role) && EMBEDDING_ONLY.includes(name));
  const plain: Record<string, pulumi.Input<string>> = { ...env.plain };
  for (const name of API_ONLY_PLAIN) delete plain[name];
  for (const name of Object.keys(plain)) if (unused(name)) delete plain[name];
  const secrets = { ...env.secrets };
  for (const name of API_ONLY_SECRETS) delete secrets[name];
  for (const name of Object.keys(secrets)) if (unused(name)) delete secrets[name as SecretEnvName];
  return { plain: { ...plain, ...kafkaEnvironment(bus.endpoint, partitions) }, secrets };
}

export interface KafkaIngestArgs {
  readonly cfg: PlatformConfig;
  readonly bus: ClusterIngestBus;
  readonly flows: FlowTable;
  readonly namespace: pulumi.Input<string>;
  readonly image: pulumi.Input<string>;
  /** The runtime's environment before any identity reads a secret itself. */
  readonly env: RuntimeEnvironment;
  /** The synced Secret holding the runtime's secrets and files. */
  readonly secretName: pulumi.Input<string>;
  /** Files in that Secret the runtime reads by path (a managed service's CA), by variable. */
  readonly fileKeys: readonly string[];
  readonly metricsScrapedBy: readonly k8s.types.input.networking.v1.NetworkPolicyPeer[];
  readonly priorityClassName?: pulumi.Input<string>;
}

/** The three roles' Deployments, identities and scalers in one region. */
export function kafkaIngest(
  name: string,
  args: KafkaIngestArgs,
  opts: pulumi.ComponentResourceOptions,
): IngestWorkloads {
  const settings = args.cfg.enterprise.ingest;
  const roles = {} as Record<IngestRole, IngestRoleArgs>;
  for (const role of INGEST_ROLES) {
    const identity = args.bus.bindRole(role, {
      namespace: KUBERNETES_NAMESPACE,
      serviceAccount: ingestServiceAccount(role),
      env: ingestRoleEnvironment(args.env, args.bus, settings.partitions, role),
    });
    const calls = egressOf(args.flows, INGEST_WORKLOADS[role]);
    const { minReplicas, maxReplicas, lagThreshold, cpuMillicores, memoryMiB } = settings[role];
    roles[role] = {
      minReplicas,
      maxReplicas,
      lagThreshold,
      cpuMillicores,
      memoryMiB,
      topic: ROLE_TOPICS[role],
      consumerGroup: INGEST_CONSUMER_GROUPS[role],
      standby: role !== "index" && !args.bus.runsStages,
      env: identity.env,
      // Its secrets, and the files of the variables it is given (a database's CA: index only).
      secretKeys: [
        ...secretEntries(identity.env).map(([n]) => n),
        ...args.fileKeys.filter((variable) => variable in identity.env.plain),
      ],
      serviceAccountAnnotations: identity.serviceAccountAnnotations,
      podLabels: identity.podLabels,
      callsPods: calls.egressToPods,
      callsCidrs: calls.egressToCidrs,
      callsPeers: calls.egressToPeers,
    };
  }
  return new IngestWorkloads(
    name,
    {
      namespace: args.namespace,
      image: args.image,
      secretName: args.secretName,
      roles,
      partitions: settings.partitions,
      brokers: args.bus.endpoint.brokers,
      scalerMetadata: args.bus.scalerMetadata,
      scalerAuthentication: args.bus.scalerAuthentication,
      metricsScrapedBy: args.metricsScrapedBy,
      priorityClassName: args.priorityClassName,
    },
    opts,
  );
}
