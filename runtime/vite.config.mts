// The browser UI (web/): `npm run web` serves it with hot reload on 127.0.0.1:5173 and proxies
// the API to RAG_API_URL (default the embedded runtime, http://127.0.0.1:8080); `npm run
// build:web` writes dist/web, which the runtime serves at `/`.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const api = process.env.RAG_API_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  root: fileURLToPath(new URL("web", import.meta.url)),
  build: {
    outDir: fileURLToPath(new URL("dist/web", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    proxy: Object.fromEntries(
      ["/v1", "/healthz", "/readyz", "/docs"].map((path) => [
        path,
        { target: api, changeOrigin: true },
      ]),
    ),
  },
});
