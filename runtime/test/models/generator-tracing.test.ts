/**
 * The model call's span: a client span per chat, named after the model, with the first streamed
 * token as an event (time to first token in the trace), through Ollama's client to a stand-in.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SpanKind } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatorFor } from "../../src/models/generator";
import { traced } from "../../src/tracing";

describe("the model call's span", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    provider.register();
    // Ollama's /api/chat: one JSON answer, or NDJSON pieces when streaming.
    server = createServer((req, res) => {
      let raw = "";
      req.on("data", (c) => (raw += c));
      req.on("end", () => {
        const streaming = (JSON.parse(raw) as { stream?: boolean }).stream === true;
        const piece = (content: string, done: boolean) =>
          JSON.stringify({ model: "m", message: { role: "assistant", content }, done });
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.end(
          streaming
            ? `${piece("Two spare ", false)}\n${piece("impellers [1].", true)}\n`
            : piece("Two spare impellers [1].", true),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await provider.shutdown();
  });

  it("is a client span of the request's trace, with the first token as an event", async () => {
    const generator = generatorFor({ provider: "ollama", model: "m", baseUrl }, 10_000);
    const context = [{ n: 1, chunkId: "d:0", documentName: "pumps.md", text: "Two spares." }];
    const pieces: string[] = [];
    await traced("POST /v1/query", {}, async () => {
      await generator.generate("How many spares?", context);
      await generator.generate("How many spares?", context, (p) => pieces.push(p));
    });
    expect(pieces.join("")).toBe("Two spare impellers [1].");
    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.name === "POST /v1/query")!;
    const chats = spans.filter((s) => s.name === "chat ollama:m");
    expect(chats).toHaveLength(2);
    for (const chat of chats) {
      expect(chat.kind).toBe(SpanKind.CLIENT);
      expect(chat.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(chat.attributes).toMatchObject({
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "ollama:m",
      });
    }
    // Only the streamed answer has a first token to mark, once.
    expect(chats.map((c) => c.events.map((e) => e.name))).toEqual([[], ["first_token"]]);
  });
});
