/**
 * Prometheus metrics: request latency, ingest durations, queue depth, retrieval timings, embedded
 * index maintenance, single sign-on session checks, audit sink failures, retention purges.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: "rag_http_request_duration_seconds",
    help: "HTTP request latency by route, method and status.",
    labelNames: ["route", "method", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly ingestStage = new Histogram({
    name: "rag_ingest_stage_duration_seconds",
    help: "Time spent per ingest stage (parse, embed, index).",
    labelNames: ["stage"],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly ingested = new Counter({
    name: "rag_documents_ingested_total",
    help: "Documents indexed, by outcome.",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly requeued = new Counter({
    name: "rag_ingest_requeues_total",
    help: "Ingest jobs queued outside an upload, by outcome: queue_unavailable (an upload's job could not be queued), swept (the worker's sweep queued a stale document).",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly orphansRemoved = new Counter({
    name: "rag_orphaned_originals_removed_total",
    help: "Originals the sweep removed from the object store: no document named them, and they were older than ORPHAN_GRACE_MINUTES.",
    registers: [this.registry],
  });
  readonly retrievalStage = new Histogram({
    name: "rag_retrieval_stage_duration_seconds",
    help: "Time spent per retrieval stage (bm25, vector, hybrid, rerank).",
    labelNames: ["stage"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly retrievalDegraded = new Counter({
    name: "rag_retrieval_degraded_total",
    help: "Queries answered without a failing optional stage, by stage: vector (BM25 alone), rerank (the fused order).",
    labelNames: ["stage"],
    registers: [this.registry],
  });
  readonly maintenance = new Histogram({
    name: "rag_index_maintenance_duration_seconds",
    help: "VACUUM (ANALYZE) runs of the search tables in embedded mode, by outcome.",
    labelNames: ["outcome"],
    buckets: [0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly ssoSessionChecks = new Counter({
    name: "rag_sso_session_checks_total",
    help: "Checks of single sign-on sessions at the identity provider, by outcome (refreshed, ended, unreachable).",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly auditFailures = new Counter({
    name: "rag_audit_sink_failures_total",
    help: "Audit events a sink failed to write (the request went on; the log has the cause).",
    registers: [this.registry],
  });
  readonly purged = new Counter({
    name: "rag_retention_purged_total",
    help: "Documents the retention purge handled, by outcome (removed, held, failed).",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly kafkaRecords = new Counter({
    name: "rag_kafka_records_total",
    help: "Records a Kafka ingest role handled, by role (parse, embed, index) and outcome (forwarded, indexed, deleted, held, failed, skipped).",
    labelNames: ["role", "outcome"],
    registers: [this.registry],
  });
  readonly kafkaRecordSeconds = new Histogram({
    name: "rag_kafka_record_duration_seconds",
    help: "Time from taking a record to committing its offset, by Kafka ingest role.",
    labelNames: ["role"],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly bm25MemoryEvents = new Counter({
    name: "rag_bm25_memory_events_total",
    help: "What BM25's in-memory copy did, by event: loaded, failed (a load or catch-up; the SQL plan answered), compacted.",
    labelNames: ["event"],
    registers: [this.registry],
  });
  private bm25MemorySource?: () => number;
  readonly bm25MemoryChunks: Gauge;
  private kafkaLagSource?: () => Promise<Record<string, number>>;
  readonly kafkaLag: Gauge;
  readonly queueDepth: Gauge;

  /** The Kafka roles running in this process report their groups' lag when scraped. */
  watchKafkaLag(source: () => Promise<Record<string, number>>): void {
    this.kafkaLagSource = source;
  }

  /** BM25's in-memory copy reports the chunks it holds when scraped. */
  watchBm25Memory(source: () => number): void {
    this.bm25MemorySource = source;
  }

  /** `queueDepth` reads the queue when scraped. */
  constructor(depth: () => Promise<number> = async () => 0) {
    this.queueDepth = new Gauge({
      name: "rag_ingest_queue_depth",
      help: "Ingest jobs waiting or running.",
      registers: [this.registry],
      async collect() {
        this.set(await depth().catch(() => 0));
      },
    });
    const lagOf = () => this.kafkaLagSource?.();
    this.kafkaLag = new Gauge({
      name: "rag_kafka_consumer_lag",
      help: "Records on its input topic a Kafka ingest role's consumer group has not committed yet, by role (what KEDA's Kafka scaler reads from the broker).",
      labelNames: ["role"],
      registers: [this.registry],
      async collect() {
        const lags = await lagOf()?.catch(() => undefined);
        for (const [role, lag] of Object.entries(lags ?? {})) this.set({ role }, lag);
      },
    });
    const heldOf = () => this.bm25MemorySource?.() ?? 0;
    this.bm25MemoryChunks = new Gauge({
      name: "rag_bm25_memory_chunks",
      help: "Chunks BM25's in-memory copy holds (0 while it loads, or with BM25_MEMORY=false: the SQL plan answers).",
      registers: [this.registry],
      collect() {
        this.set(heldOf());
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: "rag_" });
  }
}
