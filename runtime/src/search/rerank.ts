/**
 * Optional reranking through an HTTP endpoint: Hugging Face TEI (`POST /rerank` with
 * {query, texts} -> [{index, score}]) or the Cohere/Jina shape ({query, documents} ->
 * {results: [{index, relevance_score}]}).
 */
export interface Reranker {
  rerank(query: string, texts: readonly string[]): Promise<number[]>;
}

/** How long the rerank endpoint has to answer (no retry: retrieval goes on without it). */
export const RERANK_TIMEOUT_MS = 10_000;

export class HttpReranker implements Reranker {
  constructor(
    private readonly url: string,
    private readonly apiKey: string | undefined,
    private readonly timeoutMs = RERANK_TIMEOUT_MS,
  ) {}

  async rerank(query: string, texts: readonly string[]): Promise<number[]> {
    const res = await fetch(this.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
      },
      body: JSON.stringify({ query, texts, documents: texts, top_n: texts.length }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new Error(`rerank endpoint answered ${res.status}`);
    const body: unknown = await res.json();
    const items = Array.isArray(body) ? body : (body as { results?: unknown[] }).results;
    if (!Array.isArray(items)) throw new Error("rerank endpoint answered an unknown shape");
    const scores = new Array<number>(texts.length).fill(Number.NEGATIVE_INFINITY);
    for (const item of items as { index: number; score?: number; relevance_score?: number }[]) {
      scores[item.index] = Number(item.score ?? item.relevance_score);
    }
    return scores;
  }
}
