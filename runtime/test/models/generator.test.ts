import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { answerUnits, citedNumbers, createGenerator, ExtractiveGenerator, userPrompt } from "../../src/models/generator";
import { loadTokenizer } from "../../src/search/tokenize";

beforeAll(loadTokenizer);

const contexts = [
  { n: 1, chunkId: "d:1", documentName: "bert.pdf", text: "BERT is pre-trained with two tasks: the masked language model and next sentence prediction. It uses Wikipedia." },
  { n: 2, chunkId: "d:2", documentName: "bert.pdf", text: "Fine-tuning is straightforward. The model is small." },
];

describe("the extractive answerer", () => {
  it("answers from the best supporting sentences, each cited", async () => {
    const answer = await new ExtractiveGenerator().generate("Which tasks is BERT pre-trained on?", contexts);
    expect(answer).toMatch(/^BERT is pre-trained with two tasks: the masked language model and next sentence prediction\. \[1\]/);
    expect(citedNumbers(answer)).toEqual([1]);
  });

  it("streams the same answer piece by piece", async () => {
    const pieces: string[] = [];
    const answer = await new ExtractiveGenerator().generate("Which tasks is BERT pre-trained on?", contexts, (p) => pieces.push(p));
    expect(pieces.join("")).toBe(answer);
  });

  it("says so when nothing was retrieved", async () => {
    expect(await new ExtractiveGenerator().generate("anything?", [])).toBe("No indexed passage answers this question.");
  });

  it("splits bullet lists and cuts run-ons", () => {
    expect(answerUnits("Differences: • GPT uses BooksCorpus only • BERT adds Wikipedia text too")).toEqual(["GPT uses BooksCorpus only", "BERT adds Wikipedia text too"]);
  });
});

describe("prompts for model providers", () => {
  it("number the passages the answer must cite", () => {
    const prompt = userPrompt("Which tasks?", contexts);
    expect(prompt).toContain("[1] (bert.pdf, chunk d:1)\nBERT is pre-trained");
    expect(prompt).toContain("[2] (bert.pdf, chunk d:2)");
    expect(prompt.endsWith("Question: Which tasks?")).toBe(true);
    expect(citedNumbers("A [2] and B [1][2].")).toEqual([2, 1]);
  });
});

describe("a model server that never answers", () => {
  // Accepts connections and reads requests, and never writes a byte back.
  let server: Server;
  const sockets = new Set<Socket>();
  let url: string;
  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("data", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it.each([
    ["ollama", () => url],
    ["openai", () => `${url}/v1`],
    ["anthropic", () => url],
  ])("is given up on after LLM_TIMEOUT_SECONDS by the %s client, streaming or not", { timeout: 20_000 }, async (provider, base) => {
    const generator = createGenerator(loadRuntimeConfig({ LLM_PROVIDER: provider, LLM_BASE_URL: base(), LLM_API_KEY: "k", LLM_MODEL: "m", LLM_TIMEOUT_SECONDS: "1" }));
    await expect(generator.generate("Which tasks?", contexts)).rejects.toThrow();
    await expect(generator.generate("Which tasks?", contexts, () => undefined)).rejects.toThrow();
  });
});
