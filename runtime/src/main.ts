/**
 * Process lifecycle shared by the entry points: read the config once, build the services,
 * serve, and on SIGTERM/SIGINT stop taking work, finish what is in flight, close, exit.
 */
import Fastify from "fastify";
import { buildApp } from "./app";
import { loadRuntimeConfig, RuntimeConfigError, type RuntimeConfig } from "./config";
import { EmbeddingMismatchError, PgvectorMissingError } from "./db/schema";
import { onShutdown } from "./lifecycle";
import { loggerOptions } from "./logger";
import { createServices, type Services } from "./services";
import { ObjectStoreUrlError } from "./storage/object-store";
import { startTracing } from "./tracing";

export type Role = "server" | "worker" | "embedded";

const LOOPBACK = ["127.0.0.1", "::1", "localhost"];

export class StartupError extends Error {}

/** Without credentials configured the API only binds to loopback: nobody else can reach it. */
export function listenHost(config: RuntimeConfig, authRequired: boolean): string {
  if (authRequired) return config.HOST ?? "127.0.0.1";
  if (config.HOST && !LOOPBACK.includes(config.HOST)) {
    throw new StartupError(`HOST=${config.HOST} needs credentials: set ADMIN_API_KEY (or OIDC_ISSUER_URL); without them the server listens on 127.0.0.1 only`);
  }
  return "127.0.0.1";
}

async function serveApi(services: Services): Promise<() => Promise<void>> {
  const { app, auth, webUi } = await buildApp({ services });
  const host = listenHost(services.config, auth.required);
  await app.listen({ host, port: services.config.PORT });
  if (!auth.required) app.log.warn("no API key configured: requests are not authenticated; listening on 127.0.0.1 only");
  if (auth.sso && !services.config.PUBLIC_URL && services.config.TRUST_PROXY === undefined && host !== "127.0.0.1") {
    app.log.warn("single sign-on is on without PUBLIC_URL or TRUST_PROXY: redirect URIs follow each request's scheme and Host; behind a TLS-terminating load balancer set PUBLIC_URL");
  }
  if (webUi === "not-built") app.log.warn("the web UI is not built (npm run build:web -w runtime): serving the API only");
  return () => app.close();
}

async function serveWorkerHealth(services: Services): Promise<() => Promise<void>> {
  const health = Fastify({ logger: loggerOptions(services.config) });
  health.get("/healthz", async () => ({ status: "ok", role: "worker" }));
  health.get("/metrics", async (_req, reply) => reply.header("content-type", services.metrics.registry.contentType).send(await services.metrics.registry.metrics()));
  await health.listen({ host: services.config.HOST ?? "127.0.0.1", port: services.config.WORKER_HEALTH_PORT });
  health.log.info({ queue: services.queue.kind, concurrency: services.config.WORKER_CONCURRENCY }, "ingest worker started");
  return () => health.close();
}

export async function run(role: Role): Promise<void> {
  const config = loadRuntimeConfig();
  const tracing = await startTracing(config, role);
  const services = await createServices(config);
  const stops: (() => Promise<void>)[] = [];
  if (role !== "server") {
    await services.startWorker();
    if (role === "worker") stops.push(await serveWorkerHealth(services));
  }
  if (role !== "worker") stops.push(await serveApi(services));
  onShutdown(
    async () => {
      for (const stop of stops) await stop();
      await services.close();
      await tracing?.shutdown();
    },
    (msg) => console.error(msg),
  );
}

/** Known startup failures print one line; anything else prints in full. */
export function start(role: Role): void {
  run(role).catch((error: unknown) => {
    const known = [RuntimeConfigError, PgvectorMissingError, EmbeddingMismatchError, ObjectStoreUrlError, StartupError].some((k) => error instanceof k);
    console.error(known ? `rag-runtime: ${(error as Error).message}` : error);
    process.exit(1);
  });
}
