/**
 * /v1/query when the language model does not answer (a configured OpenAI-compatible server that
 * nothing listens for): a 503 that says what to do, in both the JSON and the streamed forms,
 * and nothing of the model's address or error reaches the client.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, freePorts, type Runtime, startRuntime } from "../support";

describe("/v1/query with the language model away", () => {
  let rt: Runtime;
  let modelUrl: string;
  beforeAll(async () => {
    modelUrl = `http://127.0.0.1:${(await freePorts(1))[0]}/v1`;
    rt = await startRuntime("embedded", { LLM_PROVIDER: "openai", LLM_BASE_URL: modelUrl, LLM_MODEL: "served-model" });
    const { document } = await rt.services.documents.create({ name: "fusion.md", contentType: "text/markdown", bytes: new TextEncoder().encode("# Fusion\n\nReciprocal rank fusion merges the BM25 and vector rankings.") });
    await rt.waitReady(document.id);
  });
  afterAll(async () => rt?.close());

  const ask = (headers: Record<string, string> = {}) =>
    rt.app.inject({ method: "POST", url: "/v1/query", headers: { ...auth(), ...headers }, payload: { question: "What does reciprocal rank fusion merge?", topK: 2 } });

  it("answers 503 with a retry hint and the way to the passages", async () => {
    const res = await ask();
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("10");
    expect(res.json()).toMatchObject({ error: "generation_failed", message: "the language model failed to answer; try again shortly, or POST /v1/retrieve for the passages alone" });
    expect(res.body).not.toContain(modelUrl.replace("/v1", ""));
    // Retrieval itself still answers.
    const retrieved = await rt.app.inject({ method: "POST", url: "/v1/retrieve", headers: auth(), payload: { question: "What does reciprocal rank fusion merge?", topK: 2 } });
    expect(retrieved.json().retrieved[0].documentName).toBe("fusion.md");
  });

  it("streams the passages, then the same error as an event", async () => {
    const res = await ask({ accept: "text/event-stream" });
    expect(res.statusCode).toBe(200);
    const events = res.body.split("\n\n").filter(Boolean).map((block) => block.split("\n")[0]!.replace("event: ", ""));
    expect(events).toEqual(["retrieved", "error"]);
    expect(res.body).toContain("the language model failed to answer; try again shortly, or POST /v1/retrieve for the passages alone");
  });
});
