/**
 * OpenTelemetry traces, on when OTEL_EXPORTER_OTLP_ENDPOINT is set: HTTP server/client spans
 * and the pipeline's own spans (ingest stages, retrieval stages, the model call, Kafka produce
 * and consume) exported over OTLP/HTTP. A Kafka record carries its producer's W3C trace context
 * in its headers (traceparent, tracestate), so one upload is one trace from the API through
 * parse, embed and index. Without an endpoint the API's tracer is a no-op and costs nothing.
 */
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import type { RuntimeConfig } from "./config";

export const tracer = trace.getTracer("rag-runtime");

/** Where a span starts: its kind, and the context it continues (a record's producer). */
export interface SpanStart {
  readonly kind?: SpanKind;
  /** @default - the active context */
  readonly parent?: Context;
}

/** Runs `fn` in a span named `name`, recording failures. */
export async function traced<T>(
  name: string,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
  start: SpanStart = {},
): Promise<T> {
  const parent = start.parent ?? context.active();
  return tracer.startActiveSpan(name, { attributes, kind: start.kind }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Kafka record headers as the propagator's carrier: Buffer keys and values, read as UTF-8. */
type Headers = Map<Buffer, Buffer>;

const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()].map((k) => k.toString("utf8")),
  get: (headers, key) => {
    for (const [k, v] of headers) if (k.toString("utf8") === key) return v.toString("utf8");
    return undefined;
  },
};

/** The active span's trace context as Kafka record headers (none when nothing is traced). */
export function traceHeaders(): Headers {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return new Map(Object.entries(carrier).map(([k, v]) => [Buffer.from(k), Buffer.from(v)]));
}

/** The trace context a record's headers carry; a new trace when they carry none. */
export function contextOfHeaders(headers: Headers | undefined): Context {
  return headers ? propagation.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT;
}

/** Semantic-convention attributes of a Kafka operation on `topic`. */
export function kafkaAttributes(
  operation: "send" | "process",
  topic: string,
  key: string,
): Record<string, string> {
  return {
    "messaging.system": "kafka",
    "messaging.operation.type": operation,
    "messaging.destination.name": topic,
    "messaging.kafka.message.key": key,
  };
}

export interface Tracing {
  shutdown(): Promise<void>;
}

/** Starts the SDK when an OTLP endpoint is configured; call before serving. */
export async function startTracing(
  config: RuntimeConfig,
  role: string,
): Promise<Tracing | undefined> {
  if (!config.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const { NodeTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-node");
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
  const { resourceFromAttributes } = await import("@opentelemetry/resources");
  const { registerInstrumentations } = await import("@opentelemetry/instrumentation");
  const { HttpInstrumentation } = await import("@opentelemetry/instrumentation-http");
  const exporter = new OTLPTraceExporter({
    url: `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, "")}/v1/traces`,
  });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      "service.name": config.SERVICE_NAME,
      "service.instance.role": role,
    }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();
  registerInstrumentations({
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) =>
          ["/healthz", "/readyz", "/metrics"].includes(req.url ?? ""),
      }),
    ],
  });
  return { shutdown: () => provider.shutdown() };
}
