import type { FastifyServerOptions } from "fastify";
import { SECRET_ENV, type RuntimeConfig } from "./config";

/** Paths pino must never print: credentials in headers and any secret-named field. */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers[\"x-api-key\"]",
  "req.headers.cookie",
  ...SECRET_ENV.map((name) => `*.${name}`),
];

export function loggerOptions(config: RuntimeConfig): FastifyServerOptions["logger"] {
  return {
    level: config.LOG_LEVEL,
    base: { service: config.SERVICE_NAME },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
  };
}
