/**
 * Entry point: the ingest worker. It serves its own liveness endpoint on WORKER_HEALTH_PORT so
 * orchestrators can probe it without exposing the API.
 */
import Fastify from "fastify";
import { loadRuntimeConfig, RuntimeConfigError } from "./config";
import { onShutdown } from "./lifecycle";
import { loggerOptions } from "./logger";

async function start(): Promise<void> {
  const config = loadRuntimeConfig();
  const health = Fastify({ logger: loggerOptions(config) });
  health.get("/healthz", async () => ({ status: "ok", role: "worker" }));
  onShutdown(() => health.close(), (msg) => health.log.info(msg));
  await health.listen({ host: config.HOST ?? "127.0.0.1", port: config.WORKER_HEALTH_PORT });
  health.log.info({ queue: config.QUEUE_NAME, concurrency: config.WORKER_CONCURRENCY }, "ingest worker started");
}

start().catch((error: unknown) => {
  console.error(error instanceof RuntimeConfigError ? error.message : error);
  process.exit(1);
});
