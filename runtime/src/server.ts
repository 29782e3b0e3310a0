/** Entry point: the HTTP API. */
import { buildApp } from "./app";
import { loadRuntimeConfig, RuntimeConfigError } from "./config";
import { onShutdown } from "./lifecycle";

/** Without an explicit HOST the server listens on loopback only. */
export const DEFAULT_HOST = "127.0.0.1";

async function start(): Promise<void> {
  const config = loadRuntimeConfig();
  const app = await buildApp({ config });
  onShutdown(() => app.close(), (msg) => app.log.info(msg));
  await app.listen({ host: config.HOST ?? DEFAULT_HOST, port: config.PORT });
}

start().catch((error: unknown) => {
  console.error(error instanceof RuntimeConfigError ? error.message : error);
  process.exit(1);
});
