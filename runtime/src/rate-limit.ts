/**
 * Request rate limits on the API (/v1) and single sign-on (/auth): RATE_LIMIT_PER_MINUTE per
 * client address, counted in Redis when Redis is configured (so every replica shares one count)
 * and in memory otherwise. Behind a load balancer the client address comes from X-Forwarded-For,
 * believed only from the proxies TRUST_PROXY names. Probes (/healthz, /readyz, /metrics), the
 * OpenAPI page and the UI's static files are never limited. If Redis cannot be reached the
 * request is served: the limiter protects the service, it must not take it down.
 */
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Redis } from "ioredis";
import type { RuntimeConfig } from "./config";
import { redisConfigured, redisConnection } from "./queue/queue";

const LIMITED_PREFIXES = ["/v1/", "/auth/"];

/**
 * Judged by the route the router matched, never by the URL as sent: the router decodes the path,
 * so `/%761/documents` reaches /v1/documents and must count as it does.
 */
export function isRateLimited(request: FastifyRequest): boolean {
  const route = request.routeOptions.url;
  return route === undefined || LIMITED_PREFIXES.some((prefix) => route.startsWith(prefix));
}

export async function registerRateLimit(
  app: FastifyInstance,
  config: RuntimeConfig,
): Promise<void> {
  const max = config.RATE_LIMIT_PER_MINUTE;
  if (max === 0) return;
  let redis: Redis | undefined;
  if (redisConfigured(config)) {
    // Fail fast: a slow limiter must not hold requests (skipOnError then serves them).
    redis = new Redis({
      ...redisConnection(config),
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
    });
    redis.on("error", () => undefined);
    const client = redis;
    app.addHook("onClose", async () => {
      await client.quit().catch(() => client.disconnect());
    });
  }
  await app.register(rateLimit, {
    global: true,
    max,
    timeWindow: 60_000,
    redis,
    nameSpace: `rag-rate-limit:${config.QUEUE_NAME}:`,
    skipOnError: true,
    allowList: (request) => !isRateLimited(request),
    keyGenerator: (request) => request.ip,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: "RATE_LIMITED",
      message: `too many requests from this client: at most ${context.max} a minute (RATE_LIMIT_PER_MINUTE); retry in ${context.after}`,
    }),
  });
}
