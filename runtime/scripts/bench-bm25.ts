/**
 * The BM25 benchmark (npm run bench -w runtime -- --bm25-sizes 10000,100000[,1000000]):
 * the exhaustive query (bm25SearchExact, the baseline) beside the pruned plan (bm25Search) in
 * the same run, over a corpus whose terms follow Zipf's law as real text does.
 *
 * Corpus: chunks of `chunk-tokens` tokens on average (uniform between half and one and a half
 * times that), each token a term of rank r drawn with probability proportional to r^-s over
 * `vocabulary` terms, 50 chunks per document, a quarter of the documents in each of four
 * metadata groups. It is generated in SQL (generate_series, the postings index built after the
 * load), so a million chunks load in minutes. Questions: six distinct terms drawn from the same
 * distribution. Each question runs exact then pruned, top `limit` (the retriever's candidates);
 * overlap is the share of the exact top 10 the pruned plan returns. "filtered" repeats with a
 * metadata filter one document in four passes. Ingest: documents of 50 chunks written with the
 * pipeline's statements, without the per-term statistics (before: the triggers off, no fold)
 * and with them (after); sizes are the postings table and the statistics tables.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadRuntimeConfig } from "../src/config";
import { type Db, openDb } from "../src/db/db";
import { migrate } from "../src/db/schema";
import {
  BM25_PLAN,
  bm25Search,
  bm25SearchExact,
  foldPendingTermStats,
  insertPostings,
  postingsOf,
  rebuildTermStats,
  type Scored,
} from "../src/search/bm25";
import { Bm25MemoryIndex } from "../src/search/bm25-memory";
import type { Filters } from "../src/search/filters";
import { CANDIDATES } from "../src/search/retrieve";
import { BENCH_PG_URL, freshPgDatabase } from "./bench-db";

export interface Bm25BenchOptions {
  readonly sizes: readonly number[];
  readonly backends: readonly ("embedded" | "postgres")[];
  readonly queries: number;
  readonly vocabulary: number;
  /** Zipf exponent. */
  readonly s: number;
  readonly chunkTokens: number;
  readonly limit?: number;
  /**
   * Keeps each server corpus in a database named after its parameters and reuses it on the
   * next run (a million chunks load once); the ingest measurement's documents are removed.
   */
  readonly keep?: boolean;
}

const CHUNKS_PER_DOC = 50;
/** Documents written per ingest measurement (each way). */
const INGEST_DOCS = 20;
/** Questions of the filtered run. */
const FILTERED_QUERIES = 20;
/** A million chunks on PGlite would take hours and most of the memory: server only. */
const EMBEDDED_MAX_CHUNKS = 100_000;

/** A deterministic pseudo-random generator (mulberry32), so runs compare. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A term's rank by inverting the continuous Zipf (power-law) distribution over [1, V + 1]:
 * P(rank r) is close to r^-s / H(V, s). The same formula in SQL (`zipfRankSql`) and here.
 */
function zipfRank(u: number, vocabulary: number, s: number): number {
  const x =
    s === 1
      ? Math.exp(u * Math.log(vocabulary + 1))
      : (1 - u * (1 - (vocabulary + 1) ** (1 - s))) ** (1 / (1 - s));
  return Math.min(vocabulary, Math.floor(x));
}

function zipfRankSql(u: string, vocabulary: number, s: number): string {
  const x =
    s === 1
      ? `exp(${u} * ln(${vocabulary + 1}::float8))`
      : `power(1 - ${u} * (1 - power(${vocabulary + 1}::float8, ${1 - s}::float8)), ${1 / (1 - s)}::float8)`;
  return `least(${vocabulary}, floor(${x})::int)`;
}

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/**
 * Loads `chunks` chunks with the postings index, its foreign key and the chunk index dropped
 * and rebuilt afterwards (as a bulk load does), then the per-term statistics in one pass.
 */
export async function load(db: Db, chunks: number, options: Bm25BenchOptions): Promise<void> {
  const docs = Math.ceil(chunks / CHUNKS_PER_DOC);
  const { chunkTokens: t, vocabulary, s } = options;
  const constraints = await db.query<{ name: string; def: string }>(
    "SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'postings'::regclass ORDER BY contype DESC",
  );
  const indexes = await db.query<{ def: string; name: string }>(
    "SELECT indexdef AS def, indexname AS name FROM pg_indexes WHERE tablename = 'postings' AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'postings'::regclass)",
  );
  for (const c of constraints) await db.query(`ALTER TABLE postings DROP CONSTRAINT ${c.name}`);
  for (const i of indexes) await db.query(`DROP INDEX ${i.name}`);
  await db.query("ALTER TABLE postings DISABLE TRIGGER USER");
  await db.query("SELECT setseed(0.42)");
  await db.query(
    `INSERT INTO documents (id, name, content_type, content_hash, size_bytes, object_key, metadata, status, classification, chunk_count)
     SELECT id, 'doc-' || i || '.md', 'text/markdown', id::text, 1, id::text, jsonb_build_object('group', 'g' || (i % 4)), 'ready', 'internal',
            least(${CHUNKS_PER_DOC}, ${chunks} - i * ${CHUNKS_PER_DOC})
     FROM (SELECT gen_random_uuid() AS id, i FROM generate_series(0, ${docs - 1}) AS i) d`,
  );
  await db.query(
    `INSERT INTO chunks (id, document_id, ordinal, text, token_count, classification)
     SELECT d.id || ':' || o, d.id, o, '', ${Math.ceil(t / 2)} + floor(random() * ${t + 1})::int, 'internal'
     FROM documents d CROSS JOIN LATERAL generate_series(0, d.chunk_count - 1) AS o`,
  );
  await db.query(
    `INSERT INTO postings (term, chunk_id, tf, dl)
     SELECT 't' || r, c.id, n, c.token_count
     FROM chunks c CROSS JOIN LATERAL (
       SELECT r, count(*)::int AS n
       FROM (SELECT ${zipfRankSql("random()", vocabulary, s)} AS r FROM generate_series(1, c.token_count)) x
       GROUP BY r) p`,
  );
  await db.query(
    "UPDATE documents d SET token_count = (SELECT sum(token_count) FROM chunks c WHERE c.document_id = d.id)",
  );
  await db.query("ALTER TABLE postings ENABLE TRIGGER USER");
  if (db.kind === "postgres") await db.query("SET maintenance_work_mem = '1GB'");
  for (const c of [...constraints].reverse())
    await db.query(
      `ALTER TABLE postings ADD CONSTRAINT ${c.name} ${c.def}${c.def.startsWith("FOREIGN KEY") ? " NOT VALID" : ""}`,
    );
  for (const i of indexes) await db.query(i.def);
  await rebuildTermStats(db);
  // The service vacuums these itself (embedded) or autovacuum does (this server has it off).
  await db.query("VACUUM (ANALYZE) postings, bm25_terms, bm25_term_changes, chunks, documents");
}

/** Six distinct terms drawn from the corpus's distribution. */
export function questions(options: Bm25BenchOptions): string[][] {
  const next = rng(7);
  return Array.from({ length: options.queries }, () => {
    const terms = new Set<string>();
    while (terms.size < 6) terms.add(`t${zipfRank(next(), options.vocabulary, options.s)}`);
    return [...terms];
  });
}

interface Timing {
  exact: number[];
  pruned: number[];
  memory: number[];
  overlap: number[];
  memoryOverlap: number[];
  termsRead: number[];
}

async function time(
  db: Db,
  memory: Bm25MemoryIndex,
  qs: string[][],
  limit: number,
  filters?: Filters,
): Promise<Timing> {
  const out: Timing = {
    exact: [],
    pruned: [],
    memory: [],
    overlap: [],
    memoryOverlap: [],
    termsRead: [],
  };
  const inMemory = async (q: string[]) => {
    const r = await memory.search(q, limit, filters);
    if (!r) throw new Error("the in-memory copy is not loaded");
    return r;
  };
  const plan = {
    ...BM25_PLAN,
    observe: (r: { terms: number }) => out.termsRead.push(r.terms),
  };
  for (const q of qs.slice(0, 3)) {
    await bm25SearchExact(db, q, limit, filters);
    await bm25Search(db, q, limit, filters);
    await inMemory(q);
  }
  out.termsRead.length = 0;
  for (const q of qs) {
    let t = performance.now();
    const exact = await bm25SearchExact(db, q, limit, filters);
    out.exact.push(performance.now() - t);
    t = performance.now();
    const pruned = await bm25Search(db, q, limit, filters, plan);
    out.pruned.push(performance.now() - t);
    t = performance.now();
    const fromMemory = await inMemory(q);
    out.memory.push(performance.now() - t);
    const top = (r: Scored[]) => new Set(r.slice(0, 10).map((x) => x.chunkId));
    const want = top(exact);
    const overlap = (r: Scored[]) => {
      const got = top(r);
      return want.size === 0 ? 1 : [...want].filter((id) => got.has(id)).length / want.size;
    };
    out.overlap.push(overlap(pruned));
    out.memoryOverlap.push(overlap(fromMemory));
  }
  return out;
}

/** Milliseconds per 1,000 chunks written with the pipeline's statements, and its folds. */
async function ingest(db: Db, options: Bm25BenchOptions, statistics: boolean): Promise<number> {
  const next = rng(statistics ? 3 : 5);
  const t = options.chunkTokens;
  if (!statistics) await db.query("ALTER TABLE postings DISABLE TRIGGER USER");
  try {
    const started = performance.now();
    for (let d = 0; d < INGEST_DOCS; d++) {
      const id = randomUUID();
      const chunks = Array.from({ length: CHUNKS_PER_DOC }, (_, i) => ({
        id: `${id}:${i}`,
        tokens: Array.from(
          { length: Math.ceil(t / 2) + Math.floor(next() * (t + 1)) },
          () => `t${zipfRank(next(), options.vocabulary, options.s)}`,
        ),
      }));
      const rows = chunks.map((c) => postingsOf(c.id, c.tokens));
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO documents (id, name, content_type, content_hash, size_bytes, object_key, status, classification)
           VALUES ($1::text::uuid, 'ingest.md', 'text/markdown', $1::text, 1, $1::text, 'indexing', 'internal')`,
          [id],
        );
        await tx.query(
          `INSERT INTO chunks (id, document_id, ordinal, text, token_count, classification)
           SELECT id, $2::uuid, ordinal, '', n, 'internal' FROM unnest($1::text[], $3::int[], $4::int[]) AS u(id, ordinal, n)`,
          [
            chunks.map((c) => c.id),
            id,
            chunks.map((_, i) => i),
            chunks.map((c) => c.tokens.length),
          ],
        );
        await insertPostings(tx, rows);
        await tx.query(
          "UPDATE documents SET status = 'ready', chunk_count = $2, token_count = $3 WHERE id = $1",
          [id, chunks.length, chunks.reduce((n, c) => n + c.tokens.length, 0)],
        );
      });
      if (statistics) await foldPendingTermStats(db);
    }
    return (performance.now() - started) / ((INGEST_DOCS * CHUNKS_PER_DOC) / 1000);
  } finally {
    if (!statistics) await db.query("ALTER TABLE postings ENABLE TRIGGER USER");
  }
}

interface Row {
  backend: string;
  chunks: number;
  postings: number;
  loadSeconds: number;
  all: Timing;
  filtered: Timing;
  ingestBefore: number;
  ingestAfter: number;
  /** Catching the in-memory copy up with the "after" documents, per 1,000 chunks. */
  catchUp: number;
  postingsMb: number;
  statsMb: number;
  /** The in-memory copy's first load: seconds, and the heap and buffers it added. */
  memoryLoadSeconds: number;
  memoryMb: number;
}

/** The kept database of a server corpus: its name says what was loaded. */
export function corpusDatabase(options: Bm25BenchOptions, chunks: number): string {
  return `rag_bench_bm25_${chunks}_${options.chunkTokens}_${options.vocabulary}_${String(options.s).replace(".", "_")}`;
}

/**
 * The kept database of a corpus, and whether its load completed. One whose load was interrupted
 * (it may lack the postings' keys, which the load drops) is dropped and created afresh.
 */
async function keptPgDatabase(name: string): Promise<{ url: string; loaded: boolean }> {
  const url = new URL(BENCH_PG_URL);
  url.pathname = `/${name}`;
  const admin = await openDb(loadRuntimeConfig({ DATA_DIR: tmpdir(), DATABASE_URL: BENCH_PG_URL }));
  try {
    if ((await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).length > 0) {
      const db = await openDb(
        loadRuntimeConfig({ DATA_DIR: tmpdir(), DATABASE_URL: url.toString() }),
      );
      const marker = await db
        .query("SELECT 1 FROM settings WHERE key = 'bench_corpus'")
        .catch(() => [])
        .finally(() => db.close());
      if (marker.length > 0) return { url: url.toString(), loaded: true };
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    }
    await admin.query(`CREATE DATABASE ${name}`);
    return { url: url.toString(), loaded: false };
  } finally {
    await admin.close();
  }
}

async function runOne(
  backend: "embedded" | "postgres",
  chunks: number,
  options: Bm25BenchOptions,
): Promise<Row> {
  const dataDir = mkdtempSync(join(tmpdir(), "rag-bench-bm25-"));
  const kept =
    backend === "postgres" && options.keep
      ? await keptPgDatabase(corpusDatabase(options, chunks))
      : undefined;
  const server = backend === "postgres" && !kept ? await freshPgDatabase() : undefined;
  const url = kept?.url ?? server?.url;
  let memory: Bm25MemoryIndex | undefined;
  const db = await openDb(
    loadRuntimeConfig({
      DATA_DIR: dataDir,
      LOG_LEVEL: "error",
      ...(url ? { DATABASE_URL: url } : {}),
    }),
  );
  try {
    await migrate(db, { requirePgvector: false });
    const started = performance.now();
    if (!kept?.loaded) {
      await load(db, chunks, options);
      if (kept)
        await db.query("INSERT INTO settings (key, value) VALUES ('bench_corpus', 'loaded')");
    }
    const loadSeconds = kept?.loaded ? Number.NaN : (performance.now() - started) / 1000;
    const [{ postings }] = (await db.query<{ postings: number }>(
      "SELECT count(*)::float8 AS postings FROM postings",
    )) as [{ postings: number }];
    const qs = questions(options);
    const limit = options.limit ?? CANDIDATES;
    // With node --expose-gc (npm run bench passes it), after a collection: what the copy keeps.
    const heap = () => {
      (globalThis as { gc?: () => void }).gc?.();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const heapBefore = heap();
    const memoryStarted = performance.now();
    // As the API runs it: catching up in the background every second too.
    memory = new Bm25MemoryIndex(db);
    await memory.load();
    const memoryLoadSeconds = (performance.now() - memoryStarted) / 1000;
    const memoryMb = (heap() - heapBefore) / 1048576;
    const all = await time(db, memory, qs, limit);
    // Fewer filtered questions: the exhaustive filtered query takes seconds a question at 1M.
    const filtered = await time(db, memory, qs.slice(0, FILTERED_QUERIES), limit, {
      metadata: { group: "g0" },
    });
    const ingestBefore = await ingest(db, options, false);
    // Every catch-up's time while the "after" documents are written (the copy's own, every
    // second, and the last one after them): what each API process spends on 1,000 chunks.
    const caughtUpBefore = memory.stats().catchUpMs;
    const ingestAfter = await ingest(db, options, true);
    await memory.sync();
    const catchUp =
      (memory.stats().catchUpMs - caughtUpBefore) / ((INGEST_DOCS * CHUNKS_PER_DOC) / 1000);
    const [size] = await db.query<{ postings: number; stats: number }>(
      `SELECT pg_total_relation_size('postings')::float8 / 1048576 AS postings,
              (pg_total_relation_size('bm25_terms') + pg_total_relation_size('bm25_term_changes'))::float8 / 1048576 AS stats`,
    );
    if (kept) {
      // The "before" documents were written past the triggers: delete them all, then count the
      // statistics afresh, so the next run starts from figures that match the postings.
      await db.query("DELETE FROM documents WHERE name = 'ingest.md'");
      await rebuildTermStats(db);
      await db.query("VACUUM (ANALYZE) postings, bm25_terms, bm25_term_changes, chunks, documents");
    }
    return {
      backend,
      chunks,
      postings,
      loadSeconds,
      all,
      filtered,
      ingestBefore,
      ingestAfter,
      catchUp,
      postingsMb: size!.postings,
      statsMb: size!.stats,
      memoryLoadSeconds,
      memoryMb,
    };
  } finally {
    memory?.close();
    await db.close();
    await server?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

export async function benchBm25(options: Bm25BenchOptions): Promise<void> {
  const rows: Row[] = [];
  const loadBefore = loadavg()[0]!;
  for (const backend of options.backends) {
    for (const size of options.sizes) {
      if (backend === "embedded" && size > EMBEDDED_MAX_CHUNKS) {
        process.stderr.write(`bench bm25: ${size} chunks is server only; skipped on embedded\n`);
        continue;
      }
      process.stderr.write(`bench bm25: ${backend}, ${size} chunks...\n`);
      const r = await runOne(backend, size, options);
      rows.push(r);
      // A line as each corpus completes: a long run is readable before it ends.
      const at = (xs: number[], p: number) => percentile(xs, p).toFixed(1);
      process.stderr.write(
        `bench bm25: ${backend}, ${size} chunks: exact ${at(r.all.exact, 50)}/${at(r.all.exact, 95)} ms, pruned ${at(r.all.pruned, 50)}/${at(r.all.pruned, 95)} ms, in memory ${at(r.all.memory, 50)}/${at(r.all.memory, 95)} ms (p50/p95), load average ${loadavg()[0]!.toFixed(1)}\n`,
      );
    }
  }
  const load = `load average ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end, ${cpus().length} cores`;
  const ms = (xs: number[], p: number) => percentile(xs, p).toFixed(1);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const overlap = (xs: number[]) => `${mean(xs).toFixed(3)} (min ${Math.min(...xs).toFixed(2)})`;
  console.log(
    `\nBM25, exact vs pruned SQL plan vs in-memory copy (top ${options.limit ?? CANDIDATES}; ${options.queries} six-term questions; Zipf s=${options.s} over ${options.vocabulary} terms; ${options.chunkTokens} tokens per chunk on average; ${load})\n`,
  );
  console.log(
    table(
      [
        "backend",
        "chunks",
        "postings",
        "exact p50",
        "exact p95",
        "pruned p50",
        "pruned p95",
        "in memory p50",
        "in memory p95",
        "top-10 overlap (pruned / in memory)",
        "terms read",
        `filtered exact p50/p95 (${FILTERED_QUERIES} q)`,
        "filtered pruned p50/p95",
        "filtered in memory p50/p95",
        "filtered overlap",
      ],
      rows.map((r) => [
        r.backend,
        String(r.chunks),
        `${(r.postings / 1e6).toFixed(1)}M`,
        ms(r.all.exact, 50),
        ms(r.all.exact, 95),
        ms(r.all.pruned, 50),
        ms(r.all.pruned, 95),
        ms(r.all.memory, 50),
        ms(r.all.memory, 95),
        `${overlap(r.all.overlap)} / ${overlap(r.all.memoryOverlap)}`,
        `${mean(r.all.termsRead).toFixed(1)} of 6`,
        `${ms(r.filtered.exact, 50)} / ${ms(r.filtered.exact, 95)}`,
        `${ms(r.filtered.pruned, 50)} / ${ms(r.filtered.pruned, 95)}`,
        `${ms(r.filtered.memory, 50)} / ${ms(r.filtered.memory, 95)}`,
        `${mean(r.filtered.overlap).toFixed(3)} / ${mean(r.filtered.memoryOverlap).toFixed(3)}`,
      ]),
    ),
  );
  console.log(
    `\nIngest (${INGEST_DOCS} documents of ${CHUNKS_PER_DOC} chunks, the pipeline's statements; before: no per-term statistics nor change log) and sizes\n`,
  );
  console.log(
    table(
      [
        "backend",
        "chunks",
        "load s",
        "ms/1k chunks before",
        "ms/1k chunks after",
        "in-memory catch-up ms/1k chunks",
        "postings MB",
        "term statistics MB",
        "in-memory load s",
        "in-memory MB",
      ],
      rows.map((r) => [
        r.backend,
        String(r.chunks),
        Number.isNaN(r.loadSeconds) ? "kept" : r.loadSeconds.toFixed(0),
        r.ingestBefore.toFixed(0),
        r.ingestAfter.toFixed(0),
        r.catchUp.toFixed(0),
        r.postingsMb.toFixed(0),
        r.statsMb.toFixed(1),
        r.memoryLoadSeconds.toFixed(1),
        r.memoryMb.toFixed(0),
      ]),
    ),
  );
}
