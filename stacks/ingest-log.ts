/**
 * The ingest log's contract with the runtime, in one place: the roles the ingest worker runs as
 * (`worker --role parse|embed|index`), the Kafka topics between them and their consumer groups.
 * MSK Replicator copies these topics and groups' offsets from the primary to every region.
 *
 * Until the runtime's Kafka ingest (runtime/src/config.ts) lands on main, these names follow the
 * Kafka ingest issue's contract; once it lands they are read from there.
 */

/** The ingest stages, each its own Deployment scaled on its consumer lag. */
export const INGEST_ROLES = ["parse", "embed", "index"] as const;
export type IngestRole = (typeof INGEST_ROLES)[number];

/** The topic each role consumes. */
export const INGEST_TOPICS: Readonly<Record<IngestRole, string>> = {
  parse: "rag.ingest.parse",
  embed: "rag.ingest.embed",
  index: "rag.ingest.index",
};

/** The consumer group of each role (KEDA reads its lag). */
export const INGEST_CONSUMER_GROUPS: Readonly<Record<IngestRole, string>> = {
  parse: "rag-ingest-parse",
  embed: "rag-ingest-embed",
  index: "rag-ingest-index",
};
