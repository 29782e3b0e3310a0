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

export function loggerOptions(config: RuntimeConfig): FastifyServerOptions["logger"] {
  return {
    level: config.LOG_LEVEL,
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
