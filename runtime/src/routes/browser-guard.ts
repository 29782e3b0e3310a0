/**
 * What a web page in the user's browser may do to this service: nothing, unless it is one of ours.
 *
 * - A change (any method but GET, HEAD, OPTIONS) whose `Origin` is not this service's own is
 *   refused (403): without it, any site a user visits could upload to, or delete from, an embedded
 *   knowledge base that needs no key.
 * - A `Host` the service does not answer to is refused (400) when ALLOWED_HOSTS is set, and always
 *   in embedded mode without credentials: DNS rebinding points a site's own name at 127.0.0.1, and
 *   only the Host header still says which site the browser thinks it talks to. Probes are exempt
 *   (a load balancer or kubelet names the address it probes).
 * - Every answer carries the headers a browser needs (@fastify/helmet): a content security policy
 *   that allows same-origin scripts, styles and API calls only and no framing, `nosniff`,
 *   `X-Frame-Options: DENY`, no referrer.
 */
import helmet from "@fastify/helmet";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ENV, type RuntimeConfig } from "../config";

/** The UI's and the API's policy: same-origin code, styles and calls only; no inline code; no framing. */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
} as const;

/** Directives as a header: `defaultSrc: ["'none'"]` is `default-src 'none'`. */
export function cspHeader(directives: Record<string, readonly string[]>): string {
  return Object.entries(directives)
    .map(
      ([name, values]) =>
        `${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${values.join(" ")}`,
    )
    .join("; ");
}

/** Swagger UI (/docs) sets its styles inline; the rest of the policy stands. */
export const DOCS_CONTENT_SECURITY_POLICY = cspHeader({
  ...CONTENT_SECURITY_POLICY,
  styleSrc: ["'self'", "'unsafe-inline'"],
});

/** The loopback names every service answers to. */
export const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"] as const;

/** Probes name the address they probe: never refused for their Host. */
const PROBES = new Set(["/healthz", "/readyz"]);

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function allowedHosts(config: RuntimeConfig): Set<string> {
  return new Set([
    ...LOOPBACK_HOSTS,
    ...(config.PUBLIC_URL ? [new URL(config.PUBLIC_URL).hostname.toLowerCase()] : []),
    ...(config.ALLOWED_HOSTS ?? []),
  ]);
}

/** Whether a request's Origin is this service: the host it was sent to, or PUBLIC_URL. */
function fromOwnOrigin(request: FastifyRequest, origin: string, publicUrl?: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (a sandboxed frame, a file: page) and anything malformed
  }
  if (publicUrl && url.origin === new URL(publicUrl).origin) return true;
  return url.host.toLowerCase() === request.host.toLowerCase();
}

export async function registerBrowserGuard(
  app: FastifyInstance,
  options: { config: RuntimeConfig; authRequired: boolean },
): Promise<void> {
  const { config } = options;
  const hosts = allowedHosts(config);
  const checkHost = config.ALLOWED_HOSTS !== undefined || !options.authRequired;
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CONTENT_SECURITY_POLICY },
    frameguard: { action: "deny" },
    referrerPolicy: { policy: "no-referrer" },
    crossOriginOpenerPolicy: { policy: "same-origin" },
    // The service may sit on a company's domain: its subdomains are not ours to pin to HTTPS.
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
  });
  app.addHook("onRequest", async (request, reply) => {
    if (checkHost && !PROBES.has(request.routeOptions.url ?? "")) {
      const host = request.hostname.toLowerCase();
      if (!hosts.has(host))
        return reply.status(400).send({
          error: "unknown_host",
          message: `this service does not answer to the host ${JSON.stringify(host.slice(0, 100))}: it answers to ${[...hosts].join(", ")} (add names with ${ENV.allowedHosts})`,
          requestId: request.id,
        });
    }
    const origin = request.headers.origin;
    if (!SAFE_METHODS.has(request.method) && origin !== undefined)
      if (!fromOwnOrigin(request, origin, config.PUBLIC_URL))
        return reply.status(403).send({
          error: "forbidden_origin",
          message: `a change sent by a page of ${JSON.stringify(origin.slice(0, 100))} is refused: only this service's own pages may make changes from a browser`,
          requestId: request.id,
        });
  });
}
