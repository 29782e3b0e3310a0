/**
 * One upload is one trace on the real broker: the API's produce, then each role's consume
 * (parse, embed, index) parented by the record's traceparent header, with the ingest stages
 * inside. Spans are kept in memory by the SDK's own exporter.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SpanKind } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaBus } from "../../src/kafka/bus";
import { waitFor } from "../../src/queue/queue";
import { traced } from "../../src/tracing";
import { auth, type Runtime, startRuntime } from "../support";
import { readTopicHeaders } from "./support";

describe("a trace across the Kafka bus", () => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const objects = mkdtempSync(join(tmpdir(), "rag-kafka-trace-"));
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let rt: Runtime;

  beforeAll(async () => {
    // The W3C propagator and the async-hooks context manager, as startTracing registers them.
    provider.register();
    rt = await startRuntime("kafka", {
      KAFKA_TOPIC_PREFIX: `${prefix}.`,
      KAFKA_GROUP_PREFIX: prefix,
      OBJECT_STORE_URL: `file://${objects}`,
    });
  });
  afterAll(async () => {
    await rt?.close();
    await provider.shutdown();
    rmSync(objects, { recursive: true, force: true });
  });

  it("parents each role's consume on the producer's span, from upload to index", async () => {
    const bus = rt.services.queue as KafkaBus;
    let requestId = "";
    // The API's request span (the HTTP instrumentation's, in production).
    const id = await traced("POST /v1/documents", {}, async () => {
      const res = await rt.app.inject({
        method: "POST",
        url: "/v1/documents",
        headers: auth(),
        payload: {
          name: "pumps.md",
          text: "# Pumps\n\nThe north pump station keeps two spare impellers for the winter season.",
          contentType: "text/markdown",
        },
      });
      expect(res.statusCode).toBe(202);
      requestId = res.headers["x-request-id"] as string;
      return res.json().id as string;
    });
    await rt.waitReady(id);
    // The document is ready once index commits its rows; index's consume span ends just after.
    const indexConsume = `process ${bus.topics.embedded}`;
    await waitFor(
      async () => exporter.getFinishedSpans().some((s) => s.name === indexConsume),
      30_000,
      "the index role's consume span to end",
    );

    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === "POST /v1/documents")!;
    // The request's id on its span: Tempo finds the trace from the id a client reports.
    expect(root.attributes["rag.request_id"]).toBe(requestId);
    const trace = spans.filter((s) => s.spanContext().traceId === root.spanContext().traceId);
    const one = (name: string, kind?: SpanKind) => {
      const found = trace.filter((s) => s.name === name && (kind === undefined || s.kind === kind));
      expect(found.map((s) => s.name)).toEqual([name]);
      return found[0]!;
    };
    const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
    const { topics } = bus;

    const produced = one(`send ${topics.documents}`, SpanKind.PRODUCER);
    expect(parentOf(produced)).toBe(root.spanContext().spanId);
    expect(produced.attributes).toMatchObject({
      "messaging.system": "kafka",
      "messaging.destination.name": topics.documents,
      "messaging.kafka.message.key": id,
    });
    // Each hop: the consumer's span is the child of the span that sent its record, and sends on.
    let sender = produced;
    for (const [topic, role, stage, next] of [
      [topics.documents, "parse", "ingest.parse", topics.parsed],
      [topics.parsed, "embed", "ingest.embed", topics.embedded],
      [topics.embedded, "index", "ingest.index", undefined],
    ] as const) {
      const consumed = one(`process ${topic}`, SpanKind.CONSUMER);
      expect(parentOf(consumed), `${role}'s consume`).toBe(sender.spanContext().spanId);
      expect(consumed.attributes["rag.role"]).toBe(role);
      expect(parentOf(one(stage)), stage).toBe(consumed.spanContext().spanId);
      if (!next) break;
      sender = one(`send ${next}`, SpanKind.PRODUCER);
      expect(parentOf(sender)).toBe(consumed.spanContext().spanId);
    }

    // On the wire: the document's record carries the producer's traceparent.
    const headers = await readTopicHeaders(topics.documents, id);
    expect(headers.traceparent).toBe(
      `00-${produced.spanContext().traceId}-${produced.spanContext().spanId}-01`,
    );
  });
});
