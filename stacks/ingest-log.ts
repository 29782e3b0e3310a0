/**
 * The ingest log's contract with the runtime, read from the runtime itself
 * (runtime/src/kafka/events.ts): the roles the ingest worker runs as (`worker --role
 * parse|embed|index`), the topics between them and their consumer groups, at the runtime's
 * default prefixes (KAFKA_TOPIC_PREFIX `rag.`, KAFKA_GROUP_PREFIX `rag-ingest`). MSK Replicator
 * copies these topics and the groups' offsets from the primary to every region.
 */
import { groupOf, inputTopic, ROLES, topicsOf, type Role } from "../runtime/src/kafka/events";

export const INGEST_ROLES = ROLES;
export type IngestRole = Role;

const PREFIXES = { KAFKA_TOPIC_PREFIX: "rag.", KAFKA_GROUP_PREFIX: "rag-ingest" };
const TOPICS = topicsOf(PREFIXES);

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

/** The consumer group of each role. */
export const INGEST_CONSUMER_GROUPS: Readonly<Record<IngestRole, string>> = Object.fromEntries(
  ROLES.map((role) => [role, groupOf(PREFIXES, role)]),
) as Record<IngestRole, string>;
