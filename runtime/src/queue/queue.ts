/**
 * The ingest queue: BullMQ on Redis when Redis is configured (several workers, durable jobs,
 * stalled jobs retried after a worker dies), an in-process queue otherwise (embedded mode).
 * Jobs are document ids; enqueuing an id already waiting is a no-op.
 */
import { readFileSync } from "node:fs";
import { MAX_ATTEMPTS_DEFAULT, type RuntimeConfig } from "../config";

export type JobHandler = (documentId: string, attempt: number) => Promise<void>;

export interface IngestQueue {
  readonly kind: "bullmq" | "in-process" | "kafka";
  /** How often a job is tried, and the first wait between tries. */
  readonly retry: RetryPolicy;
  enqueue(documentId: string): Promise<void>;
  /**
   * Before a document is deleted: a bus that carries deletes to other regions (Kafka) publishes
   * it, and a failure keeps the document, to be deleted again.
   */
  removed?(documentId: string, objectKey?: string): Promise<void>;
  /** Jobs waiting or running. */
  depth(): Promise<number>;
  /** Starts consuming (worker side). `onFailed` sees jobs that used up their attempts. */
  consume(handler: JobHandler, onFailed: (documentId: string, error: Error) => Promise<void>): void;
  check(): Promise<void>;
  /** Stops taking jobs and waits for running ones to finish. */
  close(): Promise<void>;
}

/**
 * How often a job is tried, and the first wait between tries (doubling after each): a parse
 * error fails a document at once; anything else (an embedding server restarting, a database
 * failover) is tried 8 times over about 4 minutes before the document is marked failed.
 */
export interface RetryPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
}
export const BACKOFF_MS = 2000;
export const RETRY: RetryPolicy = { attempts: MAX_ATTEMPTS_DEFAULT, backoffMs: BACKOFF_MS };

/** Resolves when `fn` says so, polling (for tests and the evaluation script). */
export async function waitFor(
  fn: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class InProcessQueue implements IngestQueue {
  readonly kind = "in-process" as const;
  private readonly waiting: { id: string; attempt: number }[] = [];
  private readonly queued = new Set<string>();
  private running = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private handler?: JobHandler;
  private onFailed?: (id: string, error: Error) => Promise<void>;
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly concurrency: number,
    readonly retry: RetryPolicy = RETRY,
  ) {}

  async enqueue(documentId: string): Promise<void> {
    if (this.closed) throw new Error("the queue is closed");
    if (this.queued.has(documentId)) return;
    this.queued.add(documentId);
    this.waiting.push({ id: documentId, attempt: 1 });
    this.pump();
  }

  async depth(): Promise<number> {
    return this.queued.size;
  }

  consume(handler: JobHandler, onFailed: (id: string, error: Error) => Promise<void>): void {
    this.handler = handler;
    this.onFailed = onFailed;
    this.pump();
  }

  private pump(): void {
    while (
      !this.closed &&
      this.handler &&
      this.running < this.concurrency &&
      this.waiting.length > 0
    ) {
      const job = this.waiting.shift()!;
      this.running++;
      const run = this.handler(job.id, job.attempt).then(
        () => {
          this.queued.delete(job.id);
        },
        async (error: Error) => {
          if (job.attempt < this.retry.attempts && !this.closed) {
            const timer = setTimeout(
              () => {
                this.timers.delete(timer);
                this.waiting.push({ id: job.id, attempt: job.attempt + 1 });
                this.pump();
              },
              this.retry.backoffMs * 2 ** (job.attempt - 1),
            );
            this.timers.add(timer);
          } else {
            this.queued.delete(job.id);
            await this.onFailed?.(job.id, error);
          }
        },
      );
      const tracked = run.finally(() => {
        this.running--;
        this.inFlight.delete(tracked);
        this.pump();
      });
      this.inFlight.add(tracked);
    }
  }

  async check(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.all([...this.inFlight]);
  }
}

/** TLS to Redis: Node.js's roots and the host's name, or the instance's own CA and no name check. */
export type RedisTls =
  Record<string, never> | { readonly ca: string; readonly checkServerIdentity: () => undefined };

export interface RedisConnection {
  readonly host?: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: RedisTls;
  /** BullMQ workers block on Redis: requests must not give up. */
  readonly maxRetriesPerRequest: null;
}

export function redisConnection(config: RuntimeConfig): RedisConnection {
  const tls = (on: boolean): RedisTls | undefined => {
    if (!on) return undefined;
    // A managed Redis reached by its IP, with a CA of its own: the chain identifies it, the name cannot.
    return config.REDIS_TLS_CA_FILE
      ? { ca: readFileSync(config.REDIS_TLS_CA_FILE, "utf8"), checkServerIdentity: () => undefined }
      : {};
  };
  if (config.REDIS_URL) {
    const u = new URL(config.REDIS_URL);
    return {
      host: u.hostname,
      port: Number(u.port || 6379),
      username: u.username || undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      tls: tls(u.protocol === "rediss:"),
      maxRetriesPerRequest: null,
    };
  }
  return {
    host: config.REDIS_HOST,
    port: config.REDIS_PORT,
    password: config.REDIS_PASSWORD,
    tls: tls(config.REDIS_TLS),
    maxRetriesPerRequest: null,
  };
}

export function redisConfigured(config: RuntimeConfig): boolean {
  return Boolean(config.REDIS_URL || config.REDIS_HOST);
}
