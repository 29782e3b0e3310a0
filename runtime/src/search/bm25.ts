/**
 * Okapi BM25 computed in SQL from the postings (term, chunk, tf, chunk length) kept in Postgres.
 * Document frequencies are counted per query term from the postings' covering primary key
 * (an index-only scan), and the corpus size and average chunk length come from the per-document
 * totals, so deletes and new documents count immediately without scanning every chunk.
 * Chunks and postings exist only for ready documents (they commit with the status), so an
 * unfiltered search reads the postings alone; filters add the join with documents.
 */
import type { Queryable } from "../db/db";
import { type Filters, filterSql, hasFilters } from "./filters";
import { termFrequencies } from "./tokenize";

/**
 * k1 as usual; b lowered from the customary 0.75 because chunks are already of similar length,
 * so length normalisation mostly penalises the fuller chunks (measured on ARAGOG dev: 0.735 vs
 * 0.676 hit rate).
 */
export const BM25 = { k1: 1.2, b: 0.5 } as const;

export interface Scored {
  readonly chunkId: string;
  readonly score: number;
}

export async function bm25Search(
  db: Queryable,
  queryTokens: readonly string[],
  limit: number,
  filters?: Filters,
): Promise<Scored[]> {
  const tf = termFrequencies(queryTokens);
  if (tf.size === 0) return [];
  const filtered = hasFilters(filters);
  const where = filterSql(filters, 4);
  const { k1, b } = BM25;
  // float8 literals throughout: a bare 1.2 is numeric in Postgres, and numeric arithmetic over
  // every matching posting costs more than the rest of the query. The lateral OFFSET 0 keeps
  // each term's postings a range read of the primary key, whatever the planner's statistics say
  // (without them it would hash the whole postings table).
  const rows = await db.query<{ chunk_id: string; score: number }>(
    `WITH corpus AS (
       SELECT greatest(sum(chunk_count), 1)::float8 AS n, coalesce(sum(token_count)::float8 / nullif(sum(chunk_count), 0), 1)::float8 AS avgdl
       FROM documents WHERE status = 'ready'),
     q AS (
       SELECT u.term, u.qtf * ln(1 + (corpus.n - t.df + 0.5) / (t.df + 0.5)) AS idf, corpus.avgdl
       FROM unnest($1::text[], $2::int[]) AS u(term, qtf)
       CROSS JOIN corpus
       CROSS JOIN LATERAL (SELECT count(*)::float8 AS df FROM postings p WHERE p.term = u.term) t
       WHERE t.df > 0)
     SELECT p.chunk_id,
            sum(q.idf * (p.tf * ${k1 + 1}::float8) / (p.tf + ${k1}::float8 * (${1 - b}::float8 + ${b}::float8 * p.dl / q.avgdl)))::float8 AS score
     FROM q CROSS JOIN LATERAL (SELECT chunk_id, tf, dl FROM postings WHERE postings.term = q.term OFFSET 0) p
     ${filtered ? `JOIN chunks c ON c.id = p.chunk_id JOIN documents d ON d.id = c.document_id WHERE ${where.sql}` : ""}
     GROUP BY p.chunk_id
     ORDER BY score DESC, p.chunk_id
     LIMIT $3`,
    [[...tf.keys()], [...tf.values()], limit, ...where.params],
  );
  return rows.map((r) => ({ chunkId: r.chunk_id, score: Number(r.score) }));
}

/** Rows for the postings of one chunk: each term, its frequency and the chunk's length. */
export function postingsOf(
  chunkId: string,
  tokens: readonly string[],
): { terms: string[]; chunkIds: string[]; tfs: number[]; lengths: number[] } {
  const tf = termFrequencies(tokens);
  const terms = [...tf.keys()];
  return {
    terms,
    chunkIds: terms.map(() => chunkId),
    tfs: [...tf.values()],
    lengths: terms.map(() => tokens.length),
  };
}
