/**
 * The Kafka bus of one enterprise region on AWS: the region's MSK cluster, and for each client an
 * EKS Pod Identity role holding what that client does there. The API produces document events;
 * parse reads originals and writes chunks; embed turns chunks into vectors; index reads both into
 * the region's stores, and alone reads the database password and reaches Aurora. KEDA's operator gets a role that reads the groups' lag, nothing more.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  bucketPrefixStatements,
  type PrefixGrant,
} from "../../components/aws/bucket-prefix-access";
import { kafkaClientStatements, MSK_IAM_TLS_PORT, type MskCluster } from "../../components/aws/msk";
import { podIdentityRole } from "../../components/aws/pod-identity";
import type { Statement } from "../../components/aws/account";
import type { RuntimeEnvironment } from "../../components/contracts";
import {
  CATALOGUE_ROLES,
  INGEST_CONSUMER_GROUPS,
  INGEST_TOPICS,
  INTERMEDIATES_PREFIX,
  JOINS,
  ORIGINALS_PREFIX,
  READS,
  RELAY_GROUP,
  ROLE_TOPICS,
  WRITES,
  type IngestRole,
} from "../ingest-log";
import { DOCUMENT_STORE_PREFIX } from "./aws-base";
import { ingestDbUser } from "./aws-db-users";
import { POD_IDENTITY_AGENT_CIDR } from "./aws-eks";
import type { ClusterIngestBus } from "./cluster-host";

/** Where KEDA's operator runs (the chart's service account, kedacore/charts values.yaml). */
export const KEDA_OPERATOR = { namespace: "keda", serviceAccount: "keda-operator" } as const;

interface BucketAndKey {
  readonly bucketArn: pulumi.Input<string>;
  readonly keyArn: pulumi.Input<string>;
}

export interface MskIngestBusArgs {
  readonly prefix: string;
  readonly region: string;
  readonly clusterName: pulumi.Input<string>;
  readonly kafka: MskCluster;
  /** Where the roles write: the primary's document bucket, with its key. */
  readonly documents: BucketAndKey;
  /**
   * This region's replica of it, outside the primary: read first, and where the index role
   * removes every version of a deleted document's copies. @default - none: the primary
   */
  readonly replica?: BucketAndKey;
  /** The roles' object store variables as the region's runtime has them (the replica's URL too). */
  readonly storeEnv: (env: RuntimeEnvironment) => RuntimeEnvironment;
  readonly vpcCidr: pulumi.Input<string>;
  /** The log's primary: parse and embed run here. */
  readonly runsStages: boolean;
  /** How a role signs in to the database as its own user: the environment and what its role needs. */
  readonly databaseLogin: (
    user: string,
    env: RuntimeEnvironment,
  ) => { env: RuntimeEnvironment; statements: Statement[] };
}

/** Aurora PostgreSQL's port. */
const AURORA_PORT = 5432;

const under = (prefix: string) => `${DOCUMENT_STORE_PREFIX}/${prefix}`;

/** What each role does in the document bucket (runtime/src/kafka/roles.ts). */
const OBJECTS: Readonly<Record<IngestRole, readonly PrefixGrant[]>> = {
  // Reads the original; writes the chunks; on a delete, lists and removes the document's objects.
  parse: [
    { prefix: under(ORIGINALS_PREFIX), read: true },
    { prefix: under(INTERMEDIATES_PREFIX), write: true, remove: true, list: true },
  ],
  // Reads the chunks, writes the vectors; on a delete, as parse.
  embed: [
    { prefix: under(INTERMEDIATES_PREFIX), read: true, write: true, remove: true, list: true },
  ],
  // Reads the chunks and vectors; on a delete, as parse.
  index: [{ prefix: under(INTERMEDIATES_PREFIX), read: true, remove: true, list: true }],
};

/**
 * What the primary's index role does besides, as the one place the catalogue's upkeep runs
 * (runtime/src/services.ts): the retention purge's secure delete and the orphan sweep list and
 * remove originals, every version.
 */
const UPKEEP_OBJECTS: readonly PrefixGrant[] = [
  { prefix: under(ORIGINALS_PREFIX), remove: true, list: true, versions: true },
];

/**
 * What each role does on its region's replica (runtime/src/storage): reads there first; index
 * removes a deleted document's original and intermediates, every version (S3 replicates no
 * removal of a version).
 */
const REPLICA_OBJECTS: Readonly<Record<IngestRole, readonly PrefixGrant[]>> = {
  parse: [{ prefix: under(ORIGINALS_PREFIX), read: true }],
  embed: [{ prefix: under(INTERMEDIATES_PREFIX), read: true }],
  index: [
    { prefix: under(ORIGINALS_PREFIX), remove: true, list: true, versions: true },
    { prefix: under(INTERMEDIATES_PREFIX), read: true, remove: true, list: true, versions: true },
  ],
};

const ALL_TOPICS = Object.values(INGEST_TOPICS);
const ALL_GROUPS = Object.values(INGEST_CONSUMER_GROUPS);

/**
 * The bus of a client: every client sees (and may create) the topics and describes every group
 * (the runtime's queue depth sums the roles' lag); it reads and joins only its own.
 */
export function ingestClientStatements(
  clusterArn: pulumi.Input<string>,
  client: IngestRole | "api",
): Statement[] {
  return kafkaClientStatements(clusterArn, {
    topics: ALL_TOPICS,
    createsTopics: true,
    reads: client === "api" ? [] : READS[client],
    writes: WRITES[client],
    describesGroups: [...ALL_GROUPS, RELAY_GROUP],
    joinsGroups: client === "api" ? [] : JOINS[client],
  });
}

/** The bus of one region, with the roles' identities made as they are bound. */
export function mskIngestBus(
  args: MskIngestBusArgs,
  opts: pulumi.CustomResourceOptions,
): ClusterIngestBus {
  return {
    endpoint: {
      brokers: args.kafka.bootstrapBrokers,
      auth: { kind: "aws-msk-iam", region: args.region },
    },
    runsStages: args.runsStages,
    brokers: { cidr: args.vpcCidr, ports: [MSK_IAM_TLS_PORT] },
    roleEgress: (role) => [
      // The brokers, the AWS APIs' interface endpoints in the VPC, and Aurora for the roles that
      // open the catalogue.
      {
        cidr: args.vpcCidr,
        ports: [443, MSK_IAM_TLS_PORT, ...(CATALOGUE_ROLES.includes(role) ? [AURORA_PORT] : [])],
      },
      // S3 (the gateway endpoint routes to its public addresses).
      { cidr: "0.0.0.0/0", ports: [443], except: [args.vpcCidr] },
      // The EKS Pod Identity agent on the node, which hands out the role's credentials.
      { cidr: POD_IDENTITY_AGENT_CIDR, ports: [80] },
    ],
    // KEDA's Kafka scaler (v2.20): SASL OAUTHBEARER with an MSK IAM token, over TLS.
    scalerMetadata: {
      tls: "enable",
      sasl: "oauthbearer",
      saslTokenProvider: "aws_msk_iam",
      awsRegion: args.region,
    },
    // KEDA's operator signs with its own Pod Identity role (kedaLagReader).
    scalerAuthentication: { podIdentity: { provider: "aws" } },
    bindRole(role, bind) {
      // Only the roles that open the catalogue sign in to it, as a database user of their own;
      // parse and embed get no database login and no way to the database.
      const { env, statements: databaseStatements } = CATALOGUE_ROLES.includes(role)
        ? args.databaseLogin(ingestDbUser(role), args.storeEnv(bind.env))
        : { env: args.storeEnv(bind.env), statements: [] };
      const { documents, replica } = args;
      podIdentityRole(
        `${args.prefix}-ingest-${role}`,
        {
          clusterName: args.clusterName,
          namespace: bind.namespace,
          serviceAccount: bind.serviceAccount,
          statements: [
            ...ingestClientStatements(args.kafka.arn, role),
            ...bucketPrefixStatements(documents.bucketArn, documents.keyArn, [
              ...OBJECTS[role],
              ...(role === "index" && args.runsStages ? UPKEEP_OBJECTS : []),
            ]),
            ...(replica
              ? bucketPrefixStatements(
                  replica.bucketArn,
                  replica.keyArn,
                  REPLICA_OBJECTS[role],
                  "Replica",
                )
              : []),
            ...databaseStatements,
          ],
        },
        opts,
      );
      return { env };
    },
  };
}

/**
 * KEDA's operator reads the roles' lag from the region's brokers with its own Pod Identity role:
 * made before KEDA's pods, which take their credentials when they start.
 */
export function kedaLagReader(
  name: string,
  args: { clusterName: pulumi.Input<string>; kafka: MskCluster },
  opts: pulumi.ComponentResourceOptions,
): pulumi.ComponentResource {
  const parent = new pulumi.ComponentResource("rag:aws:KedaLagReader", name, {}, opts);
  podIdentityRole(
    name,
    {
      clusterName: args.clusterName,
      namespace: KEDA_OPERATOR.namespace,
      serviceAccount: KEDA_OPERATOR.serviceAccount,
      statements: kafkaClientStatements(args.kafka.arn, {
        topics: Object.values(ROLE_TOPICS),
        createsTopics: false,
        reads: [],
        writes: [],
        describesGroups: ALL_GROUPS,
        joinsGroups: [],
      }),
    },
    { parent },
  );
  return parent;
}
