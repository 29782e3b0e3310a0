/**
 * /v1/query when the language model does not answer (a configured OpenAI-compatible server that
 * nothing listens for): a 503 that says what to do, in both the JSON and the streamed forms,
 * and nothing of the model's address or error reaches the client. And when the client hangs up
 * while the model is still at it: the model's request is cancelled, not left to run.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, freePorts, type Runtime, startRuntime } from "../support";

describe("/v1/query with the language model away", () => {
  let rt: Runtime;
  let modelUrl: string;
  beforeAll(async () => {
    modelUrl = `http://127.0.0.1:${(await freePorts(1))[0]}/v1`;
    rt = await startRuntime("embedded", {
      LLM_PROVIDER: "openai",
      LLM_BASE_URL: modelUrl,
      LLM_MODEL: "served-model",
    });
    const { document } = await rt.services.documents.create({
      name: "fusion.md",
      contentType: "text/markdown",
      bytes: new TextEncoder().encode(
        "# Fusion\n\nReciprocal rank fusion merges the BM25 and vector rankings.",
      ),
    });
    await rt.waitReady(document.id);
  });
  afterAll(async () => rt?.close());

  const ask = (headers: Record<string, string> = {}) =>
    rt.app.inject({
      method: "POST",
      url: "/v1/query",
      headers: { ...auth(), ...headers },
      payload: { question: "What does reciprocal rank fusion merge?", topK: 2 },
    });

  it("answers 503 with a retry hint and the way to the passages", async () => {
    const res = await ask();
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("10");
    expect(res.json()).toMatchObject({
      error: "generation_failed",
      message:
        "the language model failed to answer; try again shortly, or POST /v1/retrieve for the passages alone",
    });
    expect(res.body).not.toContain(modelUrl.replace("/v1", ""));
    // Retrieval itself still answers.
    const retrieved = await rt.app.inject({
      method: "POST",
      url: "/v1/retrieve",
      headers: auth(),
      payload: { question: "What does reciprocal rank fusion merge?", topK: 2 },
    });
    expect(retrieved.json().retrieved[0].documentName).toBe("fusion.md");
  });

  it("streams the passages, then the same error as an event", async () => {
    const res = await ask({ accept: "text/event-stream" });
    expect(res.statusCode).toBe(200);
    const events = res.body
      .split("\n\n")
      .filter(Boolean)
      .map((block) => block.split("\n")[0]!.replace("event: ", ""));
    expect(events).toEqual(["retrieved", "error"]);
    expect(res.body).toContain(
      "the language model failed to answer; try again shortly, or POST /v1/retrieve for the passages alone",
    );
  });
});

/**
 * A model server that never finishes: it answers nothing to a plain request and streams a token
 * every 100 ms to a streamed one (Ollama's NDJSON, OpenAI's server-sent events), recording when
 * each request's connection closes.
 */
async function endlessModel(): Promise<{
  url: string;
  requests: () => number;
  closed: () => number;
  close: () => Promise<void>;
}> {
  let requests = 0;
  let closed = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      requests++;
      res.on("close", () => closed++);
      if (!(JSON.parse(body) as { stream?: boolean }).stream) return; // thinks forever
      const openai = req.url!.startsWith("/v1/");
      res.writeHead(200, { "content-type": openai ? "text/event-stream" : "application/x-ndjson" });
      const tick = setInterval(() => {
        res.write(
          openai
            ? `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta: { content: "word " }, finish_reason: null }] })}\n\n`
            : `${JSON.stringify({ model: "m", message: { role: "assistant", content: "word " }, done: false })}\n`,
        );
      }, 100);
      res.on("close", () => clearInterval(tick));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    closed: () => closed,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe.each(["ollama", "openai"])("/v1/query when the client hangs up (%s)", (provider) => {
  let rt: Runtime;
  let model: Awaited<ReturnType<typeof endlessModel>>;
  let api: string;
  beforeAll(async () => {
    model = await endlessModel();
    rt = await startRuntime("embedded", {
      LLM_PROVIDER: provider,
      LLM_BASE_URL: provider === "openai" ? `${model.url}/v1` : model.url,
      LLM_MODEL: "m",
    });
    const { document } = await rt.services.documents.create({
      name: "fusion.md",
      contentType: "text/markdown",
      bytes: new TextEncoder().encode(
        "# Fusion\n\nReciprocal rank fusion merges the BM25 and vector rankings.",
      ),
    });
    await rt.waitReady(document.id);
    api = await rt.app.listen({ host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    await rt?.close();
    await model?.close();
  });

  it.each([false, true])("stops the model's request too (streamed: %s)", async (stream) => {
    const before = { requests: model.requests(), closed: model.closed() };
    const hangUp = new AbortController();
    const asked = fetch(`${api}/v1/query`, {
      method: "POST",
      headers: { ...auth(), "content-type": "application/json" },
      body: JSON.stringify({
        question: "What does reciprocal rank fusion merge?",
        topK: 1,
        stream,
      }),
      signal: hangUp.signal,
    }).then((res) => res.body?.getReader().read());
    await expect.poll(() => model.requests(), { timeout: 5000 }).toBe(before.requests + 1);
    expect(model.closed()).toBe(before.closed);
    hangUp.abort();
    await asked.catch(() => undefined);
    // Long before the model's 120 s timeout, and with no retry.
    await expect.poll(() => model.closed(), { timeout: 3000 }).toBe(before.closed + 1);
    await new Promise((r) => setTimeout(r, 700));
    expect(model.requests()).toBe(before.requests + 1);
  });
});
