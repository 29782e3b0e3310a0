/**
 * The browser UI: the static build of runtime/web (dist/web) served at `/`, under the strict
 * Content-Security-Policy every answer carries (browser-guard.ts). The UI holds no data of its own: every call it makes goes through the API's
 * authentication like any other client.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/** Where `npm run build:web` writes the UI: runtime/dist/web, from src/ (tsx) and dist/ (node) alike. */
export const WEB_DIR = join(__dirname, "..", "..", "dist", "web");

export type WebUiState = "served" | "disabled" | "not-built";

/** Registers the UI when it is enabled and built; says which, so the server can log it. */
export async function webRoutes(
  app: FastifyInstance,
  options: { enabled: boolean; root?: string },
): Promise<WebUiState> {
  if (!options.enabled) return "disabled";
  const root = options.root ?? WEB_DIR;
  if (!existsSync(join(root, "index.html"))) return "not-built";
  await app.register(fastifyStatic, {
    root,
    prefix: "/",
    index: "index.html",
    wildcard: true,
    // Hashed asset names change with every build; the page itself must be revalidated.
    setHeaders: (reply, path) => {
      reply.header(
        "cache-control",
        path.startsWith(join(root, "assets")) ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
  return "served";
}
