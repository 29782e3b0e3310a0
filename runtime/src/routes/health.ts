/**
 * /healthz (the process serves), /readyz (every backend answers, or those named with `check`),
 * /metrics (Prometheus). With METRICS_PORT set, /metrics is served on that port only
 * (serveMetrics in main.ts), out of the load balancer's reach.
 *
 * An orchestrator's readiness probe names only what a replica cannot serve without
 * (`/readyz?check=database`): an outage of a shared backend the service degrades around (the
 * queue, the object store, the vector index) would otherwise take every replica out of the load
 * balancer at once.
 */
import type { FastifyInstance } from "fastify";
import type { Services } from "../services";
import { withinMs } from "../timeout";

type Check = () => Promise<unknown>;

/** How long one readiness check may take: a probe or a load balancer wants its answer in seconds. */
export const READINESS_CHECK_MS = 5000;

export function healthRoutes(
  app: FastifyInstance,
  services: Pick<Services, "db" | "queue" | "store" | "vectors" | "metrics">,
  options: { metrics: boolean; checkTimeoutMs?: number } = { metrics: true },
): void {
  app.get(
    "/healthz",
    {
      schema: {
        summary: "Liveness: the process is up and serving",
        tags: ["operations"],
        response: { 200: { type: "object", properties: { status: { type: "string" } } } },
      },
    },
    async () => ({
      status: "ok",
    }),
  );

  const checkMs = options.checkTimeoutMs ?? READINESS_CHECK_MS;
  const checks: Record<string, Check> = {
    database: () => services.db.query("SELECT 1"),
    queue: () => services.queue.check(),
    objectStore: () => services.store.check(),
    vectors: () => services.vectors.check(),
  };
  app.get<{ Querystring: { check?: string[] } }>(
    "/readyz",
    {
      schema: {
        summary: "Readiness: each backend answers (or each one named by check)",
        tags: ["operations"],
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            check: {
              type: "array",
              items: { type: "string", enum: Object.keys(checks) },
              description: "Only these backends (repeat the parameter for more).",
            },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              status: { type: "string" },
              checks: { type: "object", additionalProperties: { type: "string" } },
            },
          },
          503: {
            type: "object",
            properties: {
              status: { type: "string" },
              checks: { type: "object", additionalProperties: { type: "string" } },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const asked = request.query.check;
      const results = await Promise.all(
        Object.entries(checks)
          .filter(([name]) => !asked || asked.includes(name))
          .map(async ([name, check]) => {
            try {
              await withinMs(checkMs, check(), `no answer within ${checkMs} ms`);
              return [name, "ok"] as const;
            } catch (error) {
              request.log.warn({ check: name, err: error }, "readiness check failed");
              return [name, "failing"] as const;
            }
          }),
      );
      const ready = results.every(([, r]) => r === "ok");
      return reply
        .status(ready ? 200 : 503)
        .send({ status: ready ? "ready" : "not_ready", checks: Object.fromEntries(results) });
    },
  );

  if (options.metrics) metricsRoute(app, services);
}

export function metricsRoute(app: FastifyInstance, services: Pick<Services, "metrics">): void {
  app.get(
    "/metrics",
    { schema: { summary: "Prometheus metrics", tags: ["operations"] } },
    async (_request, reply) => {
      reply.header("content-type", services.metrics.registry.contentType);
      return services.metrics.registry.metrics();
    },
  );
}
