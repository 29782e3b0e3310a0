/**
 * Answer generation with citations. The offline default is extractive: it composes the answer
 * from the sentences of the retrieved chunks that best cover the question, each cited. Ollama,
 * OpenAI-compatible servers, Anthropic, and the managed providers (Azure OpenAI, Vertex AI's
 * OpenAI-compatible endpoint, Bedrock) generate from a prompt that carries the chunks with their
 * citation numbers. Named routes (MODEL_ROUTES) pick among them per request.
 */
import { SpanKind } from "@opentelemetry/api";
import type OpenAI from "openai" with { "resolution-mode": "import" };
import { DEFAULT_ROUTE, type ModelRoute, type RuntimeConfig } from "../config";
import { sentences } from "../ingest/chunk";
import { tokenize } from "../search/tokenize";
import { traced } from "../tracing";
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
  /**
   * One answer to a free prompt, for the small jobs around an answer (rewriting a follow-up into
   * a standalone question); absent for the extractive generator, which has no model.
   */
  complete?(system: string, user: string, signal?: AbortSignal): Promise<string>;
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

/**
 * A model behind a chat API: an answer is one exchange of the system prompt and the question with
 * its passages; a free prompt (`complete`) is one exchange of its own.
 */
abstract class ChatGenerator implements Generator {
  abstract readonly id: string;

  protected abstract chat(
    system: string,
    user: string,
    onToken?: (piece: string) => void,
    signal?: AbortSignal,
  ): Promise<string>;

  generate(
    question: string,
    contexts: readonly Context[],
    onToken?: (piece: string) => void,
    signal?: AbortSignal,
  ): Promise<string> {
    return this.tracedChat(SYSTEM_PROMPT, userPrompt(question, contexts), onToken, signal);
  }

  complete(system: string, user: string, signal?: AbortSignal): Promise<string> {
    return this.tracedChat(system, user, undefined, signal);
  }

  /** The model call in a client span; its first token is an event (time to first token). */
  private tracedChat(
    system: string,
    user: string,
    onToken?: (piece: string) => void,
    signal?: AbortSignal,
  ): Promise<string> {
    return traced(
      `chat ${this.id}`,
      { "gen_ai.operation.name": "chat", "gen_ai.request.model": this.id },
      (span) => {
        let first = true;
        const onPiece =
          onToken &&
          ((piece: string) => {
            if (first) span.addEvent("first_token");
            first = false;
            onToken(piece);
          });
        return this.chat(system, user, onPiece, signal);
      },
      { kind: SpanKind.CLIENT },
    );
  }
}

class OllamaGenerator extends ChatGenerator {
  constructor(
    readonly id: string,
    private readonly host: string,
    private readonly model: string,
    private readonly timeoutMs: number,
  ) {
    super();
  }

  protected async chat(
    system: string,
    user: string,
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
      { role: "system", content: system },
      { role: "user", content: user },
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

/** Options every OpenAI client gets: the runtime's timeout and retries (models/fetch.ts). */
function clientOptions(timeoutMs: number) {
  return { timeout: timeoutMs, maxRetries: MODEL_RETRIES };
}

/** OpenAI's chat completions API, from any client that speaks it (OpenAI-compatible, Azure, Vertex). */
class OpenAIGenerator extends ChatGenerator {
  constructor(
    readonly id: string,
    private readonly model: string,
    /** A client for one request (a managed provider's token may have been renewed since the last). */
    private readonly client: () => Promise<OpenAI>,
  ) {
    super();
  }

  protected async chat(
    system: string,
    user: string,
    onToken?: (piece: string) => void,
    signal?: AbortSignal,
  ): Promise<string> {
    const client = await this.client();
    const messages = [
      { role: "system" as const, content: system },
      { role: "user" as const, content: user },
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

class AnthropicGenerator extends ChatGenerator {
  constructor(
    readonly id: string,
    private readonly baseURL: string | undefined,
    private readonly apiKey: string,
    private readonly model: string,
    private readonly timeoutMs: number,
  ) {
    super();
  }

  protected async chat(
    system: string,
    user: string,
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
      system,
      messages: [{ role: "user" as const, content: user }],
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

/** Bedrock's Converse API through the official client, with the workload's AWS identity. */
class BedrockGenerator extends ChatGenerator {
  private client:
    Promise<import("@aws-sdk/client-bedrock-runtime").BedrockRuntimeClient> | undefined;

  constructor(
    readonly id: string,
    private readonly route: Extract<ModelRoute, { provider: "bedrock" }>,
    private readonly timeoutMs: number,
  ) {
    super();
  }

  protected async chat(
    system: string,
    user: string,
    onToken?: (piece: string) => void,
    signal?: AbortSignal,
  ): Promise<string> {
    const { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } =
      await import("@aws-sdk/client-bedrock-runtime");
    const client = await (this.client ??= Promise.resolve(
      new BedrockRuntimeClient({
        region: this.route.region,
        endpoint: this.route.endpoint,
        maxAttempts: MODEL_RETRIES + 1,
        requestHandler: { connectionTimeout: this.timeoutMs, requestTimeout: this.timeoutMs },
      }),
    ));
    const input = {
      modelId: this.route.model,
      system: [{ text: system }],
      messages: [{ role: "user" as const, content: [{ text: user }] }],
      inferenceConfig: { maxTokens: 1024 },
    };
    if (!onToken) {
      const out = await client.send(new ConverseCommand(input), { abortSignal: signal });
      return (out.output?.message?.content ?? []).map((b) => b.text ?? "").join("");
    }
    const out = await client.send(new ConverseStreamCommand(input), { abortSignal: signal });
    let answer = "";
    for await (const event of out.stream ?? []) {
      const piece = event.contentBlockDelta?.delta?.text;
      if (piece) {
        answer += piece;
        onToken(piece);
      }
    }
    return answer;
  }
}

/** Vertex AI's OpenAI-compatible endpoint of a project and location. */
export function vertexBaseUrl(project: string, location: string): string {
  const host =
    location === "global" ? "aiplatform.googleapis.com" : `${location}-aiplatform.googleapis.com`;
  return `https://${host}/v1/projects/${project}/locations/${location}/endpoints/openapi`;
}

/** Azure OpenAI's Entra ID scope: the workload's identity instead of a key. */
export const AZURE_OPENAI_SCOPE = "https://cognitiveservices.azure.com/.default";

/** The generator of one route. `apiKeyFile` holds the file's content once the config is read. */
export function generatorFor(route: ModelRoute, timeoutMs: number): Generator {
  switch (route.provider) {
    case "extractive":
      return new ExtractiveGenerator();
    case "ollama":
      return new OllamaGenerator(`ollama:${route.model}`, route.baseUrl, route.model, timeoutMs);
    case "openai":
      return new OpenAIGenerator(`openai:${route.model}`, route.model, async () => {
        const { default: Client } = await import("openai");
        return new Client({
          baseURL: route.baseUrl,
          apiKey: route.apiKeyFile ?? "not-needed",
          ...clientOptions(timeoutMs),
        });
      });
    case "anthropic":
      return new AnthropicGenerator(
        `anthropic:${route.model}`,
        route.baseUrl,
        route.apiKeyFile,
        route.model,
        timeoutMs,
      );
    case "azure-openai": {
      // Entra ID without a key: the credential caches and renews its token.
      const token = route.apiKeyFile
        ? undefined
        : import("@azure/identity").then(({ DefaultAzureCredential, getBearerTokenProvider }) =>
            getBearerTokenProvider(new DefaultAzureCredential(), AZURE_OPENAI_SCOPE),
          );
      return new OpenAIGenerator(`azure-openai:${route.deployment}`, route.deployment, async () => {
        const { AzureOpenAI } = await import("openai");
        return new AzureOpenAI({
          endpoint: route.endpoint,
          deployment: route.deployment,
          apiVersion: route.apiVersion,
          ...(token ? { azureADTokenProvider: await token } : { apiKey: route.apiKeyFile }),
          ...clientOptions(timeoutMs),
        });
      });
    }
    case "vertex": {
      // The workload's identity (GKE Workload Identity, an attached service account): Application
      // Default Credentials, which cache and renew the token.
      const auth = import("google-auth-library").then(
        ({ GoogleAuth }) =>
          new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] }),
      );
      return new OpenAIGenerator(`vertex:${route.model}`, route.model, async () => {
        const { default: Client } = await import("openai");
        const token = await (await auth).getAccessToken();
        if (!token) throw new Error("Google's credentials gave no access token for Vertex AI");
        return new Client({
          baseURL: route.baseUrl ?? vertexBaseUrl(route.project, route.location),
          apiKey: token,
          ...clientOptions(timeoutMs),
        });
      });
    }
    case "bedrock":
      return new BedrockGenerator(`bedrock:${route.model}`, route, timeoutMs);
    default: {
      const unreachable: never = route;
      throw new Error(`unknown model provider ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The LLM_* settings as a route: the default one, unless MODEL_ROUTES names its own. */
function llmRoute(config: RuntimeConfig): ModelRoute {
  switch (config.LLM_PROVIDER) {
    case "extractive":
      return { provider: "extractive" };
    case "ollama":
      return {
        provider: "ollama",
        model: config.LLM_MODEL ?? "llama3.2:1b",
        baseUrl: config.LLM_BASE_URL!,
      };
    case "openai":
      return {
        provider: "openai",
        model: config.LLM_MODEL ?? "gpt-4o-mini",
        baseUrl: config.LLM_BASE_URL,
        apiKeyFile: config.LLM_API_KEY,
      };
    case "anthropic":
      return {
        provider: "anthropic",
        model: config.LLM_MODEL ?? "claude-sonnet-4-5",
        baseUrl: config.LLM_BASE_URL,
        apiKeyFile: config.LLM_API_KEY!,
      };
    default: {
      const unreachable: never = config.LLM_PROVIDER;
      throw new Error(`unknown LLM provider ${String(unreachable)}`);
    }
  }
}

export function createGenerator(config: RuntimeConfig): Generator {
  return generatorFor(llmRoute(config), config.LLM_TIMEOUT_SECONDS * 1000);
}

/** The named routes a request picks among: "default" (LLM_*) and MODEL_ROUTES's. */
export class ModelRoutes {
  constructor(private readonly routes: ReadonlyMap<string, Generator>) {}

  get names(): string[] {
    return [...this.routes.keys()].sort();
  }

  /** The route's generator; none when no route has that name. */
  pick(name: string = DEFAULT_ROUTE): Generator | undefined {
    return this.routes.get(name);
  }
}

export function createModelRoutes(config: RuntimeConfig): ModelRoutes {
  const timeoutMs = config.LLM_TIMEOUT_SECONDS * 1000;
  const routes = new Map<string, Generator>([[DEFAULT_ROUTE, createGenerator(config)]]);
  for (const [name, route] of Object.entries(config.MODEL_ROUTES ?? {}))
    routes.set(name, generatorFor(route, timeoutMs));
  return new ModelRoutes(routes);
}
