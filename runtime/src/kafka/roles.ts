/**
 * The worker roles on the Kafka bus, each a consumer group of its own:
 *
 *   parse  documents topic -> original from the object store -> chunks (object) -> parsed topic
 *   embed  parsed topic -> vectors (object) -> embedded topic
 *   index  embedded topic -> chunks, postings and vectors into this region's database
 *
 * At least once, with idempotent effects: an offset is committed only once the record's effect is
 * durable (the next record acknowledged by every replica, or the index transaction committed), and
 * every effect repeats to the same result (objects and chunk ids named by document, content hash
 * and model). One partition's records are handled in order, several partitions at once. A record
 * that fails for its own reason, or keeps failing, goes to the dead-letter topic with the reason
 * and marks its document failed; its partition moves on.
 */
import { SpanKind } from "@opentelemetry/api";
import { Classification } from "../auth/access";
import { Consumer, type Message } from "@platformatic/kafka";
import type { RuntimeConfig } from "../config";
import type { Db } from "../db/db";
import type { Chunk } from "../ingest/chunk";
import { publicFailureReason } from "../ingest/failures";
import { ParseError } from "../ingest/parse";
import type { EmbedStage, IngestPipeline, ParseStage } from "../ingest/pipeline";
import type { PiiFindings } from "../ingest/pii";
import { claimForDelete, LegalHoldError } from "../retention/holds";
import type { Metrics } from "../metrics";
import { foldPendingTermStats } from "../search/bm25";
import type { Embedder } from "../models/embedder";
import { BACKOFF_MS } from "../queue/queue";
import type { VectorIndex } from "../search/vector-index";
import type { WorkerLog } from "../services";
import { isMissingObject, type ObjectStore } from "../storage/object-store";
import { ReplicatedObjectStore } from "../storage/replicated-store";
import { contextOfHeaders, kafkaAttributes, traced } from "../tracing";
import type { KafkaBus } from "./bus";
import {
  chunksKey,
  type DeadLetter,
  decode,
  type DocumentEvent,
  documentEvent,
  encode,
  groupOf,
  ingestPrefix,
  inputTopic,
  OBJECT_KEY_HEADER,
  type Role,
  SCHEMA_VERSION,
  type StageRecord,
  stageRecord,
  UnreadableRecordError,
  uploadRecord,
  relayGroupOf,
  indexWrites,
  writesCatalogue,
  vectorsKey,
} from "./events";

/**
 * What the roles of one process use. Every role has the bus and the object store; the rest only
 * the role that uses it, so a process opens only what its roles need (kafka/role-services.ts).
 */
export interface RoleContext {
  readonly config: RuntimeConfig;
  readonly bus: KafkaBus;
  readonly store: ObjectStore;
  readonly metrics: Metrics;
  readonly log?: WorkerLog;
  /** parse: the parser. */
  readonly parser?: ParseStage;
  /** embed: the embedder. */
  readonly embedding?: EmbedStage;
  /** index, and the primary's relay beside it: the catalogue and the vector store. */
  readonly index?: IndexContext;
}

export interface IndexContext {
  readonly db: Db;
  readonly pipeline: IngestPipeline;
  readonly embedder: Embedder;
  readonly vectors: VectorIndex;
}

/** What `role` uses, or an error saying this process did not open it. */
function opened<T>(value: T | undefined, role: Role, what: string): T {
  if (value === undefined)
    throw new Error(`the ${role} role needs ${what}, which this process did not open`);
  return value;
}

type Record = Message<Buffer, Buffer, Buffer, Buffer>;
/** What handling a record came to (a label of rag_kafka_records_total). */
type Outcome = "forwarded" | "indexed" | "deleted" | "held" | "failed" | "skipped";

function vectorsToBytes(vectors: readonly number[][]): Uint8Array {
  const flat = new Float32Array(vectors.reduce((n, v) => n + v.length, 0));
  let at = 0;
  for (const v of vectors) {
    flat.set(v, at);
    at += v.length;
  }
  return new Uint8Array(flat.buffer);
}

function vectorsFromBytes(bytes: Uint8Array, dimensions: number): number[][] {
  const flat = new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
  const out: number[][] = [];
  for (let at = 0; at < flat.length; at += dimensions)
    out.push(Array.from(flat.subarray(at, at + dimensions)));
  return out;
}

/** The document's intermediate objects (chunks, vectors), removed when it is deleted. */
async function removeIntermediates(store: ObjectStore, documentId: string): Promise<void> {
  const keys: string[] = [];
  for await (const object of store.list(ingestPrefix(documentId))) keys.push(object.key);
  for (const key of keys) await store.delete(key);
}

/** Reads an intermediate object; undefined when it is gone (the document was deleted since). */
async function readObject(store: ObjectStore, key: string): Promise<Uint8Array | undefined> {
  try {
    return await store.get(key);
  } catch (error) {
    if (isMissingObject(error)) return undefined;
    throw error;
  }
}

const keyOf = (record: Record) => record.key?.toString("utf8") ?? "";
/** The original's key a tombstone names in its header, where the API set one. */
function objectKeyOf(record: Record): string | undefined {
  for (const [name, value] of record.headers ?? [])
    if (name.toString("utf8") === OBJECT_KEY_HEADER) return value.toString("utf8") || undefined;
  return undefined;
}
const isTombstone = (record: Record) => !record.value || record.value.length === 0;

/** One role's consumer: its group, its input topic, and what it does with a record. */
class RoleConsumer {
  private consumer?: Consumer<Buffer, Buffer, Buffer, Buffer>;
  private stream?: Awaited<ReturnType<Consumer<Buffer, Buffer, Buffer, Buffer>["consume"]>>;
  private loop?: Promise<void>;
  private closing = false;
  private readonly topic: string;
  private readonly group: string;

  /** @param input another topic and group than the role's own (the primary's relay, beside index) */
  constructor(
    readonly role: Role,
    private readonly ctx: RoleContext,
    private readonly handle: (record: Record) => Promise<Outcome>,
    private readonly giveUp: (record: Record, reason: string) => Promise<void>,
    input?: { readonly topic: string; readonly group: string },
  ) {
    this.topic = input?.topic ?? inputTopic(ctx.bus.topics, role);
    this.group = input?.group ?? groupOf(ctx.config, role);
  }

  async start(): Promise<void> {
    const { config, bus } = this.ctx;
    this.consumer = new Consumer({
      ...bus.connection,
      clientId: `${config.SERVICE_NAME}-${this.role}`,
      groupId: this.group,
      sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 10),
      rebalanceTimeout: config.KAFKA_SESSION_TIMEOUT_MS * 2,
    });
    this.stream = await this.consumer.consume({
      topics: [this.topic],
      mode: "committed",
      fallbackMode: "earliest",
      autocommit: false,
    });
    this.stream.on("error", (error) =>
      this.ctx.log?.warn({ err: error, role: this.role }, "Kafka consumer error"),
    );
    this.loop = this.run();
  }

  /** One chain per partition (its records in order), at most WORKER_CONCURRENCY records at once. */
  private async run(): Promise<void> {
    const tails = new Map<number, Promise<void>>();
    const inFlight = new Set<Promise<void>>();
    try {
      for await (const record of this.stream!) {
        if (this.closing) break;
        while (inFlight.size >= this.ctx.config.WORKER_CONCURRENCY) await Promise.race(inFlight);
        const task = (tails.get(record.partition) ?? Promise.resolve()).then(() =>
          this.process(record),
        );
        tails.set(record.partition, task);
        inFlight.add(task);
        void task.finally(() => {
          inFlight.delete(task);
          if (tails.get(record.partition) === task) tails.delete(record.partition);
        });
      }
    } catch (error) {
      if (!this.closing)
        this.ctx.log?.error({ err: error, role: this.role }, "the Kafka consumer stopped");
    }
    await Promise.all(inFlight);
  }

  /** Handles a record in a consumer span continuing its producer's trace (the record's headers). */
  private process(record: Record): Promise<void> {
    return traced(
      `process ${record.topic}`,
      { ...kafkaAttributes("process", record.topic, keyOf(record)), "rag.role": this.role },
      () => this.processTraced(record),
      { kind: SpanKind.CONSUMER, parent: contextOfHeaders(record.headers) },
    );
  }

  private async processTraced(record: Record): Promise<void> {
    if (this.closing) return; // left uncommitted: the group hands it to another consumer
    const { config, metrics, log } = this.ctx;
    const attempts = config.INGEST_ATTEMPTS;
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.handle(record);
        metrics.kafkaRecords.inc({ role: this.role, outcome });
        break;
      } catch (error) {
        if (this.closing) return;
        const permanent = error instanceof UnreadableRecordError;
        const fields = {
          role: this.role,
          documentId: keyOf(record),
          attempt,
          attempts,
          err: error,
        };
        if (!permanent && attempt < attempts) {
          log?.warn(fields, "handling a record failed: it will be tried again");
          await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** (attempt - 1)));
          continue;
        }
        log?.error(fields, "handling a record failed for good: it goes to the dead-letter topic");
        const reason = permanent ? error.message : publicFailureReason(attempts);
        if (!(await this.giveUpUntilDone(record, reason))) return;
        metrics.kafkaRecords.inc({ role: this.role, outcome: "failed" });
        break;
      }
    }
    metrics.kafkaRecordSeconds.observe({ role: this.role }, (performance.now() - started) / 1000);
    try {
      await record.commit();
    } catch (error) {
      // The partition went to another consumer meanwhile: it handles the record again, to the same result.
      log?.warn({ err: error, role: this.role }, "could not commit an offset");
    }
  }

  /** Dead-letters the record, retrying while the bus or database is away; false when closing first. */
  private async giveUpUntilDone(record: Record, reason: string): Promise<boolean> {
    for (let delayMs = 1000; ; delayMs = Math.min(delayMs * 2, 30_000)) {
      try {
        await this.giveUp(record, reason);
        return true;
      } catch (error) {
        if (this.closing) return false;
        this.ctx.log?.error(
          { err: error, role: this.role },
          "could not dead-letter a record: trying again",
        );
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  /** Stops fetching, lets records in hand finish (those in a retry wait stay uncommitted), leaves the group. */
  async close(): Promise<void> {
    this.closing = true;
    const stream = this.stream;
    if (stream) await new Promise<void>((r) => stream.close(() => r()));
    await this.loop;
    const consumer = this.consumer;
    if (consumer) await new Promise<void>((r) => consumer.close(true, () => r()));
  }
}

/** The dead-letter record of `record`, handled by `stage`, and why it was given up. */
function deadLetterOf(record: Record, stage: Role, reason: string): DeadLetter {
  return {
    schema: SCHEMA_VERSION,
    documentId: keyOf(record) || null,
    stage,
    reason,
    topic: record.topic,
    partition: record.partition,
    offset: record.offset.toString(),
    value: record.value ? record.value.toString("utf8") : null,
    failedAt: new Date().toISOString(),
  };
}

/** Sends `record`, given up by `stage`, to the dead-letter topic with the reason. */
function sendDeadLetter(bus: KafkaBus, record: Record, stage: Role, reason: string) {
  return bus.send(
    bus.topics.deadLetter,
    keyOf(record),
    encode(deadLetterOf(record, stage, reason)),
  );
}

/** The stage's document, when the record can be read: what a failure downstream is recorded for. */
function documentOf(record: Record, topic: string): DocumentEvent | undefined {
  try {
    if (isTombstone(record)) return undefined;
    const parsed = topic.endsWith("documents")
      ? decode(documentEvent, record.value, topic)
      : decode(stageRecord, record.value, topic);
    return "document" in parsed
      ? parsed.document
      : "documentId" in parsed && "contentHash" in parsed
        ? parsed
        : undefined;
  } catch {
    return undefined;
  }
}

function parseRole(ctx: RoleContext): RoleConsumer {
  const { bus, store } = ctx;
  const parser = opened(ctx.parser, "parse", "the parser");
  const next = bus.topics.parsed;
  const send = (id: string, value: StageRecord) => bus.send(next, id, encode(value));
  const deadLetter = async (record: Record, reason: string) => {
    await sendDeadLetter(bus, record, "parse", reason);
    const document = documentOf(record, record.topic);
    if (document)
      await send(document.documentId, { schema: SCHEMA_VERSION, type: "failed", document, reason });
  };
  return new RoleConsumer(
    "parse",
    ctx,
    async (record) => {
      const id = keyOf(record);
      if (isTombstone(record)) {
        await removeIntermediates(store, id);
        const objectKey = objectKeyOf(record);
        await send(id, {
          schema: SCHEMA_VERSION,
          type: "delete",
          documentId: id,
          ...(objectKey ? { objectKey } : {}),
        });
        return "deleted";
      }
      const document = decode(documentEvent, record.value, record.topic);
      let chunks: Chunk[];
      let pii: PiiFindings | undefined;
      try {
        ({ chunks, pii } = await parser.parse({
          name: document.name,
          content_type: document.contentType,
          object_key: document.objectKey,
        }));
      } catch (error) {
        if (isMissingObject(error)) return "skipped"; // deleted since: its tombstone follows
        if (!(error instanceof ParseError)) throw error;
        await deadLetter(record, error.message);
        return "failed";
      }
      const key = chunksKey(document);
      await store.put(key, encode(chunks), "application/json");
      await send(id, {
        schema: SCHEMA_VERSION,
        type: "chunks",
        document,
        chunksKey: key,
        chunkCount: chunks.length,
        ...(pii ? { pii } : {}),
      });
      return "forwarded";
    },
    deadLetter,
  );
}

function embedRole(ctx: RoleContext): RoleConsumer {
  const { bus, store } = ctx;
  const embedding = opened(ctx.embedding, "embed", "the embedder");
  const { embedder } = embedding;
  const next = bus.topics.embedded;
  const send = (id: string, value: StageRecord) => bus.send(next, id, encode(value));
  return new RoleConsumer(
    "embed",
    ctx,
    async (record) => {
      const r = decode(stageRecord, record.value, record.topic);
      switch (r.type) {
        case "delete":
          await removeIntermediates(store, r.documentId);
          await send(r.documentId, r);
          return "deleted";
        case "failed":
          await send(r.document.documentId, r);
          return "failed";
        case "chunks": {
          const bytes = await readObject(store, r.chunksKey);
          if (!bytes) return "skipped";
          const chunks = JSON.parse(Buffer.from(bytes).toString("utf8")) as Chunk[];
          const vectors = await embedding.embed(chunks);
          const key = vectorsKey(r.document, embedder.id);
          await store.put(key, vectorsToBytes(vectors), "application/octet-stream");
          await send(r.document.documentId, { ...r, vectorsKey: key, embedder: embedder.id });
          return "forwarded";
        }
        default: {
          const unknown: never = r;
          throw new UnreadableRecordError(`unknown record ${JSON.stringify(unknown)}`);
        }
      }
    },
    async (record, reason) => {
      await sendDeadLetter(bus, record, "embed", reason);
      const document = documentOf(record, record.topic);
      if (document)
        await send(document.documentId, {
          schema: SCHEMA_VERSION,
          type: "failed",
          document,
          reason,
        });
    },
  );
}

/**
 * A delete reaching the index role: as DocumentService.delete, less the original (the uploading
 * region's API removed it). The row is claimed first, as the API's delete does (claimForDelete):
 * a legal hold in this catalogue (a region whose catalogue is built from the log, holding what
 * another region deleted) keeps the document here whole, and nothing is removed; otherwise no hold
 * can be set on it from then on. A document not in this catalogue (or gone already) is cleared
 * from the indexes all the same. `vectorsOnly` (a region on the primary's catalogue, indexWrites):
 * the row is the primary's to claim and delete; this region clears its vectors and copies.
 */
export async function indexDelete(
  ctx: {
    readonly db: Db;
    readonly store: ObjectStore;
    readonly vectors: VectorIndex;
    readonly log?: WorkerLog;
  },
  r: { readonly documentId: string; readonly objectKey?: string },
  vectorsOnly = false,
): Promise<"deleted" | "held"> {
  const { db, store, vectors } = ctx;
  if (vectorsOnly) await vectors.deleteDocument(r.documentId);
  else {
    try {
      await claimForDelete(db, r.documentId);
    } catch (error) {
      if (!(error instanceof LegalHoldError)) throw error;
      ctx.log?.warn(
        { documentId: r.documentId, hold: { scope: error.hold.scope, target: error.hold.target } },
        "a delete reached a document under legal hold in this catalogue: kept whole",
      );
      return "held";
    }
    await vectors.deleteDocument(r.documentId);
    await db.query("DELETE FROM documents WHERE id = $1", [r.documentId]);
    await foldPendingTermStats(db);
  }
  await removeIntermediates(store, r.documentId);
  // The cloud copies writes to this region's replica, not the removal of a version: the
  // region removes its own copies (the API removed the store's).
  if (store instanceof ReplicatedObjectStore)
    await store.removeFromReplica(r.objectKey ? [r.objectKey] : [], [ingestPrefix(r.documentId)]);
  return "deleted";
}

function indexRole(ctx: RoleContext): RoleConsumer {
  const { config, bus, store, metrics } = ctx;
  const { db, pipeline, embedder, vectors } = opened(
    ctx.index,
    "index",
    "the catalogue and the vector store",
  );
  /** A region whose catalogue is built from the log adds the document's row (the API's region has it). */
  const catalogue = async (document: DocumentEvent) => {
    if (config.KAFKA_CATALOGUE !== "log") return;
    await db.query(
      `INSERT INTO documents (id, name, content_type, content_hash, size_bytes, object_key, metadata, status, created_at, classification, access_groups)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'queued', $8, $9, $10::text[]) ON CONFLICT DO NOTHING`,
      [
        document.documentId,
        document.name,
        document.contentType,
        document.contentHash,
        document.sizeBytes,
        document.objectKey,
        JSON.stringify(document.metadata),
        document.createdAt,
        document.classification ?? Classification.of(config).defaultLabel,
        document.accessGroups,
      ],
    );
  };
  // Outside the primary on its shared catalogue: only this region's vectors (indexWrites).
  const vectorsOnly = indexWrites(config) === "vectors";
  const markFailed = async (document: DocumentEvent, reason: string) => {
    if (vectorsOnly) return; // the primary's index role records it
    await catalogue(document);
    await pipeline.markFailed(document.documentId, reason);
    metrics.ingested.inc({ outcome: "failed" });
  };
  return new RoleConsumer(
    "index",
    ctx,
    async (record) => {
      const r = decode(stageRecord, record.value, record.topic);
      switch (r.type) {
        case "delete":
          return indexDelete({ db, store, vectors, log: ctx.log }, r, vectorsOnly);
        case "failed":
          await markFailed(r.document, r.reason);
          return "failed";
        case "chunks": {
          if (!r.vectorsKey || r.embedder !== embedder.id)
            throw new UnreadableRecordError(
              `the record's vectors come from ${r.embedder ?? "no model"}, this index takes ${embedder.id}`,
            );
          const [chunkBytes, vectorBytes] = await Promise.all([
            readObject(store, r.chunksKey),
            readObject(store, r.vectorsKey),
          ]);
          if (!chunkBytes || !vectorBytes) return "skipped";
          const chunks = JSON.parse(Buffer.from(chunkBytes).toString("utf8")) as Chunk[];
          const embedded = vectorsFromBytes(vectorBytes, embedder.dimensions);
          if (vectorsOnly) {
            const status = await pipeline.writeVectors(
              r.document.documentId,
              chunks,
              embedded,
              r.pii,
            );
            return status === "skipped" ? "skipped" : "indexed";
          }
          await catalogue(r.document);
          const status = await pipeline.write(r.document.documentId, chunks, embedded, r.pii);
          if (status === "skipped") return "skipped";
          metrics.ingested.inc({ outcome: "ready" });
          return "indexed";
        }
        default: {
          const unknown: never = r;
          throw new UnreadableRecordError(`unknown record ${JSON.stringify(unknown)}`);
        }
      }
    },
    async (record, reason) => {
      await sendDeadLetter(bus, record, "index", reason);
      const document = documentOf(record, record.topic);
      if (document) await markFailed(document, reason);
    },
  );
}

/**
 * The primary's relay, beside its index role (which holds the catalogue): another region's uploads
 * and deletes (its uploads topic, replicated here) onto the documents topic. An upload is
 * published as its row is now in the catalogue, so one deleted meanwhile is not brought back; a
 * delete is published as it came.
 */
function relayRole(ctx: RoleContext): RoleConsumer {
  const { bus } = ctx;
  return new RoleConsumer(
    "index",
    ctx,
    async (record) => {
      const r = decode(uploadRecord, record.value, record.topic);
      switch (r.type) {
        case "upsert":
          await bus.publish(r.documentId);
          return "forwarded";
        case "delete":
          await bus.removed(r.documentId, r.objectKey);
          return "deleted";
        default: {
          const unknown: never = r;
          throw new UnreadableRecordError(`unknown record ${JSON.stringify(unknown)}`);
        }
      }
    },
    async (record, reason) => {
      await sendDeadLetter(bus, record, "index", reason);
    },
    { topic: bus.topics.uploads, group: relayGroupOf(ctx.config) },
  );
}

const BUILDERS: { [R in Role]: (ctx: RoleContext) => RoleConsumer } = {
  parse: parseRole,
  embed: embedRole,
  index: indexRole,
};

/** Starts the roles' consumers; `close` stops them (records in hand finish first). */
export async function startRoles(
  roles: readonly Role[],
  ctx: RoleContext,
): Promise<{ close(): Promise<void> }> {
  const consumers = roles.map((role) => BUILDERS[role](ctx));
  // The primary relays the other regions' uploads; a region that forwards its own relays none.
  if (roles.includes("index") && writesCatalogue(ctx.config)) consumers.push(relayRole(ctx));
  ctx.metrics.watchKafkaLag(async () =>
    Object.fromEntries(
      await Promise.all(
        roles.map(async (role): Promise<[Role, number]> => [role, await ctx.bus.lag(role)]),
      ),
    ),
  );
  try {
    for (const consumer of consumers) await consumer.start();
  } catch (error) {
    await Promise.all(consumers.map((c) => c.close()));
    throw error;
  }
  ctx.log?.info(
    { roles, groups: roles.map((r) => groupOf(ctx.config, r)) },
    "Kafka ingest roles started",
  );
  return {
    async close() {
      await Promise.all(consumers.map((c) => c.close()));
    },
  };
}
