/**
 * Builds every backend from the validated config, once: database (+ migrations), object store,
 * queue, embedder, generator, vector index, retriever, ingest pipeline, document catalogue.
 */
import { type AuditLog, auditLogOf } from "./audit";
import { Classification } from "./auth/access";
import type { RuntimeConfig } from "./config";
import { type Db, openDb } from "./db/db";
import { IndexMaintenance } from "./db/maintenance";
import { ensureVectorTable, migrate, type SchemaInfo } from "./db/schema";
import { DocumentService, REQUEUE_AFTER_MS } from "./ingest/documents";
import { logFailedAttempt, publicFailureReason } from "./ingest/failures";
import { parseLimitsOf } from "./ingest/parse-limits";
import { type IngestOptions, IngestPipeline, type StageObserver } from "./ingest/pipeline";
import { Metrics } from "./metrics";
import {
  createEmbedder,
  type Embedder,
  LOCAL_EMBEDDER_ID,
  LOCAL_VECTOR_WEIGHT,
} from "./models/embedder";
import { createModelRoutes, type Generator, type ModelRoutes } from "./models/generator";
import type { KafkaBus } from "./kafka/bus";
import { writesCatalogue } from "./kafka/events";
import { BullMqQueue } from "./queue/bullmq";
import { BACKOFF_MS, InProcessQueue, type IngestQueue, redisConfigured } from "./queue/queue";
import { QdrantHybridIndex } from "./search/qdrant-hybrid";
import { HttpReranker } from "./search/rerank";
import { Bm25MemoryIndex } from "./search/bm25-memory";
import { Retriever } from "./search/retrieve";
import { loadTokenizer } from "./search/tokenize";
import { PostgresVectorIndex, QdrantVectorIndex, type VectorIndex } from "./search/vector-index";
import { createObjectStore, type ObjectStore } from "./storage/object-store";
import { ReplicatedObjectStore, withReplica } from "./storage/replicated-store";
import { sweepOrphans, sweepPeriodically } from "./storage/sweeper";
import { hasRules, purgeExpired, type RetentionRules } from "./retention/purge";

/** Where a worker's background tasks report: the process's logger. */
export interface WorkerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface Services {
  readonly config: RuntimeConfig;
  readonly db: Db;
  readonly store: ObjectStore;
  readonly queue: IngestQueue;
  readonly embedder: Embedder;
  /** The "default" route's generator. */
  readonly generator: Generator;
  /** Every model route, "default" included. */
  readonly routes: ModelRoutes;
  readonly vectors: VectorIndex;
  readonly retriever: Retriever;
  readonly pipeline: IngestPipeline;
  readonly documents: DocumentService;
  readonly metrics: Metrics;
  /** Audit events (audit.ts): the API's requests and the worker's purges. */
  readonly audit: AuditLog;
  /** The retention rules of the configuration (retention/purge.ts). */
  readonly retention: RetentionRules;
  /** Embedded mode only (PGlite has no autovacuum): vacuums the search tables once changes settle. */
  readonly maintenance: IndexMaintenance | undefined;
  /** What the service found at start that an operator must act on (each a log line). */
  readonly warnings: readonly string[];
  /**
   * Consume ingest jobs in this process (worker, or embedded mode). In the background, documents
   * left unfinished are queued again, orphaned originals swept (now, then hourly), and with a
   * retention rule, expired documents purged (now, then every PURGE_INTERVAL_MINUTES); `log`
   * hears of each.
   */
  startWorker(log?: WorkerLog): Promise<void>;
  close(): Promise<void>;
}

/** What a worker process holds: what it consumes with, reports and closes. */
export type WorkerServices = Pick<
  Services,
  "config" | "queue" | "metrics" | "warnings" | "startWorker" | "close"
>;

/**
 * A worker's services, as its role uses them: on the Kafka bus, parse and embed open no catalogue
 * (kafka/stage-services.ts); index, all roles, and the BullMQ worker open everything.
 */
export async function createWorkerServices(config: RuntimeConfig): Promise<WorkerServices> {
  const role = config.WORKER_ROLE;
  if (config.INGEST_BUS === "kafka" && (role === "parse" || role === "embed"))
    return (await import("./kafka/stage-services.js")).createStageServices(config, role);
  return createServices(config);
}

/**
 * The vector index for the configured embedder: the Postgres table (refused when it was built with
 * another model, unless `rebuild`: then emptied for re-embedding, with the Qdrant collection made
 * afresh too), the Qdrant collection, or with SEARCH_BACKEND=qdrant the hybrid collection (the
 * table then only records the model). Says which model the index held before.
 */
export async function openVectorIndex(
  config: RuntimeConfig,
  db: Db,
  schema: SchemaInfo,
  embedder: Embedder,
  options: { rebuild?: boolean } = {},
): Promise<{ index: VectorIndex; previous?: string; rebuilt: boolean }> {
  // In WASM PGlite an HNSW insert costs ~16 ms per vector (most of ingest), while an exact scan
  // costs ~4 ms per 1 000 vectors per query: embedded mode scans unless told otherwise.
  const table = await ensureVectorTable(
    db,
    schema,
    { id: embedder.id, dimensions: embedder.dimensions },
    config.VECTOR_INDEX ?? (db.kind === "pglite" ? "exact" : "hnsw"),
    options,
  );
  const index =
    config.SEARCH_BACKEND === "qdrant"
      ? await QdrantHybridIndex.connect({
          url: config.QDRANT_URL!,
          apiKey: config.QDRANT_API_KEY,
          collection: config.QDRANT_COLLECTION,
          model: embedder.id,
          dimensions: embedder.dimensions,
          tenant: config.TENANT_ID,
          averageLength: config.CHUNK_SIZE_TOKENS,
          recreate: table.rebuilt,
          shards: config.QDRANT_SHARDS,
          replicationFactor: config.QDRANT_REPLICATION_FACTOR,
          writeConsistency: config.QDRANT_WRITE_CONSISTENCY,
        })
      : config.VECTOR_STORE === "qdrant"
        ? await QdrantVectorIndex.connect({
            url: config.QDRANT_URL!,
            apiKey: config.QDRANT_API_KEY,
            collection: config.QDRANT_COLLECTION,
            dimensions: embedder.dimensions,
            recreate: table.rebuilt,
            replicationFactor: config.QDRANT_REPLICATION_FACTOR,
          })
        : new PostgresVectorIndex(schema.pgvector ? "pgvector" : "exact-scan");
  return { index, ...table };
}

/**
 * A Qdrant collection that had to be created while the database holds indexed chunks (Qdrant's
 * storage was lost, or the service points at another Qdrant): vector search finds none of them,
 * and nothing else would say so, since BM25 still answers. Says how to rebuild it.
 */
export async function missingVectorsWarning(
  db: Db,
  index: VectorIndex,
): Promise<string | undefined> {
  if (!(index instanceof QdrantVectorIndex || index instanceof QdrantHybridIndex)) return undefined;
  if (!index.created) return undefined;
  const [row] = await db.query<{ chunks: number }>(
    "SELECT count(*)::int AS chunks FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.status = 'ready'",
  );
  const chunks = row?.chunks ?? 0;
  if (chunks === 0) return undefined;
  const finds = index.kind === "qdrant-hybrid" ? "search" : "vector search";
  return `the Qdrant collection "${index.collection}" did not exist and was created empty, but the database holds ${chunks} indexed chunks: ${finds} finds none of them until the vectors are rebuilt (node dist/reembed.js; npm run reembed -w runtime) with the API and workers stopped`;
}

/** How documents are parsed and chunked, as configured (chunk sizes, parse limits, PII). */
export function ingestOptionsOf(config: RuntimeConfig): IngestOptions {
  return {
    sizeWords: config.CHUNK_SIZE_TOKENS,
    overlapWords: config.CHUNK_OVERLAP_TOKENS,
    parseLimits: parseLimitsOf(config),
    ...(config.PII_DETECT
      ? {
          pii: {
            entities: config.PII_ENTITIES,
            redact: config.PII_REDACT,
            raiseTo: config.PII_RAISE_TO,
            classification: Classification.of(config),
          },
        }
      : {}),
  };
}

/** Each ingest stage's time, into rag_ingest_stage_seconds. */
export const observeStages =
  (metrics: Metrics): StageObserver =>
  (stage, ms) =>
    metrics.ingestStage.observe({ stage }, ms / 1000);

/** The object store, with this region's replica read first when there is one. */
export function objectStoreOf(config: RuntimeConfig): ObjectStore {
  return withReplica(
    createObjectStore(config.OBJECT_STORE_URL, config.DATA_DIR),
    config.OBJECT_STORE_REPLICA_URL
      ? createObjectStore(config.OBJECT_STORE_REPLICA_URL, config.DATA_DIR)
      : undefined,
  );
}

export async function createServices(config: RuntimeConfig): Promise<Services> {
  await loadTokenizer();
  let queueRef: IngestQueue | undefined;
  const metrics = new Metrics(async () => (queueRef ? queueRef.depth() : 0));
  const db = await openDb(config);
  try {
    const schema = await migrate(db, {
      requirePgvector: config.REQUIRE_PGVECTOR,
      classificationDefault: Classification.of(config).defaultLabel,
    });
    const embedder = await createEmbedder(config);
    const { index: vectors } = await openVectorIndex(config, db, schema, embedder);
    const missingVectors = await missingVectorsWarning(db, vectors);
    const store = objectStoreOf(config);
    const retry = { attempts: config.INGEST_ATTEMPTS, backoffMs: BACKOFF_MS };
    const queue: IngestQueue =
      config.INGEST_BUS === "kafka"
        ? // Loaded only for the Kafka bus: its clients and cloud signers stay out of other processes.
          await (await import("./kafka/bus.js")).KafkaBus.open(config, db, retry)
        : redisConfigured(config)
          ? new BullMqQueue(config, config.QUEUE_LOCK_MS, retry)
          : new InProcessQueue(config.WORKER_CONCURRENCY, retry);
    const reranker = config.RERANK_URL
      ? new HttpReranker(config.RERANK_URL, config.RERANK_API_KEY)
      : undefined;
    const weights = {
      bm25: config.FUSION_BM25_WEIGHT,
      vector:
        config.FUSION_VECTOR_WEIGHT ??
        (embedder.id === LOCAL_EMBEDDER_ID ? LOCAL_VECTOR_WEIGHT : 1),
    };
    // Qdrant's sparse vectors hold BM25 when it holds the lexical half: no postings to copy.
    const bm25Memory = config.BM25_MEMORY && !vectors.lexical ? new Bm25MemoryIndex(db) : undefined;
    if (bm25Memory) {
      metrics.watchBm25Memory(() => bm25Memory.chunks);
      bm25Memory.log = (e) => metrics.bm25MemoryEvents.inc({ event: e.event });
    }
    const retriever = new Retriever(
      db,
      embedder,
      vectors,
      reranker,
      weights,
      (stage, ms) => metrics.retrievalStage.observe({ stage: stage.replace("Ms", "") }, ms / 1000),
      (stage) => metrics.retrievalDegraded.inc({ stage }),
      bm25Memory,
    );
    const pipeline = new IngestPipeline(
      db,
      store,
      embedder,
      vectors,
      ingestOptionsOf(config),
      observeStages(metrics),
    );
    const maintenance =
      db.kind === "pglite"
        ? new IndexMaintenance(db, 1000, (outcome, seconds) =>
            metrics.maintenance.observe({ outcome }, seconds),
          )
        : undefined;
    const documents = new DocumentService(db, store, queue, vectors, {
      onDeleted: () => maintenance?.changed(),
      onEnqueueFailed: () => metrics.requeued.inc({ outcome: "queue_unavailable" }),
      parseLimits: parseLimitsOf(config),
      classification: Classification.of(config),
    });
    const audit = auditLogOf(config, () => metrics.auditFailures.inc());
    if (config.AUDIT_KAFKA_TOPIC && queue.kind === "kafka")
      audit.addSink(
        (queue as KafkaBus).auditSink(config.AUDIT_KAFKA_TOPIC, () => metrics.auditFailures.inc()),
      );
    const routes = createModelRoutes(config);
    let sweep: NodeJS.Timeout | undefined;
    let resuming: Promise<void> | undefined;
    let orphanSweeps: { stop(): Promise<void> } | undefined;
    let roles: { close(): Promise<void> } | undefined;
    let purges: { stop(): Promise<void> } | undefined;
    const retention: RetentionRules = {
      byCollection: config.RETENTION_DAYS_BY_COLLECTION ?? new Map(),
      byLabel: config.RETENTION_DAYS_BY_LABEL ?? new Map(),
    };
    queueRef = queue;
    /**
     * Orphaned originals swept now, then hourly; `log` hears of each outcome. `replicaOnly`: this
     * region's replica alone (the store it writes to is another region's to sweep).
     */
    const startOrphanSweeps = (log?: WorkerLog, replicaOnly = false) =>
      sweepPeriodically(
        async () => {
          const graceMs = config.ORPHAN_GRACE_MINUTES * 60_000;
          if (replicaOnly)
            return store instanceof ReplicatedObjectStore
              ? sweepOrphans(db, store.replica, graceMs)
              : { removed: [], failed: [] };
          const swept = await sweepOrphans(db, store, graceMs);
          if (!(store instanceof ReplicatedObjectStore)) return swept;
          // A copy the cloud made after its document's delete reached this region.
          const replica = await sweepOrphans(db, store.replica, graceMs);
          return {
            removed: [...swept.removed, ...replica.removed],
            failed: [...swept.failed, ...replica.failed],
          };
        },
        (outcome) => {
          if (outcome instanceof Error)
            return log?.warn({ err: outcome }, "could not sweep orphaned originals");
          metrics.orphansRemoved.inc(outcome.removed.length);
          if (outcome.removed.length > 0)
            log?.info(
              { count: outcome.removed.length, keys: outcome.removed },
              "removed orphaned originals",
            );
          if (outcome.failed.length > 0)
            log?.warn({ failed: outcome.failed }, "could not remove orphaned originals");
        },
      );
    /** With a retention rule, expired documents purged now, then every PURGE_INTERVAL_MINUTES. */
    const startPurges = (log?: WorkerLog) =>
      hasRules(retention)
        ? sweepPeriodically(
            () => purgeExpired(db, documents, retention, { audit }),
            (outcome) => {
              if (outcome instanceof Error)
                return log?.warn({ err: outcome }, "could not run the retention purge");
              metrics.purged.inc({ outcome: "removed" }, outcome.removed.length);
              metrics.purged.inc({ outcome: "held" }, outcome.held.length);
              metrics.purged.inc({ outcome: "failed" }, outcome.failed.length);
              if (outcome.removed.length > 0)
                log?.info(
                  { count: outcome.removed.length, documents: outcome.removed },
                  "retention purge removed expired documents",
                );
              if (outcome.held.length > 0)
                log?.info(
                  { count: outcome.held.length, documents: outcome.held },
                  "retention purge kept expired documents under legal hold",
                );
              if (outcome.failed.length > 0)
                log?.warn({ failed: outcome.failed }, "retention purge could not remove documents");
            },
            config.PURGE_INTERVAL_MINUTES * 60_000,
          )
        : undefined;
    return {
      config,
      db,
      store,
      queue,
      embedder,
      generator: routes.pick()!,
      routes,
      vectors,
      retriever,
      pipeline,
      documents,
      metrics,
      audit,
      retention,
      maintenance,
      warnings: missingVectors ? [missingVectors] : [],
      async startWorker(log) {
        if (queue.kind === "kafka") {
          const { ROLES } = await import("./kafka/events.js");
          const { startRoles } = await import("./kafka/roles.js");
          const role = config.WORKER_ROLE;
          const started = role === "all" ? ROLES : [role];
          roles = await startRoles(started, {
            config,
            bus: queue as KafkaBus,
            store,
            metrics,
            log,
            parser: pipeline.parser,
            embedding: pipeline.embedding,
            index: { db, pipeline, embedder, vectors },
          });
          // The catalogue's upkeep runs in one place: the index role of the region that writes
          // the catalogue. Elsewhere the index role sweeps only its region's replica.
          if (!started.includes("index")) return;
          const writer = writesCatalogue(config);
          // The log holds every document's work: none is queued again at start. Only an upload
          // whose event could not be published stays queued; once the region's groups have
          // nothing left to consume, the index role publishes those again.
          if (writer && config.KAFKA_CATALOGUE === "api") {
            sweep = setInterval(() => {
              queue
                .depth()
                .then((depth) => (depth === 0 ? documents.requeueStale() : 0))
                .then(
                  (n) => metrics.requeued.inc({ outcome: "swept" }, n),
                  () => undefined, // the bus or database is away: the next sweep tries again
                );
            }, REQUEUE_AFTER_MS);
            sweep.unref();
          }
          orphanSweeps = startOrphanSweeps(log, !writer);
          if (writer) purges = startPurges(log);
          return;
        }
        queue.consume(
          async (id, attempt) => {
            let result: Awaited<ReturnType<typeof pipeline.process>>;
            try {
              result = await pipeline.process(id, attempt);
            } catch (error) {
              const of = queue.retry.attempts;
              await logFailedAttempt(db, log, { documentId: id, attempt, of, error });
              throw error;
            }
            if (result.status !== "skipped") metrics.ingested.inc({ outcome: result.status });
            if (result.status === "ready") maintenance?.changed();
          },
          async (id) => {
            await pipeline.markFailed(id, publicFailureReason(queue.retry.attempts));
            metrics.ingested.inc({ outcome: "failed" });
          },
        );
        // Documents queued while no worker ran, or left by a worker that died mid-document: queued
        // behind the start, which does not wait for them (an embedded process serves meanwhile).
        resuming = (async () => {
          const unfinished = await documents.unfinished();
          if (unfinished.length > 0)
            log?.info({ documents: unfinished.length }, "resuming unfinished documents");
          for (const id of unfinished) await queue.enqueue(id);
        })().catch((error: unknown) =>
          // BullMQ keeps the jobs it had, and the sweep below queues what is left queued.
          log?.warn({ err: error }, "could not queue the unfinished documents again"),
        );
        // And, while running, documents whose upload could not queue their job (the queue was out of reach).
        sweep = setInterval(() => {
          documents.requeueStale().then(
            (n) => metrics.requeued.inc({ outcome: "swept" }, n),
            () => undefined, // the queue or database is still away: the next sweep tries again
          );
        }, REQUEUE_AFTER_MS);
        sweep.unref();
        orphanSweeps = startOrphanSweeps(log);
        purges = startPurges(log);
      },
      async close() {
        clearInterval(sweep);
        await roles?.close();
        await orphanSweeps?.stop();
        await purges?.stop();
        await resuming;
        // Before the queue: the Kafka audit sink sends through the bus's producer.
        await audit.close();
        await queue.close();
        await maintenance?.close();
        retriever.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}
