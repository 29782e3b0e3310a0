/**
 * How long the runtime waits on a model server (src/models/fetch.ts), against a server that
 * accepts connections, reads requests and never writes a byte back: every client, generation
 * and embeddings, streamed or not, gives up after its configured time instead of the SDKs'
 * ten minutes; and against one that answers 503: each of them asks once more, then gives up.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { createEmbedder } from "../../src/models/embedder";
import { MODEL_RETRIES } from "../../src/models/fetch";
import { createGenerator } from "../../src/models/generator";
import { silentServer } from "../support";

const contexts = [
  { n: 1, chunkId: "d:1", documentName: "bert.pdf", text: "BERT is pre-trained with two tasks." },
];

describe("a model server that never answers", () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  beforeAll(async () => {
    silent = await silentServer();
  });
  afterAll(async () => silent.close());
  const baseOf = (provider: string) => (provider === "openai" ? `${silent.url}/v1` : silent.url);

  it.each(["ollama", "openai", "anthropic"])(
    "is given up on after LLM_TIMEOUT_SECONDS by the %s generator, streaming or not",
    { timeout: 20_000 },
    async (provider) => {
      const generator = createGenerator(
        loadRuntimeConfig({
          LLM_PROVIDER: provider,
          LLM_BASE_URL: baseOf(provider),
          LLM_API_KEY: "k",
          LLM_MODEL: "m",
          LLM_TIMEOUT_SECONDS: "1",
        }),
      );
      await expect(generator.generate("Which tasks?", contexts)).rejects.toThrow();
      await expect(generator.generate("Which tasks?", contexts, () => undefined)).rejects.toThrow();
    },
  );

  it.each(["ollama", "openai"])(
    "is given up on after EMBEDDING_TIMEOUT_SECONDS by the %s embedder, at start and for a query",
    { timeout: 20_000 },
    async (provider) => {
      const settings = {
        EMBEDDING_PROVIDER: provider,
        EMBEDDING_BASE_URL: baseOf(provider),
        EMBEDDING_MODEL: "m",
        EMBEDDING_TIMEOUT_SECONDS: "1",
      };
      // Without EMBEDDING_DIMENSIONS the embedder asks the server for them at start.
      await expect(createEmbedder(loadRuntimeConfig(settings))).rejects.toThrow();
      const embedder = await createEmbedder(
        loadRuntimeConfig({ ...settings, EMBEDDING_DIMENSIONS: "8" }),
      );
      await expect(embedder.embedQuery("Which tasks?")).rejects.toThrow();
    },
  );
});

describe("a model server that fails", () => {
  let server: Server;
  let url: string;
  /** Requests per path; each answers `failures` 503s before it succeeds (-1: always 503). */
  const seen = new Map<string, number>();
  let failures = -1;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const n = (seen.get(req.url!) ?? 0) + 1;
        seen.set(req.url!, n);
        if (failures < 0 || n <= failures) {
          res
            .writeHead(503, { "content-type": "application/json", "retry-after": "0" })
            .end(JSON.stringify({ error: "overloaded" }));
          return;
        }
        // An Ollama chat answer (the only success these tests ask for).
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            model: "m",
            message: { role: "assistant", content: "Masked language modelling [1]." },
            done: true,
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((r) => server.close(() => r())));
  const total = () => [...seen.values()].reduce((a, b) => a + b, 0);

  it.each(["ollama", "openai", "anthropic"])(
    "is asked twice (one retry) by the %s generator, then the error stands",
    { timeout: 20_000 },
    async (provider) => {
      seen.clear();
      failures = -1;
      const generator = createGenerator(
        loadRuntimeConfig({
          LLM_PROVIDER: provider,
          LLM_BASE_URL: provider === "openai" ? `${url}/v1` : url,
          LLM_API_KEY: "k",
          LLM_MODEL: "m",
        }),
      );
      await expect(generator.generate("Which tasks?", contexts)).rejects.toThrow();
      expect(total()).toBe(MODEL_RETRIES + 1);
    },
  );

  it.each(["ollama", "openai"])(
    "is asked twice (one retry) by the %s embedder",
    { timeout: 20_000 },
    async (provider) => {
      seen.clear();
      failures = -1;
      const embedder = await createEmbedder(
        loadRuntimeConfig({
          EMBEDDING_PROVIDER: provider,
          EMBEDDING_BASE_URL: provider === "openai" ? `${url}/v1` : url,
          EMBEDDING_MODEL: "m",
          EMBEDDING_DIMENSIONS: "8",
        }),
      );
      await expect(embedder.embedQuery("Which tasks?")).rejects.toThrow();
      expect(total()).toBe(MODEL_RETRIES + 1);
    },
  );

  it("answers through the Ollama generator when the retry succeeds", async () => {
    seen.clear();
    failures = 1;
    const generator = createGenerator(
      loadRuntimeConfig({ LLM_PROVIDER: "ollama", LLM_BASE_URL: url, LLM_MODEL: "m" }),
    );
    expect(await generator.generate("Which tasks?", contexts)).toBe(
      "Masked language modelling [1].",
    );
    expect(seen.get("/api/chat")).toBe(2);
  });
});
