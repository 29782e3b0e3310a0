import type { FastifyInstance } from "fastify";

/** Graceful shutdown: on SIGTERM/SIGINT, stop taking work, finish what is in flight, exit. */
export function onShutdown(
  close: () => Promise<void>,
  log: (msg: string) => void,
  timeoutMs = 25_000,
): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log(`received ${signal}: finishing in-flight requests and jobs, then exiting`);
    const timer = setTimeout(() => {
      log(`shutdown did not finish within ${timeoutMs} ms, exiting`);
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", handler);
  process.once("SIGINT", handler);
}

/**
 * A stopping server finishes the requests in flight, then closes their connections: Node closes
 * only the connections idle when close() begins, and one whose answer ends later would idle on
 * for the keep-alive timeout (HTTP_KEEP_ALIVE_SECONDS on the API), holding the process until its
 * shutdown deadline.
 */
export function closeConnectionsOnceAnswered(app: FastifyInstance): void {
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onRequest", async (_request, reply) => {
    reply.raw.once("finish", () => {
      if (closing) setImmediate(() => app.server.closeIdleConnections());
    });
  });
}
