/**
 * Answer generation with citations. The offline default is extractive: it composes the answer
 * from the sentences of the retrieved chunks that best cover the question, each cited. Ollama,
 * OpenAI-compatible servers and Anthropic generate from a prompt that carries the chunks with
 * their citation numbers.
 */
import type { RuntimeConfig } from "../config";
import { sentences } from "../ingest/chunk";
import { tokenize } from "../search/tokenize";
import { fetchStartingWithin, MODEL_RETRIES } from "./fetch";

export interface Context {
  /** The citation number the prompt and the answer use: [1], [2]... */
  readonly n: number;
  readonly chunkId: string;
  readonly documentName: string;
  readonly text: string;
}

export interface Generator {
  readonly id: string;
  /**
   * The answer; `onToken` receives it piece by piece when streaming. `signal` stops the model
   * (the request to its server is cancelled) when whoever asked has gone.
   */
  generate(
    question: string,
    contexts: readonly Context[],
    onToken?: (piece: string) => void,
    signal?: AbortSignal,
  ): Promise<string>;
}

export const SYSTEM_PROMPT =
  "You answer questions using only the numbered context passages. Cite every claim with the passage numbers in square brackets, e.g. [1] or [2][3]. " +
  "If the passages do not contain the answer, say so plainly. Be concise.";

export function userPrompt(question: string, contexts: readonly Context[]): string {
  const blocks = contexts
    .map((c) => `[${c.n}] (${c.documentName}, chunk ${c.chunkId})\n${c.text}`)
    .join("\n\n");
  return `Context passages:\n\n${blocks}\n\nQuestion: ${question}`;
}

/** Citation numbers an answer uses, in order of first use. */
export function citedNumbers(answer: string): number[] {
  const seen: number[] = [];
  for (const m of answer.matchAll(/\[(\d+)\]/g)) {
    const n = Number(m[1]);
    if (!seen.includes(n)) seen.push(n);
  }
  return seen;
}

/** Sentences, with bullet lists split into their items and run-ons cut at 60 words. */
export function answerUnits(text: string): string[] {
  return sentences(text.replace(/\s+/g, " "))
    .flatMap((s) => s.split(/\s*[•▪◦]\s*/))
    .map((s) => s.trim())
    .filter((s) => s.split(" ").length >= 4)
    .map((s) => {
      const ws = s.split(" ");
      return ws.length > 60 ? `${ws.slice(0, 60).join(" ")}…` : s;
    });
}

export class ExtractiveGenerator implements Generator {
  readonly id = "extractive";
  constructor(private readonly maxSentences = 3) {}

  async generate(
    question: string,
    contexts: readonly Context[],
    onToken?: (piece: string) => void,
  ): Promise<string> {
    const q = new Set(tokenize(question));
    if (contexts.length === 0 || q.size === 0) {
      const none = "No indexed passage answers this question.";
      onToken?.(none);
      return none;
    }
    const candidates = contexts.flatMap((c, rank) =>
      answerUnits(c.text).map((s, position) => {
        const tokens = new Set(tokenize(s));
        const overlap = [...q].filter((t) => tokens.has(t)).length;
        // Coverage of the question, density (short, on-topic sentences), a prior for better-ranked chunks.
        const score =
          overlap / q.size +
          (tokens.size > 0 ? 0.5 * (overlap / tokens.size) : 0) +
          0.1 / (1 + rank) -
          0.001 * position;
        return { sentence: s.trim(), n: c.n, score, tokens };
      }),
    );
    const chosen: typeof candidates = [];
    const covered = new Set<string>();
    for (const c of candidates.sort((a, b) => b.score - a.score)) {
      if (chosen.length >= this.maxSentences) break;
      const adds = [...c.tokens].filter((t) => q.has(t) && !covered.has(t)).length;
      if (c.score <= 0.1 || (chosen.length > 0 && adds === 0)) continue;
      chosen.push(c);
      c.tokens.forEach((t) => covered.add(t));
    }
    if (chosen.length === 0) chosen.push(candidates[0]!);
    const parts = chosen.map((c) => `${c.sentence.replace(/\s*[.;:,]?\s*$/, "")}. [${c.n}]`);
    parts.forEach((p, i) => onToken?.(i === 0 ? p : ` ${p}`));
    return parts.join(" ");
  }
}

class OllamaGenerator implements Generator {
  constructor(
    readonly id: string,
    private readonly host: string,
    private readonly model: string,
    private readonly timeoutMs: number,
  ) {}

  async generate(
    question: string,
    contexts: readonly Context[],
    onToken?: (piece: string) => void,
    signal?: AbortSignal,
  ): Promise<string> {
    const { Ollama } = await import("ollama");
    // A client per request: its fetch carries this request's signal (the Ollama client takes none).
    const client = new Ollama({
      host: this.host,
      fetch: fetchStartingWithin(this.timeoutMs, MODEL_RETRIES, signal),
    });
    const messages = [
      { role: "system", content: SYSTEM_PROMPT },
      { role: "user", content: userPrompt(question, contexts) },
    ];
    if (!onToken)
      return (await client.chat({ model: this.model, messages, stream: false })).message.content;
    let answer = "";
    for await (const part of await client.chat({ model: this.model, messages, stream: true })) {
      answer += part.message.content;
      onToken(part.message.content);
    }
    return answer;
  }
}

class OpenAIGenerator implements Generator {
  constructor(
    readonly id: string,
    private readonly baseURL: string | undefined,
    private readonly apiKey: string | undefined,
    private readonly model: string,
    private readonly timeoutMs: number,
  ) {}

  async generate(
    question: string,
    contexts: readonly Context[],
    onToken?: (piece: string) => void,
    signal?: AbortSignal,
  ): Promise<string> {
    const { default: OpenAI } = await import("openai");
    const client = new OpenAI({
      baseURL: this.baseURL,
      apiKey: this.apiKey ?? "not-needed",
      timeout: this.timeoutMs,
      maxRetries: MODEL_RETRIES,
    });
    const messages = [
      { role: "system" as const, content: SYSTEM_PROMPT },
      { role: "user" as const, content: userPrompt(question, contexts) },
    ];
    if (!onToken)
      return (
        (await client.chat.completions.create({ model: this.model, messages }, { signal }))
          .choices[0]?.message.content ?? ""
      );
    let answer = "";
    for await (const chunk of await client.chat.completions.create(
      { model: this.model, messages, stream: true },
      { signal },
    )) {
      const piece = chunk.choices[0]?.delta?.content ?? "";
      answer += piece;
      if (piece) onToken(piece);
    }
    return answer;
  }
}

class AnthropicGenerator implements Generator {
  constructor(
    readonly id: string,
    private readonly baseURL: string | undefined,
    private readonly apiKey: string,
    private readonly model: string,
    private readonly timeoutMs: number,
  ) {}

  async generate(
    question: string,
    contexts: readonly Context[],
    onToken?: (piece: string) => void,
    signal?: AbortSignal,
  ): Promise<string> {
    const { default: Anthropic } = await import("@anthropic-ai/sdk");
    const client = new Anthropic({
      apiKey: this.apiKey,
      baseURL: this.baseURL,
      timeout: this.timeoutMs,
      maxRetries: MODEL_RETRIES,
    });
    const request = {
      model: this.model,
      max_tokens: 1024,
      system: SYSTEM_PROMPT,
      messages: [{ role: "user" as const, content: userPrompt(question, contexts) }],
    };
    if (!onToken) {
      const message = await client.messages.create(request, { signal });
      return message.content.map((b) => (b.type === "text" ? b.text : "")).join("");
    }
    let answer = "";
    const stream = client.messages.stream(request, { signal });
    stream.on("text", (piece) => {
      answer += piece;
      onToken(piece);
    });
    await stream.finalMessage();
    return answer;
  }
}

export function createGenerator(config: RuntimeConfig): Generator {
  const timeoutMs = config.LLM_TIMEOUT_SECONDS * 1000;
  switch (config.LLM_PROVIDER) {
    case "extractive":
      return new ExtractiveGenerator();
    case "ollama":
      return new OllamaGenerator(
        `ollama:${config.LLM_MODEL ?? "llama3.2:1b"}`,
        config.LLM_BASE_URL!,
        config.LLM_MODEL ?? "llama3.2:1b",
        timeoutMs,
      );
    case "openai":
      return new OpenAIGenerator(
        `openai:${config.LLM_MODEL}`,
        config.LLM_BASE_URL,
        config.LLM_API_KEY,
        config.LLM_MODEL ?? "gpt-4o-mini",
        timeoutMs,
      );
    case "anthropic":
      return new AnthropicGenerator(
        `anthropic:${config.LLM_MODEL}`,
        config.LLM_BASE_URL,
        config.LLM_API_KEY!,
        config.LLM_MODEL ?? "claude-sonnet-4-5",
        timeoutMs,
      );
    default: {
      const unreachable: never = config.LLM_PROVIDER;
      throw new Error(`unknown LLM provider ${String(unreachable)}`);
    }
  }
}
