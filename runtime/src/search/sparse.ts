/**
 * BM25 as sparse vectors, for an index that scores them itself (Qdrant). A chunk's vector holds,
 * per term of the runtime's tokenizer, BM25's term-frequency part with the length saturation
 * applied here; the index multiplies it by the term's IDF, which it counts over its own points
 * (Qdrant's `modifier: "idf"`, the same formula as bm25.ts). A query's vector holds each term's
 * count, as the SQL query weighs a repeated term.
 */
import { BM25 } from "./bm25";
import { fnv1a32, termFrequencies } from "./tokenize";

export interface SparseVector {
  readonly indices: number[];
  readonly values: number[];
}

/** A term's index in the sparse vectors: its 32-bit hash (Qdrant's indices are u32). */
export const termIndex = fnv1a32;

/** Sums the weights of terms whose hashes collide: an index may appear once per vector. */
function sparse(weights: Iterable<[string, number]>): SparseVector {
  const byIndex = new Map<number, number>();
  for (const [term, weight] of weights) {
    const i = termIndex(term);
    byIndex.set(i, (byIndex.get(i) ?? 0) + weight);
  }
  const indices = [...byIndex.keys()].sort((a, b) => a - b);
  return { indices, values: indices.map((i) => byIndex.get(i)!) };
}

/**
 * A chunk's vector: tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl)) per term. `averageLength` stands
 * for the corpus's mean chunk length, which a point's stored values cannot follow as the corpus
 * changes: the chunker's target length serves.
 */
export function documentVector(tokens: readonly string[], averageLength: number): SparseVector {
  const { k1, b } = BM25;
  const norm = k1 * (1 - b + (b * tokens.length) / averageLength);
  return sparse(
    [...termFrequencies(tokens)].map(([term, tf]) => [term, (tf * (k1 + 1)) / (tf + norm)]),
  );
}

/** A question's vector: each term's count. */
export function queryVector(tokens: readonly string[]): SparseVector {
  return sparse(termFrequencies(tokens));
}
