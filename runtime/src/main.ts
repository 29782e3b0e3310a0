/**
 * Process lifecycle shared by the entry points: read the config once, build the services,
 * serve, and on SIGTERM/SIGINT stop taking work, finish what is in flight, close, exit.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { buildApp } from "./app";
import { loadRuntimeConfig, RuntimeConfigError, type RuntimeConfig } from "./config";
import { DataDirInUseError } from "./db/db";
import { EmbeddingMismatchError, PgvectorMissingError } from "./db/schema";
import { closeConnectionsOnceAnswered, onShutdown } from "./lifecycle";
import { loggerOptions } from "./logger";
import { reportQueueDepth } from "./emf";
import { metricsRoute } from "./routes/health";
import {
  createServices,
  createWorkerServices,
  type Services,
  type WorkerServices,
} from "./services";
import { ObjectStoreUrlError } from "./storage/object-store";
import { startTracing } from "./tracing";

export type Role = "server" | "worker" | "embedded";

const LOOPBACK = ["127.0.0.1", "::1", "localhost"];

export class StartupError extends Error {}

/** Without credentials configured the API only binds to loopback: nobody else can reach it. */
export function listenHost(config: RuntimeConfig, authRequired: boolean): string {
  if (authRequired) return config.HOST ?? "127.0.0.1";
  if (config.HOST && !LOOPBACK.includes(config.HOST)) {
    throw new StartupError(
      `HOST=${config.HOST} needs credentials: set ADMIN_API_KEY (or OIDC_ISSUER_URL); without them the server listens on 127.0.0.1 only`,
    );
  }
  return "127.0.0.1";
}

/** Failures no wait fixes: the configuration, or a database or index that contradicts it. */
const PERMANENT_STARTUP_ERRORS = [
  RuntimeConfigError,
  PgvectorMissingError,
  EmbeddingMismatchError,
  ObjectStoreUrlError,
  StartupError,
  DataDirInUseError,
];
const isPermanent = (error: unknown) => PERMANENT_STARTUP_ERRORS.some((k) => error instanceof k);

/**
 * Builds the services, waiting for backends that are not there yet: a database still starting,
 * an embedding model still downloading on a fresh GPU host. Each failure other than a permanent
 * one is logged and retried with backoff (1 s doubling to 30 s) until STARTUP_TIMEOUT_SECONDS.
 * Meanwhile the role's port answers that the process is alive but starting (/healthz 200,
 * anything else 503), so a container health check or liveness probe does not kill it and a
 * readiness probe keeps traffic away; it closes before the real server takes the port.
 */
export async function createServicesWhenReachable<S extends WorkerServices>(
  config: RuntimeConfig,
  role: Role,
  build: (c: RuntimeConfig) => Promise<S>,
): Promise<S> {
  const deadline = Date.now() + config.STARTUP_TIMEOUT_SECONDS * 1000;
  let responder: FastifyInstance | undefined;
  try {
    for (let delayMs = 1000; ; delayMs = Math.min(delayMs * 2, 30_000)) {
      try {
        return await build(config);
      } catch (error) {
        if (isPermanent(error) || Date.now() + delayMs > deadline) throw error;
        responder ??= await answerStarting(config, role);
        responder.log.warn(
          { retryInMs: delayMs, reason: error instanceof Error ? error.message : String(error) },
          "waiting for the backends",
        );
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  } finally {
    await responder?.close();
  }
}

async function answerStarting(config: RuntimeConfig, role: Role): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config),
    keepAliveTimeout: config.HTTP_KEEP_ALIVE_SECONDS * 1000,
  });
  closeConnectionsOnceAnswered(app);
  app.get("/healthz", async () => ({ status: "starting" }));
  app.setNotFoundHandler((request, reply) =>
    reply.status(503).header("retry-after", "5").send({
      error: "starting",
      message: "the service is waiting for its backends (its logs say which)",
      requestId: request.id,
    }),
  );
  const credentials = Boolean(config.ADMIN_API_KEY || config.OIDC_ISSUER_URL);
  const host = role === "worker" ? (config.HOST ?? "127.0.0.1") : listenHost(config, credentials);
  await app.listen({ host, port: role === "worker" ? config.WORKER_HEALTH_PORT : config.PORT });
  return app;
}

async function serveApi(services: Services): Promise<FastifyInstance> {
  const { app, auth, webUi } = await buildApp({ services });
  const host = listenHost(services.config, auth.required);
  await app.listen({ host, port: services.config.PORT });
  // BM25's in-memory copy loads behind the listening server; the SQL plan answers meanwhile.
  services.retriever.warm((event) => {
    if (event.event === "failed")
      app.log.warn(event, "BM25 in-memory copy: %s failed; the SQL plan answers", event.stage);
    else app.log.info(event, `BM25 in-memory copy ${event.event}`);
  });
  if (!auth.required)
    app.log.warn(
      "no API key configured: requests are not authenticated; listening on 127.0.0.1 only",
    );
  if (
    auth.sso &&
    !services.config.PUBLIC_URL &&
    services.config.TRUST_PROXY === undefined &&
    host !== "127.0.0.1"
  ) {
    app.log.warn(
      "single sign-on is on without PUBLIC_URL or TRUST_PROXY: redirect URIs follow each request's scheme and Host; behind a TLS-terminating load balancer set PUBLIC_URL",
    );
  }
  if (webUi === "not-built")
    app.log.warn("the web UI is not built (npm run build:web -w runtime): serving the API only");
  for (const warning of services.warnings) app.log.warn(warning);
  return app;
}

/** /healthz and /metrics on a port of their own: the worker's health port, or the API's METRICS_PORT. */
async function serveMetrics(
  services: WorkerServices,
  role: "worker" | "server",
  port: number,
): Promise<FastifyInstance> {
  const health = Fastify({ logger: loggerOptions(services.config) });
  closeConnectionsOnceAnswered(health);
  health.get("/healthz", async () => ({ status: "ok", role }));
  metricsRoute(health, services);
  await health.listen({ host: services.config.HOST ?? "127.0.0.1", port });
  if (role === "worker") {
    health.log.info(
      { queue: services.queue.kind, concurrency: services.config.WORKER_CONCURRENCY },
      "ingest worker started",
    );
    for (const warning of services.warnings) health.log.warn(warning);
  }
  return health;
}

export async function run(role: Role): Promise<void> {
  const config = loadRuntimeConfig();
  const tracing = await startTracing(config, role);
  const servers: FastifyInstance[] = [];
  let services: WorkerServices;
  if (role === "worker") {
    // A worker opens what its role uses (a Kafka parse or embed role: no database).
    services = await createServicesWhenReachable(config, role, createWorkerServices);
    servers.push(await serveMetrics(services, "worker", config.WORKER_HEALTH_PORT));
  } else {
    const api = await createServicesWhenReachable(config, role, createServices);
    services = api;
    // The API serves as soon as the database is open: in embedded mode, ingest resumes behind it.
    servers.push(await serveApi(api));
    if (config.METRICS_PORT !== undefined)
      servers.push(await serveMetrics(api, "server", config.METRICS_PORT));
  }
  const stops: (() => Promise<void>)[] = servers.map((server) => () => server.close());
  if (role !== "server") {
    await services.startWorker(servers[0]!.log);
    const namespace = config.CLOUDWATCH_METRICS_NAMESPACE;
    if (role === "worker" && namespace) {
      const reporter = reportQueueDepth({
        namespace,
        service: config.SERVICE_NAME,
        depth: () => services.queue.depth(),
      });
      stops.push(async () => reporter.stop());
    }
  }
  onShutdown(
    async () => {
      for (const stop of stops) await stop();
      await services.close();
      await tracing?.shutdown();
    },
    (msg) => console.error(msg),
    config.SHUTDOWN_TIMEOUT_SECONDS * 1000,
  );
}

/** Known startup failures print one line; anything else prints in full. */
export function start(role: Role): void {
  run(role).catch((error: unknown) => {
    console.error(isPermanent(error) ? `rag-runtime: ${(error as Error).message}` : error);
    process.exit(1);
  });
}
