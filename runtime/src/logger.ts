import { trace } from "@opentelemetry/api";
import type { FastifyServerOptions } from "fastify";
import { SECRET_ENV, type RuntimeConfig } from "./config";

/** Paths pino must never print: credentials in headers and any secret-named field. */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  "req.headers.cookie",
  ...SECRET_ENV.map((name) => `*.${name}`),
];

/** Query strings that carry credentials: the authorization code and state of the SSO callback. */
const SECRET_QUERY_PATHS = ["/auth/callback"];

/** A request URL fit for a log line (the SSO callback's code and state left out). */
export function loggableUrl(url: string): string {
  const [path, query] = url.split("?", 2);
  return query !== undefined && SECRET_QUERY_PATHS.includes(path!) ? `${path}?[redacted]` : url;
}

/**
 * The active span's ids, for a log line: Grafana opens its trace in Tempo from the line's
 * trace_id. Nothing when no span is recording (tracing off).
 */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

export function loggerOptions(config: RuntimeConfig): FastifyServerOptions["logger"] {
  return {
    level: config.LOG_LEVEL,
    mixin: traceFields,
    base: { service: config.SERVICE_NAME },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    serializers: {
      req: (req: { method: string; url: string; host?: string; ip?: string }) => ({
        method: req.method,
        url: loggableUrl(req.url),
        host: req.host,
        remoteAddress: req.ip,
      }),
    },
  };
}
