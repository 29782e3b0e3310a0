/**
 * Embedding providers. The offline default is a real algorithm that needs no weights: signed
 * feature hashing of stemmed words, word bigrams and character trigrams, with sublinear term
 * weights, L2-normalised ("local-hashed-ngrams"). Ollama and any OpenAI-compatible server (vLLM,
 * TEI, OpenAI, Azure OpenAI) are the real models.
 */
import type { RuntimeConfig } from "../config";
import { fnv1a32, loadTokenizer, tokenize, words } from "../search/tokenize";
import { fetchStartingWithin, MODEL_RETRIES } from "./fetch";

export interface Embedder {
  /** Model identity: vectors of different ids are never mixed in one index. */
  readonly id: string;
  readonly dimensions: number;
  embedDocuments(texts: readonly string[]): Promise<number[][]>;
  embedQuery(text: string): Promise<number[]>;
}

export const LOCAL_EMBEDDER_ID = "local-hashed-ngrams";
/**
 * The hashed embedder is a lexical signal BM25 already carries: fused with it, ARAGOG dev's hit
 * rate drops (0.824 -> 0.794 at weight 0.1-0.2, 0.559 at 0.5). Its vectors are stored (so a
 * FUSION_VECTOR_WEIGHT can turn them on) but weigh 0 by default; real models weigh 1.
 */
export const LOCAL_VECTOR_WEIGHT = 0;
const LOCAL_DIMENSIONS = 512;
const BATCH = 32;

export function normalize(v: number[]): number[] {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return norm === 0 ? v : v.map((x) => x / norm);
}

export class HashedNgramEmbedder implements Embedder {
  readonly id = LOCAL_EMBEDDER_ID;
  constructor(readonly dimensions: number = LOCAL_DIMENSIONS) {}

  embed(text: string): number[] {
    const features = new Map<string, number>();
    const add = (f: string, w: number) => features.set(f, (features.get(f) ?? 0) + w);
    const tokens = tokenize(text);
    tokens.forEach((t, i) => {
      add(`w:${t}`, 1);
      if (i > 0) add(`b:${tokens[i - 1]} ${t}`, 0.5);
    });
    for (const w of words(text)) {
      const padded = `^${w}$`;
      for (let i = 0; i + 3 <= padded.length; i++) add(`c:${padded.slice(i, i + 3)}`, 0.25);
    }
    const v = new Array<number>(this.dimensions).fill(0);
    for (const [f, count] of features) {
      const h = fnv1a32(f);
      v[h % this.dimensions]! += (h & 0x80000000 ? -1 : 1) * (1 + Math.log(count));
    }
    return normalize(v);
  }

  /** Embeds on the calling thread, giving the event loop a turn every few texts (the API shares it, embedded). */
  async embedDocuments(texts: readonly string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (const [i, t] of texts.entries()) {
      if (i > 0 && i % BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
      out.push(this.embed(t));
    }
    return out;
  }

  async embedQuery(text: string): Promise<number[]> {
    return this.embed(text);
  }
}

/** Models trained with task prefixes (nomic-embed-text) need them at both ends. */
function prefixes(model: string): { document: string; query: string } {
  return /nomic-embed/.test(model)
    ? { document: "search_document: ", query: "search_query: " }
    : { document: "", query: "" };
}

async function inBatches(
  texts: readonly string[],
  embed: (batch: string[]) => Promise<number[][]>,
): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += BATCH)
    out.push(...(await embed(texts.slice(i, i + BATCH))));
  return out;
}

class RemoteEmbedder implements Embedder {
  constructor(
    readonly id: string,
    readonly dimensions: number,
    private readonly model: string,
    private readonly call: (batch: string[]) => Promise<number[][]>,
  ) {}

  embedDocuments(texts: readonly string[]): Promise<number[][]> {
    const p = prefixes(this.model).document;
    return inBatches(texts, (batch) => this.call(batch.map((t) => p + t))).then((vs) =>
      vs.map(normalize),
    );
  }

  async embedQuery(text: string): Promise<number[]> {
    return normalize((await this.call([prefixes(this.model).query + text]))[0]!);
  }
}

/** Builds the configured embedder; remote ones are probed once for their dimensions. */
export async function createEmbedder(config: RuntimeConfig): Promise<Embedder> {
  const model = config.EMBEDDING_MODEL;
  const timeoutMs = config.EMBEDDING_TIMEOUT_SECONDS * 1000;
  switch (config.EMBEDDING_PROVIDER) {
    case "local":
      // It embeds tokens: a process without BM25 (the Kafka embed role) loads the tokenizer here.
      await loadTokenizer();
      return new HashedNgramEmbedder(config.EMBEDDING_DIMENSIONS);
    case "ollama": {
      const { Ollama } = await import("ollama");
      const client = new Ollama({
        host: config.EMBEDDING_BASE_URL,
        fetch: fetchStartingWithin(timeoutMs),
      });
      const m = model ?? "nomic-embed-text:v1.5";
      const call = async (input: string[]) => (await client.embed({ model: m, input })).embeddings;
      const dims = config.EMBEDDING_DIMENSIONS ?? (await call(["dimension probe"]))[0]!.length;
      return new RemoteEmbedder(`ollama:${m}`, dims, m, call);
    }
    case "openai": {
      const { default: OpenAI } = await import("openai");
      const client = new OpenAI({
        baseURL: config.EMBEDDING_BASE_URL,
        apiKey: config.EMBEDDING_API_KEY ?? "not-needed",
        timeout: timeoutMs,
        maxRetries: MODEL_RETRIES,
      });
      const m = model ?? "text-embedding-3-small";
      const call = async (input: string[]) =>
        (
          await client.embeddings.create({
            model: m,
            input,
            dimensions: config.EMBEDDING_DIMENSIONS,
          })
        ).data.map((d) => d.embedding);
      const dims = config.EMBEDDING_DIMENSIONS ?? (await call(["dimension probe"]))[0]!.length;
      return new RemoteEmbedder(`openai:${m}`, dims, m, call);
    }
    default: {
      const unreachable: never = config.EMBEDDING_PROVIDER;
      throw new Error(`unknown embedding provider ${String(unreachable)}`);
    }
  }
}
