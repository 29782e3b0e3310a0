/**
 * The browser UI's server side: served from its build under a strict CSP, hashed assets cached
 * for good and the page revalidated; off with WEB_UI=false; absent (API only) when not built.
 * /v1/me, which the UI signs in with. The UI itself runs in Chromium in test/web/*.browser.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, startRuntime, type Runtime } from "../support";

let webRoot: string;

beforeAll(() => {
  webRoot = mkdtempSync(join(tmpdir(), "rag-web-"));
  mkdirSync(join(webRoot, "assets"));
  writeFileSync(
    join(webRoot, "index.html"),
    '<!doctype html><script type="module" src="/assets/index-abc123.js"></script>',
  );
  writeFileSync(join(webRoot, "assets", "index-abc123.js"), "console.log('ui')");
});
afterAll(() => rmSync(webRoot, { recursive: true, force: true }));

describe("the UI's routes", () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime("embedded", {}, { webRoot });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it("serves the page at / without credentials, under a CSP that allows no inline or foreign code", async () => {
    const page = await rt.app.inject({ method: "GET", url: "/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain("/assets/index-abc123.js");
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self';");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["cache-control"]).toBe("no-cache");
  });

  it("caches hashed assets for good", async () => {
    const asset = await rt.app.inject({ method: "GET", url: "/assets/index-abc123.js" });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
  });

  it("leaves the API's own answers alone: JSON, and 401 without credentials", async () => {
    const denied = await rt.app.inject({ method: "GET", url: "/v1/documents" });
    expect(denied.statusCode).toBe(401);
    expect(denied.json().error).toBe("unauthorized");
    expect((await rt.app.inject({ method: "GET", url: "/nope.js" })).statusCode).toBe(404);
    expect((await rt.app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({
      status: "ok",
    });
  });

  it("/v1/me names the caller's role, and refuses a caller without credentials", async () => {
    expect((await rt.app.inject({ method: "GET", url: "/v1/me", headers: auth() })).json()).toEqual(
      { kind: "api-key", role: "admin", authRequired: true },
    );
    const reader = (
      await rt.app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: auth(),
        payload: { name: "r", role: "reader" },
      })
    ).json().key;
    expect(
      (await rt.app.inject({ method: "GET", url: "/v1/me", headers: auth(reader) })).json(),
    ).toMatchObject({ kind: "api-key", role: "reader" });
    expect((await rt.app.inject({ method: "GET", url: "/v1/me" })).statusCode).toBe(401);
  });
});

describe("without the UI", () => {
  it("WEB_UI=false serves the API only", async () => {
    const rt = await startRuntime("embedded", { WEB_UI: "false" }, { webRoot });
    try {
      expect((await rt.app.inject({ method: "GET", url: "/" })).statusCode).toBe(404);
      expect(
        (await rt.app.inject({ method: "GET", url: "/v1/me", headers: auth() })).statusCode,
      ).toBe(200);
    } finally {
      await rt.close();
    }
  });

  it("an unbuilt UI leaves the API serving, and embedded mode without a key is local admin", async () => {
    const rt = await startRuntime(
      "embedded",
      { ADMIN_API_KEY: "" },
      { webRoot: join(webRoot, "missing") },
    );
    try {
      expect((await rt.app.inject({ method: "GET", url: "/" })).statusCode).toBe(404);
      expect((await rt.app.inject({ method: "GET", url: "/v1/me" })).json()).toEqual({
        kind: "local",
        role: "admin",
        authRequired: false,
      });
    } finally {
      await rt.close();
    }
  });
});
