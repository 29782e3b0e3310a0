/**
 * The web app: the static export of runtime/web (Next.js, `npm run build:web`, in dist/web)
 * served at `/`. The app holds no data of its own: every call it makes goes through the API's
 * authentication like any other client.
 *
 * Its pages run under the same strict Content-Security-Policy as the rest (browser-guard.ts) with
 * two additions:
 *
 * - Next.js writes a few inline scripts into each exported page (its bootstrap and the page's
 *   payload): a page's policy allows exactly those, by their SHA-256 hashes, read from the built
 *   files when the server starts. Any other inline script (an injected one) stays refused.
 * - A modal dialog locks the page's scrolling with a `<style>` element it writes (Radix, through
 *   react-style-singleton). Each answer with a page carries a fresh random nonce, in the policy's
 *   style-src and in a `<meta name="rag-style-nonce">` the app hands to that library (get-nonce).
 * - Radix's scroll area (inside every Radix Themes table) and select menu each write one
 *   constant `<style>` that hides native scrollbars: allowed by their hashes (RADIX_STYLES; a
 *   test checks the installed packages still write exactly that text).
 *
 * No other inline style is allowed.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { CONTENT_SECURITY_POLICY, cspHeader } from "./browser-guard";

/** Where `npm run build:web` writes the app: runtime/dist/web, from src/ (tsx) and dist/ (node) alike. */
export const WEB_DIR = join(__dirname, "..", "..", "dist", "web");

export type WebUiState = "served" | "disabled" | "not-built";

/** The inline scripts of an HTML page (a `<script>` without `src`), as CSP source expressions. */
export function inlineScriptHashes(html: string): string[] {
  const hashes = new Set<string>();
  for (const m of html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi))
    if (m[1]) hashes.add(sha256(m[1]));
  return [...hashes];
}

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".html"))
    .map((e) => join(e.parentPath, e.name));
}

/** The constant inline styles of the components the app uses (see the header), by @radix-ui package. */
export const RADIX_STYLES = {
  "react-scroll-area":
    "[data-radix-scroll-area-viewport]{scrollbar-width:none;-ms-overflow-style:none;-webkit-overflow-scrolling:touch;}[data-radix-scroll-area-viewport]::-webkit-scrollbar{display:none}",
  "react-select":
    "[data-radix-select-viewport]{scrollbar-width:none;-ms-overflow-style:none;-webkit-overflow-scrolling:touch;}[data-radix-select-viewport]::-webkit-scrollbar{display:none}",
} as const;

const sha256 = (text: string) =>
  `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/** The policy of the exported pages: the API's, with their own inline scripts allowed by hash. */
export function pagePolicy(root: string, styleNonce?: string): string {
  const hashes = new Set(
    htmlFiles(root).flatMap((f) => inlineScriptHashes(readFileSync(f, "utf8"))),
  );
  return cspHeader({
    ...CONTENT_SECURITY_POLICY,
    scriptSrc: [...CONTENT_SECURITY_POLICY.scriptSrc, ...[...hashes].sort()],
    styleSrc: [
      ...CONTENT_SECURITY_POLICY.styleSrc,
      ...Object.values(RADIX_STYLES).map(sha256),
      ...(styleNonce ? [`'nonce-${styleNonce}'`] : []),
    ],
  });
}

/** The meta element that hands a page its style nonce. */
export const STYLE_NONCE_META = "rag-style-nonce";

/** Registers the app when it is enabled and built; says which, so the server can log it. */
export async function webRoutes(
  app: FastifyInstance,
  options: { enabled: boolean; root?: string },
): Promise<WebUiState> {
  if (!options.enabled) return "disabled";
  const root = options.root ?? WEB_DIR;
  if (!existsSync(join(root, "index.html"))) return "not-built";
  const index = readFileSync(join(root, "index.html"), "utf8");
  const policy = pagePolicy(root);
  const NONCE = "__RAG_STYLE_NONCE__";
  const noncedPolicy = pagePolicy(root, NONCE);
  // Its own plugin context: the page policy applies to the app's files only, not to the API or /docs.
  await app.register(async (scope) => {
    scope.addHook("onSend", async (_request, reply, payload) => {
      if (
        String(reply.getHeader("content-type") ?? "").startsWith("text/html") &&
        !String(reply.getHeader("content-security-policy") ?? "").includes("'nonce-")
      )
        reply.header("content-security-policy", policy);
      return payload;
    });
    const page = async (_request: FastifyRequest, reply: FastifyReply) => {
      const nonce = randomBytes(16).toString("base64");
      return reply
        .header("content-security-policy", noncedPolicy.replace(NONCE, nonce))
        .header("cache-control", "no-cache")
        .type("text/html; charset=utf-8")
        .send(
          index.replace(/<head>/i, `<head><meta name="${STYLE_NONCE_META}" content="${nonce}"/>`),
        );
    };
    scope.get("/", { schema: { hide: true } }, page);
    scope.get("/index.html", { schema: { hide: true } }, page);
    await scope.register(fastifyStatic, {
      root,
      prefix: "/",
      index: false,
      wildcard: true,
      // Hashed asset names change with every build; the pages themselves must be revalidated.
      setHeaders: (reply, path) => {
        const hashed = relative(root, path).split(sep).slice(0, 2).join("/") === "_next/static";
        reply.header("cache-control", hashed ? "public, max-age=31536000, immutable" : "no-cache");
      },
    });
  });
  return "served";
}
