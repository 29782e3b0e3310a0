/**
 * BM25 answered from memory: each process that searches keeps a copy of the postings table
 * (bm25-postings.ts) and answers from it, exact top-k, in a few milliseconds at a million chunks,
 * where even the pruned SQL plan reads tens of thousands of rows.
 *
 * PostgreSQL stays the truth. Triggers append every chunk whose postings, label or groups change
 * to `bm25_log`, in the writer's transaction, with that transaction's id. Before each search (and
 * every second in the background) the copy catches up: it reads the log rows of transactions at or
 * after its horizon, the oldest transaction that was still running at its last catch-up, re-reads
 * those chunks' current rows and applies them, and moves its horizon to the oldest transaction
 * running now. A transaction that had not committed then has an id at or after that horizon, so
 * it is read next time; applying a chunk twice changes nothing. So a search sees every write that
 * committed before it began, from any process, as the SQL plan does.
 *
 * The corpus statistics (document frequency, chunk count, mean length) are read from the catalogue
 * with each search, as the SQL plan reads them, and filters on metadata or document ids are
 * resolved to documents in SQL; classification and groups are checked in memory, on the copy of
 * each chunk's label and groups. Until the first load completes (seconds at 100k chunks, about a
 * minute at a million), and if a catch-up fails, searches use the SQL plan.
 */
import type { Db } from "../db/db";
import {
  BM25_LOG_KEEP_MINUTES,
  BM25_PLAN,
  type Bm25Plan,
  bm25Search,
  type Corpus,
  corpusStatistics,
  corpusTotals,
  type Scored,
} from "./bm25";
import { MemoryPostings, type QueryTerm } from "./bm25-postings";
import { filterSql, type Filters, hasFilters } from "./filters";
import { termFrequencies } from "./tokenize";

export interface Bm25MemoryOptions {
  /** Catch-up in the background every this many milliseconds (0: only before searches). */
  readonly syncEveryMs?: number;
  /** Chunks, and terms, per statement of a full load. */
  readonly loadBatch?: number;
  /** Compacts when dead chunks exceed this share of the live ones and `compactMin`. */
  readonly compactShare?: number;
  readonly compactMin?: number;
}

export type Bm25MemoryEvent =
  | {
      readonly event: "loaded";
      readonly chunks: number;
      readonly postings: number;
      readonly ms: number;
    }
  | { readonly event: "failed"; readonly stage: "load" | "catch-up"; readonly error: string }
  | { readonly event: "compacted"; readonly dead: number; readonly ms: number };

interface LogRow {
  horizon: string;
  seq: string | null;
  xid: string | null;
  chunk_id: string | null;
  kind: "p" | "d" | "u" | "a" | "r" | null;
  terms: string[] | null;
  tfs: number[] | null;
  dl: number | null;
}

interface ChunkRow {
  id: string;
  document_id: string;
  classification: string;
  access_groups: string[];
  terms: string[] | null;
  tfs: number[] | null;
  dl: number | null;
}

/** How long after a failed load the next search may start another. */
const LOAD_RETRY_MS = 30_000;
/** What looking a chunk up in a term's postings costs, in postings walked. */
const LOOKUP_COST = 16;
/** The corpus totals are read again at least this often (see `corpus`). */
const CORPUS_EVERY_MS = 1_000;
/** Chunks re-read per statement during a catch-up. */
const CATCH_UP_BATCH = 2_000;

export class Bm25MemoryIndex {
  private postings?: MemoryPostings;
  /** The oldest transaction running at the last catch-up (xid8, as text). */
  private horizon = 0n;
  /** Log rows at or after the horizon already applied (their transactions had committed). */
  private applied = new Map<string, bigint>();
  private lastCatchUp = 0;
  /** The last log row written before the load began (a truncate up to it needs no new load). */
  private loadedAfter = 0n;
  /**
   * The corpus size and mean chunk length, read again whenever a catch-up applied a change and,
   * in the background, at least every CORPUS_EVERY_MS (a document's status can change with no
   * posting's).
   */
  private corpus?: Corpus;
  private corpusAt = 0;
  /** Time spent catching up so far (the benchmark's ingest cost per copy). */
  private catchUpMs = 0;
  private loading?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private requested = 0;
  private covered = 0;
  private loop?: Promise<void>;
  private readonly syncEveryMs: number;
  private readonly loadBatch: number;
  private readonly compactShare: number;
  private readonly compactMin: number;
  private started = false;
  /** After a failed load, no new one starts before this time. */
  private retryAt = 0;
  /** Hears what happens: loads, failures, compactions (never a chunk's text or a query's). */
  log?: (event: Bm25MemoryEvent) => void;

  constructor(
    private readonly db: Db,
    private readonly options: Bm25MemoryOptions = {},
  ) {
    this.syncEveryMs = options.syncEveryMs ?? 1_000;
    this.loadBatch = options.loadBatch ?? 20_000;
    this.compactShare = options.compactShare ?? 0.2;
    this.compactMin = options.compactMin ?? 1_000;
  }

  /** Whether searches are answered from memory (the first load has completed). */
  get ready(): boolean {
    return this.postings !== undefined;
  }

  /** Chunks held (0 until loaded). */
  get chunks(): number {
    return this.postings?.size ?? 0;
  }

  /** Chunks and postings held (dead chunks' postings included until compaction). */
  stats(): { chunks: number; postings: number; dead: number; catchUpMs: number } {
    return {
      chunks: this.postings?.size ?? 0,
      postings: this.postings?.postings() ?? 0,
      dead: this.postings?.dead ?? 0,
      catchUpMs: this.catchUpMs,
    };
  }

  /** Starts the first load in the background and the periodic catch-up. */
  start(): void {
    if (this.started || this.closed || Date.now() < this.retryAt) return;
    this.started = true;
    void this.load().catch(() => {
      // Searches use the SQL plan; one after LOAD_RETRY_MS tries to load again.
      this.started = false;
      this.retryAt = Date.now() + LOAD_RETRY_MS;
    });
    if (this.syncEveryMs > 0 && !this.timer) {
      this.timer = setInterval(() => {
        if (!this.postings || this.loading) return;
        void this.fresh()
          // A document's status can change with no posting's: its totals are read again apart,
          // so no search waits on them.
          .then(() =>
            Date.now() - this.corpusAt > CORPUS_EVERY_MS ? this.readCorpus() : undefined,
          )
          .catch(() => undefined);
      }, this.syncEveryMs);
      this.timer.unref();
    }
  }

  /** Starts the load if need be and waits for it (tests; a loaded copy answers at once). */
  async loaded(): Promise<void> {
    this.start();
    if (this.loading) await this.loading;
    else if (!this.postings) await this.load();
  }

  /** Loads every posting afresh (the first time, or when the log no longer reaches back far enough). */
  load(): Promise<void> {
    this.loading ??= this.loadAll()
      .catch((error: unknown) => {
        this.log?.({ event: "failed", stage: "load", error: String(error) });
        throw error;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.postings = undefined;
  }

  /**
   * The top `limit` chunks by BM25, as bm25Search returns them; undefined when the copy is not
   * loaded (the caller uses the SQL plan), and the SQL plan's answer when a catch-up fails.
   */
  async search(
    queryTokens: readonly string[],
    limit: number,
    filters?: Filters,
    plan: Bm25Plan = BM25_PLAN,
  ): Promise<Scored[] | undefined> {
    if (!this.postings) return undefined;
    const tf = termFrequencies(queryTokens);
    if (tf.size === 0 || limit <= 0) return [];
    const caughtUp = this.fresh().then(
      () => true,
      (error: unknown) => {
        this.log?.({ event: "failed", stage: "catch-up", error: String(error) });
        return false;
      },
    );
    // The terms' statistics need the corpus's: read with them when the catch-up brought changes.
    const [ok, stats, documents] = await Promise.all([
      caughtUp,
      caughtUp.then(() => corpusStatistics(this.db, tf, this.corpus)),
      hasFilters(filters) ? this.documentsOf(filters!) : Promise.resolve(undefined),
    ]);
    const postings = this.postings;
    if (!ok || !postings) return bm25Search(this.db, queryTokens, limit, filters, plan);
    const terms: QueryTerm[] = stats.terms.map((t) => ({ term: t.term, weight: t.idf }));
    if (terms.length === 0) return [];
    const accept = postings.acceptor(filters?.classifications, filters?.groups, documents);
    // A filter that leaves few chunks: look those up (a gallop, about LOOKUP_COST postings'
    // worth each) rather than walk the terms' postings.
    const walk = stats.terms.reduce((s, t) => s + t.df, 0);
    const direct =
      documents !== undefined && postings.chunkCount(documents) * terms.length * LOOKUP_COST < walk;
    const only = direct ? postings.chunksOf(documents) : undefined;
    return postings.search(terms, stats.avgdl, limit, accept, only);
  }

  /** The ids of the ready documents the filters let through (metadata, ids, access). */
  private async documentsOf(filters: Filters): Promise<Set<string>> {
    const where = filterSql(filters, 1);
    const rows = await this.db.query<{ id: string }>(
      `SELECT d.id::text AS id FROM documents d WHERE ${where.sql}`,
      where.params,
    );
    return new Set(rows.map((r) => r.id));
  }

  /** Catches up now with every write committed before this call (the benchmark, tests). */
  sync(): Promise<void> {
    return this.fresh();
  }

  /**
   * Catches up with every write committed before this call: a catch-up already running may have
   * read the log before it, so one more starts after it (callers meanwhile share it).
   */
  private async fresh(): Promise<void> {
    const want = ++this.requested;
    while (this.covered < want) {
      this.loop ??= (async () => {
        try {
          while (this.covered < this.requested) {
            const covers = this.requested;
            if (this.loading) await this.loading;
            else {
              const started = performance.now();
              try {
                await this.catchUp();
              } finally {
                this.catchUpMs += performance.now() - started;
              }
            }
            this.covered = covers;
          }
        } finally {
          this.loop = undefined;
        }
      })();
      await this.loop;
    }
  }

  private async loadAll(): Promise<void> {
    const started = performance.now();
    const [{ horizon, seq }] = (await this.db.query<{ horizon: string; seq: string | null }>(
      "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon, (SELECT max(seq) FROM bm25_log)::text AS seq",
    )) as [{ horizon: string; seq: string | null }];
    const postings = new MemoryPostings();
    // Chunks numbered in key order, so each term's postings (read in key order) come in number order.
    const numbers = new Map<string, number>();
    for (let after = ""; ;) {
      const rows = await this.db.query<{
        id: string;
        document_id: string;
        classification: string;
        access_groups: string[];
        token_count: number;
      }>(
        `SELECT id, document_id::text AS document_id, classification, access_groups, token_count
         FROM chunks WHERE id > $1 ORDER BY id LIMIT $2`,
        [after, this.loadBatch],
      );
      if (this.closed) return;
      for (const r of rows)
        numbers.set(
          r.id,
          postings.add(
            {
              chunkId: r.id,
              documentId: r.document_id,
              length: r.token_count,
              classification: r.classification,
              groups: r.access_groups,
            },
            [],
          ),
        );
      if (rows.length < this.loadBatch) break;
      after = rows[rows.length - 1]!.id;
    }
    // Each term's postings as one string, "chunk tf chunk tf ...", in key order: a row per term
    // costs far less to read than a row per posting.
    for (let after = ""; ;) {
      const rows = await this.db.query<{ term: string; postings: string }>(
        `SELECT term, string_agg(chunk_id || ' ' || tf, ' ' ORDER BY chunk_id) AS postings
         FROM postings WHERE term > $1 GROUP BY term ORDER BY term LIMIT $2`,
        [after, this.loadBatch],
      );
      if (this.closed) return;
      for (const { term, postings: list } of rows) {
        const parts = list.split(" ");
        // Chunk ids are "<document>:<ordinal>": a space in one would shift every pair after it.
        if (parts.length % 2 !== 0)
          throw new Error(`the postings of "${term}" name a chunk id with a space in it`);
        const ns: number[] = [];
        const tfs: number[] = [];
        let sorted = true;
        for (let i = 0; i < parts.length; i += 2) {
          // A chunk written after the chunks were read: the log brings it at the first catch-up.
          const n = numbers.get(parts[i]!);
          if (n === undefined) continue;
          if (ns.length > 0 && ns[ns.length - 1]! > n) sorted = false;
          ns.push(n);
          tfs.push(Number(parts[i + 1]));
        }
        // Key order is the database's collation, the numbers' too; sort anyway should they differ.
        const order = ns.map((_, i) => i);
        if (!sorted) order.sort((x, y) => ns[x]! - ns[y]!);
        for (const i of order) postings.append(term, ns[i]!, tfs[i]!, order.length);
      }
      if (rows.length < this.loadBatch) break;
      after = rows[rows.length - 1]!.term;
    }
    this.postings = postings;
    this.loadedAfter = BigInt(seq ?? 0);
    this.horizon = BigInt(horizon);
    this.applied = new Map();
    this.lastCatchUp = Date.now();
    this.corpus = undefined;
    this.corpusAt = 0;
    this.log?.({
      event: "loaded",
      chunks: postings.size,
      postings: postings.postings(),
      ms: Math.round(performance.now() - started),
    });
  }

  /** Reads the corpus's totals again. */
  private async readCorpus(): Promise<void> {
    const corpus = await corpusTotals(this.db);
    this.corpus = corpus;
    this.corpusAt = Date.now();
  }

  /** The chunks' rows (label, groups, document), and with `postings` their postings too. */
  private async chunkRows(
    ids: readonly string[],
    postings: boolean,
  ): Promise<Map<string, ChunkRow>> {
    const out = new Map<string, ChunkRow>();
    for (let i = 0; i < ids.length; i += CATCH_UP_BATCH) {
      const rows = await this.db.query<ChunkRow>(
        postings
          ? `SELECT c.id, c.document_id::text AS document_id, c.classification, c.access_groups, p.terms, p.tfs, p.dl
             FROM chunks c
             LEFT JOIN LATERAL (SELECT array_agg(term) AS terms, array_agg(tf) AS tfs, max(dl) AS dl FROM postings WHERE chunk_id = c.id) p ON true
             WHERE c.id = ANY($1::text[])`
          : `SELECT id, document_id::text AS document_id, classification, access_groups, NULL AS terms, NULL AS tfs, NULL AS dl
             FROM chunks WHERE id = ANY($1::text[])`,
        [ids.slice(i, i + CATCH_UP_BATCH)],
      );
      for (const r of rows) out.set(r.id, r);
    }
    return out;
  }

  /** Applies the log from the horizon on (see the module's comment). */
  private async catchUp(): Promise<void> {
    if (!this.postings || this.closed) return;
    if (Date.now() - this.lastCatchUp > (BM25_LOG_KEEP_MINUTES / 2) * 60_000) return this.load();
    // Rows already applied come back while an older transaction holds the horizon: without data
    // (a hash join against the applied ones, so a long transaction costs no quadratic scan).
    const rows = await this.db.query<LogRow>(
      `SELECT h.horizon::text AS horizon, l.seq::text AS seq, l.xid::text AS xid, l.chunk_id, l.kind,
              CASE WHEN l.done IS NULL THEN l.terms END AS terms,
              CASE WHEN l.done IS NULL THEN l.tfs END AS tfs, l.dl
       FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon) h
       LEFT JOIN (SELECT b.*, a.seq AS done FROM bm25_log b
                  LEFT JOIN unnest($2::bigint[]) AS a(seq) ON a.seq = b.seq
                  WHERE b.xid >= $1::text::xid8) l ON true
       ORDER BY l.seq`,
      [this.horizon.toString(), [...this.applied.keys()]],
    );
    const horizon = BigInt(rows[0]!.horizon);
    const fresh = rows.filter((r) => r.seq !== null && !this.applied.has(r.seq));
    // A truncate this copy's load came after is behind it already.
    if (fresh.some((r) => r.kind === "r" && BigInt(r.seq!) > this.loadedAfter)) return this.load();
    // Per chunk, its last postings row says what it holds now: the postings it carries ('p'),
    // none ('d'), or read them again ('u'); 'a' rows: its label or groups changed.
    const last = new Map<string, LogRow>();
    const relabelled = new Set<string>();
    for (const r of fresh) {
      if (r.kind === "a") relabelled.add(r.chunk_id!);
      else if (r.kind !== "r") last.set(r.chunk_id!, r);
    }
    const ofLog = [...last.values()];
    const facts = await this.chunkRows(
      [...new Set([...ofLog.filter((r) => r.kind === "p").map((r) => r.chunk_id!), ...relabelled])],
      false,
    );
    const reread = await this.chunkRows(
      ofLog.filter((r) => r.kind === "u").map((r) => r.chunk_id!),
      true,
    );
    const postings = this.postings;
    if (!postings || this.closed) return;
    // Applied at once, with no await in between: a search sees the copy before or after, whole.
    for (const r of ofLog) {
      const id = r.chunk_id!;
      postings.remove(id);
      const chunk = r.kind === "p" ? facts.get(id) : r.kind === "u" ? reread.get(id) : undefined;
      const terms = r.kind === "p" ? r.terms : chunk?.terms;
      const tfs = (r.kind === "p" ? r.tfs : chunk?.tfs) ?? [];
      const dl = r.kind === "p" ? r.dl : chunk?.dl;
      if (!chunk || !terms || dl === null || dl === undefined) continue;
      postings.add(
        {
          chunkId: id,
          documentId: chunk.document_id,
          length: dl,
          classification: chunk.classification,
          groups: chunk.access_groups,
        },
        terms.map((t, i) => [t, tfs[i]!] as const),
      );
    }
    for (const id of relabelled) {
      const chunk = facts.get(id);
      if (chunk && !last.has(id)) postings.relabel(id, chunk.classification, chunk.access_groups);
    }
    // A change moves the corpus's totals: read them before searches go on.
    if (fresh.length > 0 || !this.corpus) await this.readCorpus();
    const applied = new Map<string, bigint>();
    for (const [seq, xid] of this.applied) if (xid >= horizon) applied.set(seq, xid);
    for (const r of fresh) {
      const xid = BigInt(r.xid!);
      if (xid >= horizon) applied.set(r.seq!, xid);
    }
    this.applied = applied;
    this.horizon = horizon;
    this.lastCatchUp = Date.now();
    if (postings.dead > Math.max(this.compactMin, this.compactShare * postings.size)) {
      const started = performance.now();
      const dead = postings.dead;
      postings.compact();
      this.log?.({ event: "compacted", dead, ms: Math.round(performance.now() - started) });
    }
  }
}
