/**
 * What another site's page can do, in a real Chromium, to a knowledge base run in embedded mode
 * without a key on 127.0.0.1: nothing. A cross-site upload (a multipart `fetch` in no-cors mode:
 * a "simple" request, sent without a preflight) is refused, and so is every request that reaches
 * the service through DNS rebinding (a site's own name resolved to 127.0.0.1).
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRuntime, type Runtime } from "../support";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const REBOUND = "rebind.attacker.test";

let browser: Browser;
let rt: Runtime;
let service: string;
let attacker: Server;
let attackerOrigin: string;

/** How many POST /v1/documents the service answered with `status` (its own request metrics). */
async function uploadsAnswered(status: number): Promise<number> {
  const { values } = await rt.services.metrics.httpDuration.get();
  return values
    .filter(
      (v) =>
        v.metricName === "rag_http_request_duration_seconds_count" &&
        v.labels.route === "/v1/documents" &&
        v.labels.method === "POST" &&
        v.labels.status === String(status),
    )
    .reduce((n, v) => n + v.value, 0);
}

const documents = async () =>
  (await rt.services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM documents"))[0]!.n;

/** The attacker's page: it posts a planted document to `target` as soon as it loads. */
const attackPage = (target: string) => `<!doctype html><title>cats</title><script>
  const form = new FormData();
  form.append("file", new Blob(["planted by another site"], { type: "text/plain" }), "planted.txt");
  fetch(${JSON.stringify(target)} + "/v1/documents", { method: "POST", mode: "no-cors", body: form })
    .then(() => { document.title = "answered"; }, () => { document.title = "refused"; });
</script>`;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      `--host-resolver-rules=MAP ${REBOUND} 127.0.0.1`,
      ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
    ],
  });
  rt = await startRuntime("embedded", { ADMIN_API_KEY: "" });
  await rt.app.listen({ host: "127.0.0.1", port: 0 });
  service = `http://127.0.0.1:${(rt.app.server.address() as AddressInfo).port}`;
  attacker = createServer((request, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end(attackPage(new URL(request.url!, "http://x").searchParams.get("target")!));
  });
  await new Promise<void>((r) => attacker.listen(0, "127.0.0.1", r));
  // localhost, not 127.0.0.1: another origin (another site, to the browser) on the same machine.
  attackerOrigin = `http://localhost:${(attacker.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await browser?.close();
  await rt?.close();
  await new Promise((r) => attacker?.close(r));
});

describe("another site's page", () => {
  it("cannot upload to the knowledge base from the user's browser", async () => {
    const before = await documents();
    const forbidden = await uploadsAnswered(403);
    const page = await browser.newPage();
    await page.goto(`${attackerOrigin}/?target=${encodeURIComponent(service)}`);
    // The browser sends it (a simple request needs no preflight); the service refuses it, and
    // its Cross-Origin-Resource-Policy keeps even the refusal from the page.
    await expect.poll(() => uploadsAnswered(403)).toBe(forbidden + 1);
    await expect.poll(() => page.title()).toBe("refused");
    expect(await documents()).toBe(before);
    await page.close();
  });

  it("reaches nothing through DNS rebinding: its own name resolved to 127.0.0.1", async () => {
    const port = new URL(service).port;
    const page = await browser.newPage();
    const answer = await page.goto(`http://${REBOUND}:${port}/v1/documents`);
    expect(answer?.status()).toBe(400);
    expect(await answer?.json()).toMatchObject({ error: "unknown_host" });
    // Same-origin now, to the browser: a page of the rebound name posting to itself.
    const before = await documents();
    const misdirected = await uploadsAnswered(400);
    await page.goto(
      `http://${REBOUND}:${port}/?target=${encodeURIComponent(`http://${REBOUND}:${port}`)}`,
    );
    expect(await page.title(), "the rebound page itself is refused, so no script of it runs").toBe(
      "",
    );
    // A page of the attacker's own server, rebound: the rebound name is its origin.
    await page.goto(`${attackerOrigin}/?target=${encodeURIComponent(`http://${REBOUND}:${port}`)}`);
    await expect.poll(() => uploadsAnswered(400)).toBe(misdirected + 1);
    expect(await documents()).toBe(before);
    await page.close();
  });

  it("is let through when it is the service's own page", async () => {
    const page = await browser.newPage();
    const before = await documents();
    // The attack page's script, served as if by the service itself: same origin, so accepted.
    await page.route(`${service}/own-page`, (route) =>
      route.fulfill({ contentType: "text/html", body: attackPage(service) }),
    );
    await page.goto(`${service}/own-page`);
    await expect.poll(() => page.title()).toBe("answered");
    await expect.poll(documents).toBe(before + 1);
    await page.close();
  });
});
