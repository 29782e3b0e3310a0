/**
 * What travels on the Kafka bus: topic names, and records keyed by document id (so one document's
 * records stay in one partition, in order) carrying a schema version. Records stay small: texts
 * and vectors go to the object store under `ingest/<document id>/` and records name them.
 */
import { z } from "zod";
import type { RuntimeConfig } from "../config";

/** The version every record carries; a consumer sends a record of another version to the dead-letter topic. */
export const SCHEMA_VERSION = 1;

export interface Topics {
  /** Compacted: the latest upsert per document, or its tombstone. */
  readonly documents: string;
  readonly parsed: string;
  readonly embedded: string;
  readonly deadLetter: string;
  /**
   * Uploads and deletes of a region whose log is a replica (KAFKA_FORWARD), replicated to the
   * primary, whose index role relays them onto the documents topic.
   */
  readonly uploads: string;
}

export function topicsOf(config: Pick<RuntimeConfig, "KAFKA_TOPIC_PREFIX">): Topics {
  const p = config.KAFKA_TOPIC_PREFIX;
  return {
    documents: `${p}documents`,
    parsed: `${p}ingest.parsed`,
    embedded: `${p}ingest.embedded`,
    deadLetter: `${p}ingest.dead-letter`,
    uploads: `${p}uploads`,
  };
}

export const ROLES = ["parse", "embed", "index"] as const;
export type Role = (typeof ROLES)[number];

/** The topic each role consumes. */
export function inputTopic(topics: Topics, role: Role): string {
  switch (role) {
    case "parse":
      return topics.documents;
    case "embed":
      return topics.parsed;
    case "index":
      return topics.embedded;
    default: {
      const unknown: never = role;
      throw new Error(`unknown role ${String(unknown)}`);
    }
  }
}

export function groupOf(config: Pick<RuntimeConfig, "KAFKA_GROUP_PREFIX">, role: Role): string {
  return `${config.KAFKA_GROUP_PREFIX}-${role}`;
}

/** An upload, as the document topic holds it: everything a region needs to catalogue it. */
export const documentEvent = z.object({
  schema: z.literal(SCHEMA_VERSION),
  documentId: z.string().uuid(),
  name: z.string(),
  contentType: z.string(),
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: z.number().int().nonnegative(),
  objectKey: z.string().min(1),
  metadata: z.record(z.string(), z.unknown()),
  /** The document's classification label; null where none is set. */
  classification: z.string().nullable(),
  /** The groups the document is restricted to (auth/access.ts); empty: none. */
  accessGroups: z.array(z.string()).default([]),
  createdAt: z.string(),
});
export type DocumentEvent = z.infer<typeof documentEvent>;

/** Between the stages: the document's chunks (and vectors), a failure to record, or a delete. */
export const stageRecord = z.discriminatedUnion("type", [
  z.object({
    schema: z.literal(SCHEMA_VERSION),
    type: z.literal("chunks"),
    document: documentEvent,
    chunksKey: z.string(),
    chunkCount: z.number().int().positive(),
    /** What the PII scan found in the text (types and counts, never values), when one ran. */
    pii: z.record(z.string(), z.number().int().nonnegative()).optional(),
    /** After embedding: the vectors' object and the model that made them. */
    vectorsKey: z.string().optional(),
    embedder: z.string().optional(),
  }),
  z.object({
    schema: z.literal(SCHEMA_VERSION),
    type: z.literal("failed"),
    document: documentEvent,
    reason: z.string(),
  }),
  z.object({
    schema: z.literal(SCHEMA_VERSION),
    type: z.literal("delete"),
    documentId: z.string().uuid(),
    /** The original's key, from the tombstone's header: what each region removes of its replica. */
    objectKey: z.string().min(1).optional(),
  }),
]);
export type StageRecord = z.infer<typeof stageRecord>;

/** The uploads topic's record: a document a region's API changed, for the primary to publish. */
export const uploadRecord = z.discriminatedUnion("type", [
  z.object({
    schema: z.literal(SCHEMA_VERSION),
    type: z.literal("upsert"),
    documentId: z.string().uuid(),
  }),
  z.object({
    schema: z.literal(SCHEMA_VERSION),
    type: z.literal("delete"),
    documentId: z.string().uuid(),
    objectKey: z.string().min(1).optional(),
  }),
]);
export type UploadRecord = z.infer<typeof uploadRecord>;

/**
 * Whether this region's index role writes the catalogue's shared state and keeps it (the relay,
 * the retention purge, the orphan sweep of the store uploads go to, the re-queue of unpublished
 * uploads): the primary's, whose log is no replica. Elsewhere it keeps only what is regional.
 */
export function writesCatalogue(config: Pick<RuntimeConfig, "KAFKA_FORWARD">): boolean {
  return !config.KAFKA_FORWARD;
}

/**
 * What this region's index role writes. "catalogue": the documents' rows, status, chunks,
 * postings and vectors. "vectors": only this region's vector store outside the database, where
 * the catalogue is the primary's, shared (a region whose log is a replica, KAFKA_FORWARD, with
 * KAFKA_CATALOGUE=api: Aurora Global Database's secondary forwards writes to the primary, where
 * that region's index role writes the same rows).
 */
export function indexWrites(
  config: Pick<RuntimeConfig, "KAFKA_FORWARD" | "KAFKA_CATALOGUE">,
): "catalogue" | "vectors" {
  return config.KAFKA_FORWARD && config.KAFKA_CATALOGUE === "api" ? "vectors" : "catalogue";
}

/** The group of the primary's relay of the uploads topic. */
export function relayGroupOf(config: Pick<RuntimeConfig, "KAFKA_GROUP_PREFIX">): string {
  return `${config.KAFKA_GROUP_PREFIX}-relay`;
}

/** The header of a document's tombstone naming its original's key (a tombstone has no value). */
export const OBJECT_KEY_HEADER = "rag-object-key";

/** What the dead-letter topic holds: the record a stage gave up on, and why. */
export interface DeadLetter {
  readonly schema: typeof SCHEMA_VERSION;
  readonly documentId: string | null;
  readonly stage: Role;
  readonly reason: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly value: string | null;
  readonly failedAt: string;
}

/** A record that does not parse, or of another schema version. */
export class UnreadableRecordError extends Error {}

export function decode<T>(schema: z.ZodType<T>, value: Buffer | undefined, topic: string): T {
  let json: unknown;
  try {
    json = JSON.parse(value?.toString("utf8") ?? "null");
  } catch {
    throw new UnreadableRecordError(`a record on ${topic} is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new UnreadableRecordError(
      `a record on ${topic} does not match schema ${SCHEMA_VERSION}: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`,
    );
  return parsed.data;
}

export const encode = (value: object): Buffer => Buffer.from(JSON.stringify(value));

/** Where a document's intermediate objects live (removed with the document). */
export const ingestPrefix = (documentId: string) => `ingest/${documentId}/`;

/**
 * The chunks and vectors objects: named by document id, content hash and embedding model, so a
 * stage run again writes the same objects and the index writes the same chunk ids.
 */
export function chunksKey(document: DocumentEvent): string {
  return `${ingestPrefix(document.documentId)}${document.contentHash}/chunks.json`;
}
export function vectorsKey(document: DocumentEvent, embedder: string): string {
  return `${ingestPrefix(document.documentId)}${document.contentHash}/${encodeURIComponent(embedder)}.f32`;
}
