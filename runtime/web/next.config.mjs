// The web app (Next.js, App Router). `next build` (npm run build:web) writes a static export to
// web/out, copied to dist/web, which the runtime serves at `/`. `next dev` (npm run web) serves
// it with hot reload on 127.0.0.1:3000 and proxies the API to RAG_API_URL (default the embedded
// runtime, http://127.0.0.1:8080). Start that API with PUBLIC_URL=http://127.0.0.1:3000: the proxy
// sends the API its own host, so without it the API refuses the pages' changes (forbidden_origin).
import { PHASE_DEVELOPMENT_SERVER } from "next/constants.js";

// eslint-disable-next-line no-undef -- Node runs this file
const api = process.env.RAG_API_URL ?? "http://127.0.0.1:8080";
const proxied = ["/v1/:path*", "/auth/:path*", "/healthz", "/readyz", "/docs/:path*"];

export default function config(phase) {
  if (phase === PHASE_DEVELOPMENT_SERVER)
    return {
      reactStrictMode: true,
      // next dev would otherwise write an AGENTS.md into web/ on every start.
      agentRules: false,
      experimental: { agentUpgrade: false },
      async rewrites() {
        return proxied.map((source) => ({ source, destination: `${api}${source}` }));
      },
    };
  return {
    output: "export",
    reactStrictMode: true,
    images: { unoptimized: true },
    // The runtime's CSP forbids framing and inline code; nothing here needs the browser's `eval`.
    productionBrowserSourceMaps: false,
  };
}
