/**
 * The pruned BM25 plan (bm25Search) and the in-memory copy (Bm25MemoryIndex, MaxScore with block bounds)
 * against exact references on random Zipf corpora, in both modes: the exhaustive SQL query
 * (bm25SearchExact) and Okapi BM25 computed here from the corpus itself. Same chunks, same order,
 * same scores, filtered or not, after deletes (folded or still pending), after a document is
 * indexed again and as the average chunk length drifts. The copy is loaded once and then only
 * catches up from the log, so every write below reaches it through the triggers.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/db";
import {
  BM25,
  type Bm25Plan,
  bm25Search,
  bm25SearchExact,
  foldTermStats,
  insertPostings,
  postingsOf,
  type Scored,
} from "../../src/search/bm25";
import { Bm25MemoryIndex } from "../../src/search/bm25-memory";
import type { Filters } from "../../src/search/filters";
import { migratedDb, MODES } from "../support";

/** A deterministic pseudo-random generator (mulberry32), so a failure replays. */
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

/** Draws term ranks 1..vocabulary with probability proportional to 1 / rank^s. */
function zipf(vocabulary: number, s: number, next: () => number): () => string {
  const cdf: number[] = [];
  let total = 0;
  for (let r = 1; r <= vocabulary; r++) cdf.push((total += 1 / r ** s));
  return () => {
    const u = next() * total;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return `w${lo + 1}`;
  };
}

interface Doc {
  readonly id: string;
  readonly group: string;
  chunks: { id: string; tokens: string[] }[];
}

/** Writes a document's chunks and postings with the pipeline's statements (the triggers see them). */
async function index(db: Db, doc: Doc): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO documents (id, name, content_type, content_hash, size_bytes, object_key, metadata, status, classification)
       VALUES ($1::text::uuid, $2, 'text/plain', $1::text, 1, $1::text, $3::jsonb, 'indexing', 'internal') ON CONFLICT (id) DO NOTHING`,
      [doc.id, `${doc.id}.txt`, JSON.stringify({ group: doc.group })],
    );
    await tx.query("DELETE FROM chunks WHERE document_id = $1", [doc.id]);
    // Two statements per document, as the pipeline writes a large one in batches.
    const half = Math.ceil(doc.chunks.length / 2);
    for (const batch of [doc.chunks.slice(0, half), doc.chunks.slice(half)]) {
      if (batch.length === 0) continue;
      await tx.query(
        `INSERT INTO chunks (id, document_id, ordinal, text, token_count, classification)
         SELECT id, $2::uuid, ordinal, '', n, 'internal' FROM unnest($1::text[], $3::int[], $4::int[]) AS u(id, ordinal, n)`,
        [
          batch.map((c) => c.id),
          doc.id,
          batch.map((c) => Number(c.id.split(":")[1])),
          batch.map((c) => c.tokens.length),
        ],
      );
      const rows = batch.map((c) => postingsOf(c.id, c.tokens));
      await insertPostings(tx, rows);
    }
    await tx.query(
      "UPDATE documents SET status = 'ready', chunk_count = $2, token_count = $3 WHERE id = $1",
      [doc.id, doc.chunks.length, doc.chunks.reduce((n, c) => n + c.tokens.length, 0)],
    );
  });
}

function makeDoc(
  draw: () => string,
  next: () => number,
  ordinal: number,
  tokens = { least: 3, spread: 60 },
): Doc {
  const id = randomUUID();
  const count = 1 + Math.floor(next() * 12);
  return {
    id,
    group: ordinal % 3 === 0 ? "a" : "b",
    chunks: Array.from({ length: count }, (_, i) => ({
      id: `${id}:${i}`,
      tokens: Array.from({ length: tokens.least + Math.floor(next() * tokens.spread) }, draw),
    })),
  };
}

/** Okapi BM25 over the documents in memory: the textbook formula, nothing shared with the SQL. */
function reference(docs: readonly Doc[], query: readonly string[], filter?: Filters): Scored[] {
  const chunks = docs.flatMap((d) => d.chunks.map((c) => ({ ...c, doc: d })));
  const avgdl = chunks.reduce((n, c) => n + c.tokens.length, 0) / chunks.length;
  const scores = new Map<string, number>();
  const qtf = new Map<string, number>();
  for (const t of query) qtf.set(t, (qtf.get(t) ?? 0) + 1);
  for (const [term, q] of qtf) {
    const df = chunks.filter((c) => c.tokens.includes(term)).length;
    if (df === 0) continue;
    const idf = q * Math.log(1 + (chunks.length - df + 0.5) / (df + 0.5));
    for (const c of chunks) {
      if (filter?.documentIds && !filter.documentIds.includes(c.doc.id)) continue;
      if (filter?.metadata && filter.metadata.group !== c.doc.group) continue;
      const tf = c.tokens.filter((t) => t === term).length;
      if (tf === 0) continue;
      const s =
        (idf * tf * (BM25.k1 + 1)) /
        (tf + BM25.k1 * (1 - BM25.b + (BM25.b * c.tokens.length) / avgdl));
      scores.set(c.id, (scores.get(c.id) ?? 0) + s);
    }
  }
  return [...scores].map(([chunkId, score]) => ({ chunkId, score }));
}

/** Rankings compared with ties broken by chunk id, scores to 1e-9 (float sums differ in order). */
function ranked(results: readonly Scored[], limit: number): string[] {
  return [...results]
    .sort((x, y) => y.score - x.score || (x.chunkId < y.chunkId ? -1 : 1))
    .map((r) => ({ ...r, key: Math.round(r.score * 1e9) }))
    .sort((x, y) => y.key - x.key || (x.chunkId < y.chunkId ? -1 : 1))
    .slice(0, limit)
    .map((r) => `${r.chunkId} ${(r.key / 1e9).toFixed(6)}`);
}

describe.each(MODES)("BM25's pruned plan is exact (%s)", (mode) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  const docs: Doc[] = [];
  const next = rng(mode === "server" ? 7 : 11);
  const draw = zipf(3000, 1.05, next);
  let pruned = 0;
  let queries = 0;
  let memory: Bm25MemoryIndex;
  // Small corpora: every query takes the pruned path, with a small seed.
  const plan: Bm25Plan = {
    exhaustiveBelow: 0,
    seedPostings: 40,
    skippedShare: 1,
    observe: (read) => {
      queries++;
      if (read.terms < read.of) pruned++;
    },
  };

  beforeAll(async () => {
    ({ db, cleanup } = await migratedDb(mode));
    await add(120);
    // Small blocks of postings are what the corpus has; compaction as soon as a chunk is dead.
    memory = new Bm25MemoryIndex(db, { syncEveryMs: 0, compactShare: 0 });
    await memory.load();
  }, 120_000);
  afterAll(async () => {
    memory?.close();
    await cleanup?.();
  });

  /** Indexes `count` new documents whose chunks have `tokens.least` + [0, `tokens.spread`) tokens. */
  async function add(count: number, tokens?: { least: number; spread: number }): Promise<void> {
    for (let i = 0; i < count; i++) {
      const doc = makeDoc(draw, next, i, tokens);
      docs.push(doc);
      await index(db, doc);
    }
  }

  /** Random questions of 1 to 7 Zipf-drawn terms (repeats and unknown terms included). */
  async function check(rounds: number): Promise<void> {
    for (let q = 0; q < rounds; q++) {
      const query = Array.from({ length: 1 + Math.floor(next() * 7) }, draw);
      if (q % 7 === 0) query.push("never-indexed");
      const limit = [1, 3, 10, 50][q % 4]!;
      const filters: Filters | undefined =
        q % 5 === 1
          ? { metadata: { group: "a" } }
          : q % 5 === 2
            ? { documentIds: docs.filter((_, i) => i % 4 === 0).map((d) => d.id) }
            : undefined;
      const got = await bm25Search(db, query, limit, filters, plan);
      const exact = await bm25SearchExact(db, query, limit, filters);
      const inMemory = await memory.search(query, limit, filters);
      const context = `query ${query.join(" ")}, top ${limit}, ${JSON.stringify(filters ?? {})}`;
      expect(ranked(got, limit), context).toEqual(ranked(exact, limit));
      expect(inMemory, "the copy is loaded").toBeDefined();
      expect(ranked(inMemory!, limit), `in memory: ${context}`).toEqual(ranked(exact, limit));
      expect(ranked(got, limit), context).toEqual(ranked(reference(docs, query, filters), limit));
    }
  }

  /** The folded and pending per-term statistics agree with the postings themselves. */
  async function statisticsMatchPostings(): Promise<void> {
    const mismatches = await db.query(
      `WITH s AS (
         SELECT term, sum(df) AS df FROM (
           SELECT term, df FROM bm25_terms UNION ALL SELECT term, df FROM bm25_term_changes) x
         GROUP BY term),
       p AS (SELECT term, count(*) AS df, max(tf) AS max_tf, min(dl) AS min_dl FROM postings GROUP BY term)
       SELECT coalesce(s.term, p.term) AS term, s.df AS stats, p.df AS postings FROM s FULL JOIN p ON p.term = s.term
       WHERE coalesce(s.df, 0) <> coalesce(p.df, 0)
       UNION ALL
       SELECT p.term, t.max_tf, p.max_tf FROM p JOIN bm25_terms t ON t.term = p.term
       WHERE t.max_tf < p.max_tf OR t.min_dl > p.min_dl`,
    );
    expect(mismatches).toEqual([]);
  }

  it("returns the exact top k on a random corpus, filtered or not", async () => {
    await check(60);
    await statisticsMatchPostings();
    expect(pruned, "queries that skipped a term's postings").toBeGreaterThan(queries / 4);
  }, 120_000);

  it("stays exact after deletes, counted at once whether folded or still pending", async () => {
    for (const doc of docs.splice(0, 15))
      await db.query("DELETE FROM documents WHERE id = $1", [doc.id]);
    const [pending] = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM bm25_term_changes WHERE df < 0",
    );
    expect(pending!.n).toBeGreaterThan(0);
    await statisticsMatchPostings();
    await check(30);
    await foldTermStats(db);
    await statisticsMatchPostings();
    expect(await db.query("SELECT 1 FROM bm25_term_changes")).toEqual([]);
    await check(30);
  }, 120_000);

  it("stays exact after documents are indexed again with other text, and new ones added", async () => {
    for (const doc of docs.slice(0, 10)) {
      doc.chunks = makeDoc(draw, next, 0).chunks.map((c, i) => ({ ...c, id: `${doc.id}:${i}` }));
      await index(db, doc);
    }
    await add(10);
    await foldTermStats(db);
    await statisticsMatchPostings();
    await check(40);
  }, 120_000);

  it("stays exact as the average chunk length drifts up, then down", async () => {
    await add(25, { least: 150, spread: 250 });
    await check(30);
    for (const doc of docs.splice(-25))
      await db.query("DELETE FROM documents WHERE id = $1", [doc.id]);
    await add(40, { least: 1, spread: 6 });
    await foldTermStats(db);
    await statisticsMatchPostings();
    await check(30);
  }, 120_000);
});
