/**
 * Hybrid retrieval: BM25 and vector similarity each propose candidates, reciprocal-rank fusion
 * merges them, an optional reranker reorders the head, and the top k come back with their text.
 *
 * BM25 and the chunks live in the database; the vector side (an embedding server, Qdrant) and the
 * reranker are services of their own. With SEARCH_BACKEND=qdrant, Qdrant holds both halves and
 * fuses them itself (qdrant-hybrid.ts); the database still gives the chunks' text. When one of those fails, retrieval goes on without it
 * (BM25 alone, or the fused order) and says so through `onDegraded`, rather than failing every
 * query while it is away.
 */
import type { Db } from "../db/db";
import { traced } from "../tracing";
import type { Embedder } from "../models/embedder";
import { bm25Search, type Scored } from "./bm25";
import type { Bm25MemoryEvent, Bm25MemoryIndex } from "./bm25-memory";
import { accessSql, type Filters } from "./filters";
import type { Reranker } from "./rerank";
import { tokenize } from "./tokenize";
import type { VectorIndex } from "./vector-index";
import { QdrantHybridIndex } from "./qdrant-hybrid";

export interface Retrieved {
  readonly documentId: string;
  readonly documentName: string;
  /** The heading the passage sits under, when its document has headings. */
  readonly heading?: string;
  readonly chunkId: string;
  readonly text: string;
  readonly score: number;
}

export interface RetrieveOptions {
  readonly question: string;
  readonly topK: number;
  readonly filters?: Filters;
}

export interface FusionWeights {
  readonly bm25: number;
  readonly vector: number;
}

/** k of reciprocal-rank fusion (Cormack et al. 2009). */
export const RRF_K = 60;
/** Candidates each retriever (BM25, vectors) hands to fusion. */
export const CANDIDATES = 50;
/**
 * Document prior: its weight in fusion and how many of a document's best chunks make the
 * document's score (ARAGOG dev: 0.735 -> 0.824 hit rate; stable for 1-5 chunks, weight 0.5-1).
 */
const DOC_PRIOR = { weight: 1, chunks: 3 } as const;
const RERANK_HEAD = 20;

/** Weighted reciprocal-rank fusion of ranked lists. */
export function fuse(lists: readonly { weight: number; results: readonly Scored[] }[]): Scored[] {
  const scores = new Map<string, number>();
  for (const { weight, results } of lists) {
    results.forEach((r, rank) =>
      scores.set(r.chunkId, (scores.get(r.chunkId) ?? 0) + weight / (RRF_K + rank + 1)),
    );
  }
  return [...scores.entries()]
    .map(([chunkId, score]) => ({ chunkId, score }))
    .sort((a, b) => b.score - a.score || a.chunkId.localeCompare(b.chunkId));
}

export interface RetrievalTimings {
  bm25Ms: number;
  /** Embedding the question and, with the Postgres backend, the vector search. */
  vectorMs: number;
  /** The Qdrant backend's one query (both halves, fused). */
  hybridMs: number;
  rerankMs: number;
}

/** The optional stages retrieval can go on without. */
export type DegradableStage = "vector" | "rerank";
export type Degraded = (stage: DegradableStage, error: unknown) => void;

export class Retriever {
  constructor(
    private readonly db: Db,
    private readonly embedder: Embedder,
    private readonly vectors: VectorIndex,
    private readonly reranker: Reranker | undefined,
    private readonly weights: FusionWeights = { bm25: 1, vector: 1 },
    private readonly observe?: (stage: keyof RetrievalTimings, ms: number) => void,
    private readonly onDegraded?: Degraded,
    /** BM25's in-memory copy (BM25_MEMORY); without it, the SQL plan answers. */
    private readonly memory?: Bm25MemoryIndex,
  ) {}

  /**
   * Starts loading the in-memory BM25 copy (an API process at start; otherwise the first search),
   * telling `log` what it does.
   */
  warm(log?: (event: Bm25MemoryEvent) => void): void {
    const memory = this.memory;
    if (memory && log) {
      const before = memory.log;
      memory.log = (event) => {
        before?.(event);
        log(event);
      };
    }
    memory?.start();
  }

  /** Waits for the in-memory BM25 copy to load (tests); false without one (BM25_MEMORY=false). */
  async warmed(): Promise<boolean> {
    if (!this.memory) return false;
    await this.memory.loaded();
    return true;
  }

  /** Stops the in-memory copy's catch-up and drops it. */
  close(): void {
    this.memory?.close();
  }

  /** BM25 from the in-memory copy once loaded (starting its load if need be), else the SQL plan. */
  async bm25(tokens: readonly string[], filters?: Filters): Promise<Scored[]> {
    this.memory?.start();
    return (
      (await this.memory?.search(tokens, CANDIDATES, filters)) ??
      bm25Search(this.db, tokens, CANDIDATES, filters)
    );
  }

  /** `fn`'s result, or `fallback` when it fails (reported as a degraded stage, to the service and the caller). */
  private async orElse<T>(
    stage: DegradableStage,
    fn: () => Promise<T>,
    fallback: T,
    caller?: Degraded,
  ): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      this.onDegraded?.(stage, error);
      caller?.(stage, error);
      return fallback;
    }
  }

  private async timed<T>(stage: keyof RetrievalTimings, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await traced(`retrieve.${stage.replace("Ms", "")}`, {}, fn);
    } finally {
      this.observe?.(stage, performance.now() - start);
    }
  }

  /** The top k; `degraded` hears of each optional stage that failed and was done without. */
  retrieve(options: RetrieveOptions, degraded?: Degraded): Promise<Retrieved[]> {
    return traced("retrieve", { "rag.top_k": options.topK }, () => this.run(options, degraded));
  }

  private async run(options: RetrieveOptions, degraded?: Degraded): Promise<Retrieved[]> {
    let ranked =
      this.vectors instanceof QdrantHybridIndex
        ? await this.inQdrant(this.vectors, options, degraded)
        : await this.fused(options, degraded);
    const head = await this.load(
      ranked
        .slice(0, this.reranker ? Math.max(RERANK_HEAD, options.topK) : options.topK)
        .map((r) => r.chunkId),
      options.filters,
    );
    if (this.reranker && head.length > 1) {
      const scores = await this.orElse(
        "rerank",
        () =>
          this.timed("rerankMs", () =>
            this.reranker!.rerank(
              options.question,
              head.map((h) => h.text),
            ),
          ),
        undefined,
        degraded,
      );
      if (scores)
        ranked = head
          .map((h, i) => ({ chunkId: h.chunkId, score: scores[i]! }))
          .sort((a, b) => b.score - a.score);
    }
    const byId = new Map(head.map((h) => [h.chunkId, h]));
    return ranked
      .filter((r) => byId.has(r.chunkId))
      .slice(0, options.topK)
      .map((r) => ({ ...byId.get(r.chunkId)!, score: r.score }));
  }

  /** BM25 in the database and the vector index's candidates, fused here with the document prior. */
  private async fused(options: RetrieveOptions, degraded?: Degraded): Promise<Scored[]> {
    const [lexical, semantic] = await Promise.all([
      this.timed("bm25Ms", () => this.bm25(tokenize(options.question), options.filters)),
      this.weights.vector > 0
        ? this.orElse(
            "vector",
            () =>
              this.timed("vectorMs", async () =>
                this.vectors.search(
                  this.db,
                  await this.embedder.embedQuery(options.question),
                  CANDIDATES,
                  options.filters,
                ),
              ),
            [],
            degraded,
          )
        : Promise.resolve([]),
    ]);
    const prior = await this.documentPrior(lexical);
    return fuse([
      { weight: this.weights.bm25, results: lexical },
      { weight: this.weights.vector, results: semantic },
      { weight: DOC_PRIOR.weight, results: prior },
    ]);
  }

  /**
   * Both halves in one Qdrant query, fused there (with equal weights: a weight of 0 leaves its
   * half out). Without the embedding server, the sparse half answers alone.
   */
  private async inQdrant(
    index: QdrantHybridIndex,
    options: RetrieveOptions,
    degraded?: Degraded,
  ): Promise<Scored[]> {
    const vector =
      this.weights.vector > 0
        ? await this.orElse(
            "vector",
            () => this.timed("vectorMs", () => this.embedder.embedQuery(options.question)),
            undefined,
            degraded,
          )
        : undefined;
    return this.timed("hybridMs", () =>
      index.query({
        tokens: this.weights.bm25 > 0 ? tokenize(options.question) : [],
        vector,
        limit: CANDIDATES,
        filters: options.filters,
      }),
    );
  }

  /**
   * Ranks the lexical candidates by how well their whole document matches (the sum of its best
   * chunks' scores), then by their own score: questions about one paper favour that paper.
   */
  private async documentPrior(lexical: readonly Scored[]): Promise<Scored[]> {
    if (lexical.length === 0) return [];
    const rows = await this.db.query<{ id: string; document_id: string }>(
      "SELECT id, document_id FROM chunks WHERE id = ANY($1::text[])",
      [lexical.map((l) => l.chunkId)],
    );
    const docOf = new Map(rows.map((r) => [r.id, r.document_id]));
    const perDoc = new Map<string, number[]>();
    for (const l of lexical) {
      const d = docOf.get(l.chunkId);
      if (d) perDoc.set(d, [...(perDoc.get(d) ?? []), l.score]);
    }
    const docScore = new Map(
      [...perDoc].map(([d, scores]) => [
        d,
        scores.slice(0, DOC_PRIOR.chunks).reduce((a, b) => a + b, 0),
      ]),
    );
    return [...lexical].sort(
      (a, b) =>
        (docScore.get(docOf.get(b.chunkId) ?? "") ?? 0) -
          (docScore.get(docOf.get(a.chunkId) ?? "") ?? 0) || b.score - a.score,
    );
  }

  /**
   * The chunks' text and document, of those the caller may see: the searches already kept to
   * that, and an index that answered with more (a Qdrant point written without its label) is
   * held to it here, in the same query.
   */
  private async load(
    chunkIds: readonly string[],
    filters: Filters | undefined,
  ): Promise<Omit<Retrieved, "score">[]> {
    if (chunkIds.length === 0) return [];
    const access = accessSql(filters, "c", 2);
    const rows = await this.db.query<{
      chunk_id: string;
      document_id: string;
      document_name: string;
      heading: string | null;
      text: string;
    }>(
      `SELECT c.id AS chunk_id, c.document_id, d.name AS document_name, c.heading, c.text
       FROM chunks c JOIN documents d ON d.id = c.document_id
       WHERE ${["c.id = ANY($1::text[])", "d.status = 'ready'", ...access.clauses].join(" AND ")}`,
      [chunkIds, ...access.params],
    );
    const byId = new Map(rows.map((r) => [r.chunk_id, r]));
    return chunkIds.flatMap((id) => {
      const r = byId.get(id);
      return r
        ? [
            {
              chunkId: r.chunk_id,
              documentId: r.document_id,
              documentName: r.document_name,
              ...(r.heading ? { heading: r.heading } : {}),
              text: r.text,
            },
          ]
        : [];
    });
  }
}
