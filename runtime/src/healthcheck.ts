/**
 * Container health probe (the image has no curl): `node dist/healthcheck.js <port>` exits 0
 * when http://127.0.0.1:<port>/healthz answers 2xx within 3 s.
 */
const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);

fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
