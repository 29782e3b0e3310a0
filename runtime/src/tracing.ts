/**
 * OpenTelemetry traces, on when OTEL_EXPORTER_OTLP_ENDPOINT is set: HTTP server/client spans
 * and the pipeline's own spans (ingest stages, retrieval stages) exported over OTLP/HTTP.
 * Without an endpoint the API's tracer is a no-op and costs nothing.
 */
import { type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import type { RuntimeConfig } from "./config";

export const tracer = trace.getTracer("rag-runtime");

/** Runs `fn` in a span named `name`, recording failures. */
export async function traced<T>(
  name: string,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
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
