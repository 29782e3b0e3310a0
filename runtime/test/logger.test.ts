/** Log lines carry the active span's ids, so a line leads to its trace in Tempo. */
import { Writable } from "node:stream";
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { traceFields } from "../src/logger";
import { traced } from "../src/tracing";

describe("log lines and traces", () => {
  const provider = new NodeTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
  });
  beforeAll(() => provider.register());
  afterAll(() => provider.shutdown());

  it("name the trace and span they were written in, and nothing outside one", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const log = pino({ mixin: traceFields }, sink);
    const ids = await traced("retrieve", {}, async (span) => {
      log.info("inside");
      return span.spanContext();
    });
    log.info("outside");
    expect(lines[0]).toMatchObject({ msg: "inside", trace_id: ids.traceId, span_id: ids.spanId });
    expect(lines[1]!.msg).toBe("outside");
    expect(lines[1]).not.toHaveProperty("trace_id");
  });
});
