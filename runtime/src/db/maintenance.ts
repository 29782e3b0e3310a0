/**
 * Vacuum and analyze for embedded PGlite, which has no autovacuum. BM25 reads each query term's
 * postings index-only from the postings primary key; that needs the visibility map VACUUM keeps,
 * and good plans need ANALYZE's statistics. A PostgreSQL server's autovacuum does both, so this
 * runs only in embedded mode: once index changes (documents indexed or deleted) have settled.
 */
import type { Queryable } from "./db";

/** The tables retrieval reads. */
const SEARCH_TABLES = [
  "postings",
  "bm25_terms",
  "bm25_term_changes",
  "chunks",
  "documents",
  "chunk_vectors",
] as const;

/** VACUUM (ANALYZE) of the search tables, together. */
export async function vacuumSearchTables(db: Queryable): Promise<void> {
  await db.query(`VACUUM (ANALYZE) ${SEARCH_TABLES.join(", ")}`);
}

export class IndexMaintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private dirty = false;
  private closed = false;

  constructor(
    private readonly db: Queryable,
    /** Quiet time after the last change before vacuuming (a bulk upload vacuums once, at the end). */
    private readonly settleMs = 1000,
    private readonly observe?: (outcome: "ok" | "error", seconds: number) => void,
  ) {}

  /** Records that the index changed; vacuums once changes have been quiet for settleMs. */
  changed(): void {
    if (this.closed) return;
    this.dirty = true;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), this.settleMs);
    this.timer.unref();
  }

  /** Vacuums now if anything changed since the last run; resolves when done (errors are counted, not thrown). */
  run(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.running.then(async () => {
      if (!this.dirty || this.closed) return;
      this.dirty = false;
      const started = performance.now();
      try {
        await vacuumSearchTables(this.db);
        this.observe?.("ok", (performance.now() - started) / 1000);
      } catch {
        // A failed vacuum costs speed, not data: the next change retries.
        this.dirty = true;
        this.observe?.("error", (performance.now() - started) / 1000);
      }
    });
    return this.running;
  }

  /** Runs any pending vacuum at once and waits for it (the benchmark, tests, and shutdown use this). */
  settled(): Promise<void> {
    return this.timer ? this.run() : this.running;
  }

  /** Stops scheduling; waits for a vacuum already running. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.closed = true;
    await this.running;
  }
}
