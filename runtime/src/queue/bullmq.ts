/** The ingest queue on Redis with BullMQ: durable, shared by every worker replica. */
import { Queue, Worker } from "bullmq";
import type { RuntimeConfig } from "../config";
import { withinMs } from "../timeout";
import {
  type IngestQueue,
  type JobHandler,
  redisConnection,
  RETRY,
  type RetryPolicy,
} from "./queue";

/** What a job carries: only the document's id; the document row holds the rest. */
interface IngestJob {
  readonly documentId: string;
}

export class BullMqQueue implements IngestQueue {
  readonly kind = "bullmq" as const;
  private readonly queue: Queue<IngestJob>;
  private worker?: Worker<IngestJob>;

  constructor(
    private readonly config: RuntimeConfig,
    private readonly lockMs = 30_000,
    readonly retry: RetryPolicy = RETRY,
  ) {
    // Adding a job fails at once while Redis is away, rather than waiting in ioredis's offline
    // queue (the upload is kept and the worker's sweep queues it later). Workers keep waiting.
    this.queue = new Queue<IngestJob>(config.QUEUE_NAME, {
      connection: { ...redisConnection(config), enableOfflineQueue: false },
    });
    this.queue.on("error", () => undefined); // ioredis reconnects; readiness (check) reports the outage
  }

  /**
   * Adds the document's job; one already waiting or running keeps its place (ids deduplicate).
   * A failed job of the same id, kept a week for inspection, is removed first: the document is
   * being tried again.
   */
  async enqueue(documentId: string): Promise<void> {
    const previous = await this.queue.getJob(documentId);
    if (previous && (await previous.isFailed())) await previous.remove();
    await this.queue.add(
      "index",
      { documentId },
      {
        jobId: documentId,
        attempts: this.retry.attempts,
        backoff: { type: "exponential", delay: this.retry.backoffMs },
        removeOnComplete: true,
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    );
  }

  async depth(): Promise<number> {
    const counts = await this.queue.getJobCounts("waiting", "active", "delayed", "prioritized");
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  consume(
    handler: JobHandler,
    onFailed: (documentId: string, error: Error) => Promise<void>,
  ): void {
    this.worker = new Worker<IngestJob>(
      this.config.QUEUE_NAME,
      async (job) => handler(job.data.documentId, job.attemptsMade + 1),
      {
        connection: redisConnection(this.config),
        concurrency: this.config.WORKER_CONCURRENCY,
        lockDuration: this.lockMs,
        stalledInterval: this.lockMs,
        maxStalledCount: this.retry.attempts,
      },
    );
    this.worker.on("failed", (job, error) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1))
        void onFailed(job.data.documentId, error);
    });
    this.worker.on("error", () => undefined); // connection errors are retried by ioredis
  }

  /** Redis answers within 2 s (requests never give up on their own: see RedisConnection). */
  async check(): Promise<void> {
    await withinMs(2000, this.queue.getJobCounts("waiting"), "Redis did not answer within 2 s");
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
