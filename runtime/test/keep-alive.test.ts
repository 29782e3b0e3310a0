/**
 * HTTP_KEEP_ALIVE_SECONDS: how long the API keeps an idle client connection. Behind a load
 * balancer it must outlast the balancer's idle timeout (the tiers set it so), or the balancer
 * may send a request down a connection the API is closing and answer the client 502.
 */
import { createServer } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { auth, type Runtime, startRuntime } from "./support";

describe("idle client connections", () => {
  let rt: Runtime | undefined;
  afterEach(async () => {
    await rt?.close();
    rt = undefined;
  });

  /** A keep-alive connection that has made one request; `closed` settles when the server closes it. */
  async function idleConnection(): Promise<{ socket: Socket; closed: Promise<void> }> {
    const address = await rt!.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = new URL(address);
    const socket = connect(Number(port), "127.0.0.1");
    const closed = new Promise<void>((r) => socket.on("close", () => r()));
    const answered = new Promise<string>((r) => socket.once("data", (d) => r(d.toString())));
    socket.write("GET /healthz HTTP/1.1\r\nHost: api\r\nConnection: keep-alive\r\n\r\n");
    expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    return { socket, closed };
  }

  const within = (ms: number, p: Promise<void>) =>
    Promise.race([p.then(() => "closed"), new Promise((r) => setTimeout(() => r("open"), ms))]);

  it("closes one left idle for HTTP_KEEP_ALIVE_SECONDS", async () => {
    rt = await startRuntime("embedded", { HTTP_KEEP_ALIVE_SECONDS: "1" }, { worker: false });
    const { closed } = await idleConnection();
    expect(await within(3000, closed)).toBe("closed");
  });

  it("keeps it open longer by default (72 s, Fastify's)", async () => {
    rt = await startRuntime("embedded", {}, { worker: false });
    const { socket, closed } = await idleConnection();
    expect(await within(3000, closed)).toBe("open");
    socket.destroy();
  });

  // What a stopping replica's grace rests on (a Kubernetes pod's is as long as a request can
  // last): it closes what is idle at once, so it lingers only for what is in flight.
  it.each([false, true])(
    "closes idle ones at once when the API stops, and the one of an answer in flight once it is sent (streamed: %s)",
    async (stream) => {
      let asked = 0;
      const answer = "It merges rankings.";
      const model = createServer((req, res) => {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
          asked++;
          const streamed = (JSON.parse(body) as { stream?: boolean }).stream;
          const message = { role: "assistant", content: answer };
          const completion = streamed
            ? `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta: message, finish_reason: "stop" }] })}\n\ndata: [DONE]\n\n`
            : JSON.stringify({
                id: "c",
                object: "chat.completion",
                created: 0,
                model: "m",
                choices: [{ index: 0, message, finish_reason: "stop" }],
              });
          setTimeout(
            () =>
              res
                .writeHead(200, {
                  "content-type": streamed ? "text/event-stream" : "application/json",
                })
                .end(completion),
            1500,
          );
        });
      });
      await new Promise<void>((r) => model.listen(0, "127.0.0.1", r));
      try {
        rt = await startRuntime("embedded", {
          LLM_PROVIDER: "openai",
          LLM_BASE_URL: `http://127.0.0.1:${(model.address() as AddressInfo).port}/v1`,
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
        const idle = await idleConnection();
        const answered = fetch(
          `http://127.0.0.1:${(rt.app.server.address() as AddressInfo).port}/v1/query`,
          {
            method: "POST",
            headers: { ...auth(), "content-type": "application/json" },
            body: JSON.stringify({
              question: "What does reciprocal rank fusion merge?",
              topK: 1,
              stream,
            }),
          },
        ).then(async (res) => ({ status: res.status, body: await res.text() }));
        await expect.poll(() => asked, { timeout: 5000 }).toBe(1);
        const stopped = rt.app.close();
        expect(await within(500, idle.closed)).toBe("closed");
        expect(await within(0, stopped)).toBe("open");
        const { status, body } = await answered;
        expect(status).toBe(200);
        expect(body).toContain(answer);
        // Its connection kept for HTTP_KEEP_ALIVE_SECONDS (72 s), the API would not have stopped yet.
        expect(await within(1000, stopped)).toBe("closed");
      } finally {
        model.closeAllConnections();
        await new Promise<void>((r) => model.close(() => r()));
      }
    },
  );
});
