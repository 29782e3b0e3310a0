/**
 * Okapi BM25 computed in SQL from the postings (term, chunk, tf) and chunk lengths kept in
 * Postgres. Document frequencies and the average length are read at query time, so deletes
 * and new documents count immediately. Chunks and postings exist only for ready documents
 * (they commit with the status), so statistics need no join with documents.
 */
import type { Queryable } from "../db/db";
import { type Filters, filterSql } from "./filters";
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

export async function bm25Search(db: Queryable, queryTokens: readonly string[], limit: number, filters?: Filters): Promise<Scored[]> {
  const tf = termFrequencies(queryTokens);
  if (tf.size === 0) return [];
  const where = filterSql(filters, 4);
  const rows = await db.query<{ chunk_id: string; score: number }>(
    `WITH q AS (SELECT * FROM unnest($1::text[], $2::int[]) AS q(term, qtf)),
          corpus AS (SELECT count(*)::float8 AS n, coalesce(avg(token_count), 1)::float8 AS avgdl FROM chunks),
          df AS (SELECT p.term, count(*)::float8 AS df FROM postings p JOIN q ON q.term = p.term GROUP BY p.term)
     SELECT p.chunk_id,
            sum(q.qtf * ln(1 + (corpus.n - df.df + 0.5) / (df.df + 0.5))
                * (p.tf * (${BM25.k1} + 1)) / (p.tf + ${BM25.k1} * (1 - ${BM25.b} + ${BM25.b} * c.token_count / corpus.avgdl)))::float8 AS score
     FROM postings p
     JOIN q ON q.term = p.term
     JOIN df ON df.term = p.term
     JOIN chunks c ON c.id = p.chunk_id
     JOIN documents d ON d.id = c.document_id
     CROSS JOIN corpus
     WHERE ${where.sql}
     GROUP BY p.chunk_id
     ORDER BY score DESC, p.chunk_id
     LIMIT $3`,
    [[...tf.keys()], [...tf.values()], limit, ...where.params],
  );
  return rows.map((r) => ({ chunkId: r.chunk_id, score: Number(r.score) }));
}

/** Rows for the postings of one chunk. */
export function postingsOf(chunkId: string, tokens: readonly string[]): { terms: string[]; chunkIds: string[]; tfs: number[] } {
  const tf = termFrequencies(tokens);
  return { terms: [...tf.keys()], chunkIds: [...tf.keys()].map(() => chunkId), tfs: [...tf.values()] };
}

