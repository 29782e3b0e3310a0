/**
 * The HTTP application, built from a validated config. One error handler: 4xx keep their
 * message, 5xx never leak internals.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { RuntimeConfig } from "./config";
import { loggerOptions } from "./logger";

export interface AppOptions {
  readonly config: RuntimeConfig;
  /** Overrides for tests (e.g. `logger: false`). */
  readonly fastify?: FastifyServerOptions;
}

export async function buildApp({ config, fastify }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config),
    requestIdHeader: "x-request-id",
    genReqId: () => crypto.randomUUID(),
    ...fastify,
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error }, "request failed");
      return reply.status(status).send({ error: "internal_error", message: "internal error", requestId: request.id });
    }
    return reply.status(status).send({ error: error.code ?? "bad_request", message: error.message, requestId: request.id });
  });

  app.get(
    "/healthz",
    {
      schema: {
        summary: "Liveness: the process is up and serving",
        response: { 200: { type: "object", properties: { status: { type: "string" } }, required: ["status"] } },
      },
    },
    async () => ({ status: "ok" }),
  );

  return app;
}
