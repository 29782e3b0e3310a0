/**
 * How long the runtime waits on a model server (src/models/fetch.ts), against a server that
 * accepts connections, reads requests and never writes a byte back: every client, generation
 * and embeddings, streamed or not, gives up after its configured time instead of the SDKs'
 * ten minutes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { createEmbedder } from "../../src/models/embedder";
import { createGenerator } from "../../src/models/generator";
import { silentServer } from "../support";

const contexts = [{ n: 1, chunkId: "d:1", documentName: "bert.pdf", text: "BERT is pre-trained with two tasks." }];

describe("a model server that never answers", () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  beforeAll(async () => {
    silent = await silentServer();
  });
  afterAll(async () => silent.close());
  const baseOf = (provider: string) => (provider === "openai" ? `${silent.url}/v1` : silent.url);

  it.each(["ollama", "openai", "anthropic"])("is given up on after LLM_TIMEOUT_SECONDS by the %s generator, streaming or not", { timeout: 20_000 }, async (provider) => {
    const generator = createGenerator(loadRuntimeConfig({ LLM_PROVIDER: provider, LLM_BASE_URL: baseOf(provider), LLM_API_KEY: "k", LLM_MODEL: "m", LLM_TIMEOUT_SECONDS: "1" }));
    await expect(generator.generate("Which tasks?", contexts)).rejects.toThrow();
    await expect(generator.generate("Which tasks?", contexts, () => undefined)).rejects.toThrow();
  });

  it.each(["ollama", "openai"])("is given up on after EMBEDDING_TIMEOUT_SECONDS by the %s embedder, at start and for a query", { timeout: 20_000 }, async (provider) => {
    const settings = { EMBEDDING_PROVIDER: provider, EMBEDDING_BASE_URL: baseOf(provider), EMBEDDING_MODEL: "m", EMBEDDING_TIMEOUT_SECONDS: "1" };
    // Without EMBEDDING_DIMENSIONS the embedder asks the server for them at start.
    await expect(createEmbedder(loadRuntimeConfig(settings))).rejects.toThrow();
    const embedder = await createEmbedder(loadRuntimeConfig({ ...settings, EMBEDDING_DIMENSIONS: "8" }));
    await expect(embedder.embedQuery("Which tasks?")).rejects.toThrow();
  });
});
