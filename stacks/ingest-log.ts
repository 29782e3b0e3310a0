/**
 * The ingest log's contract with the runtime, read from the runtime itself
 * (runtime/src/kafka/events.ts): the roles the ingest worker runs as (`worker --role
 * parse|embed|index`), the topics between them and their consumer groups, at the runtime's
 * default prefixes (KAFKA_TOPIC_PREFIX `rag.`, KAFKA_GROUP_PREFIX `rag-ingest`). MSK Replicator
 * copies these topics, and the parse and embed groups' offsets, from the primary to every region.
 */
import {
  groupOf,
  relayGroupOf,
  ingestPrefix,
  inputTopic,
  ROLES,
  topicsOf,
  type Role,
} from "../runtime/src/kafka/events";

export const INGEST_ROLES = ROLES;
export type IngestRole = Role;

/** The prefixes every region gives the runtime: the same topics and groups on every cluster. */
export const INGEST_PREFIXES = { KAFKA_TOPIC_PREFIX: "rag.", KAFKA_GROUP_PREFIX: "rag-ingest" };
const TOPICS = topicsOf(INGEST_PREFIXES);

/** Every topic of the bus (the stages' inputs, the dead letters, the uploads of other regions). */
export const INGEST_TOPICS: Readonly<Record<keyof typeof TOPICS, string>> = TOPICS;

/** What MSK Replicator copies from the primary to every other region: all but the uploads. */
export const PRIMARY_TOPICS: readonly string[] = Object.values(TOPICS).filter(
  (t) => t !== TOPICS.uploads,
);

/** What it copies from every other region back to the primary: its API's uploads and deletes. */
export const UPLOADS_TOPIC = TOPICS.uploads;

/** The topic each role consumes. */
export const ROLE_TOPICS: Readonly<Record<IngestRole, string>> = Object.fromEntries(
  ROLES.map((role) => [role, inputTopic(TOPICS, role)]),
) as Record<IngestRole, string>;

/**
 * The topics each client of the bus writes (runtime/src/kafka/roles.ts): the API the document
 * events; each role the next stage's topic and the dead letters; index also the document topic,
 * where it publishes again an upload whose event never went out.
 */
export const WRITES: Readonly<Record<IngestRole | "api", readonly string[]>> = {
  // The primary's API the document events; another region's its uploads (KAFKA_FORWARD).
  api: [TOPICS.documents, TOPICS.uploads],
  parse: [TOPICS.parsed, TOPICS.deadLetter],
  embed: [TOPICS.embedded, TOPICS.deadLetter],
  // Beside index, the primary's relay publishes other regions' uploads as document events.
  index: [TOPICS.deadLetter, TOPICS.documents],
};

/** The consumer group of each role. */
export const INGEST_CONSUMER_GROUPS: Readonly<Record<IngestRole, string>> = Object.fromEntries(
  ROLES.map((role) => [role, groupOf(INGEST_PREFIXES, role)]),
) as Record<IngestRole, string>;

/**
 * The groups whose offsets MSK Replicator copies: parse and embed, which a region taking over
 * ingest resumes. Not index: every region runs its own index group on its own cluster, and a
 * copied offset would move it past records its vector store has not taken.
 */
export const REPLICATED_GROUPS: readonly string[] = [
  INGEST_CONSUMER_GROUPS.parse,
  INGEST_CONSUMER_GROUPS.embed,
];

/**
 * The roles that run in every region: index. Parse and embed run in the log's primary (the
 * first region); elsewhere they stand by at zero replicas until a failover starts them.
 */
export const EVERY_REGION_ROLES: readonly IngestRole[] = ["index"];

/** Where the roles keep a document's chunks and vectors in the object store (under its prefix). */
export const INTERMEDIATES_PREFIX = ingestPrefix("").replace(/\/+$/, "/");

/** Where the API keeps the originals in the object store (runtime/src/ingest/documents.ts objectKey). */
export const ORIGINALS_PREFIX = "documents/";

/** What each role reads, and the groups it joins: its input; index also the relay's (the uploads). */
export const READS: Readonly<Record<IngestRole, readonly string[]>> = {
  parse: [ROLE_TOPICS.parse],
  embed: [ROLE_TOPICS.embed],
  index: [ROLE_TOPICS.index, TOPICS.uploads],
};
export const RELAY_GROUP = relayGroupOf(INGEST_PREFIXES);
export const JOINS: Readonly<Record<IngestRole, readonly string[]>> = {
  parse: [INGEST_CONSUMER_GROUPS.parse],
  embed: [INGEST_CONSUMER_GROUPS.embed],
  index: [INGEST_CONSUMER_GROUPS.index, RELAY_GROUP],
};

/**
 * The roles that open the catalogue (the database) and the vector store: index alone
 * (runtime/src/kafka/stage-services.ts). Parse and embed get no database password, no way to the
 * database and no vector store; parse no embedding model either.
 */
export const CATALOGUE_ROLES: readonly IngestRole[] = ["index"];
/** The roles that embed: embed, and index, which learns the model's dimensions at start. */
export const EMBEDDING_ROLES: readonly IngestRole[] = ["embed", "index"];
