/**
 * The browser UI's server side: served from its build under a strict CSP, hashed assets cached
 * for good and the page revalidated; off with WEB_UI=false; absent (API only) when not built.
 * /v1/me, which the UI signs in with. The UI itself runs in Chromium in test/web/*.browser.ts.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RADIX_STYLES } from "../../src/routes/web";
import { auth, startRuntime, type Runtime } from "../support";

let webRoot: string;
/** The inline script the export writes into its page (Next.js's bootstrap, here a stand-in). */
const INLINE = "(self.__next_f=self.__next_f||[]).push([0])";
const inlineHash = `'sha256-${createHash("sha256").update(INLINE).digest("base64")}'`;

beforeAll(() => {
  webRoot = mkdtempSync(join(tmpdir(), "rag-web-"));
  mkdirSync(join(webRoot, "_next", "static", "chunks"), { recursive: true });
  writeFileSync(
    join(webRoot, "index.html"),
    `<!doctype html><html><head><script src="/_next/static/chunks/abc123.js" async=""></script></head><body><script>${INLINE}</script></body></html>`,
  );
  writeFileSync(join(webRoot, "_next", "static", "chunks", "abc123.js"), "console.log('ui')");
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

  it("serves the page at / without credentials, under a CSP that allows only its own inline script, by hash", async () => {
    const page = await rt.app.inject({ method: "GET", url: "/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain("/_next/static/chunks/abc123.js");
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src 'self' ${inlineHash};`);
    // Styles: Radix's constant ones by hash, and a fresh nonce (handed to the page in a meta element).
    const [, hashes, nonce] =
      /style-src 'self'((?: 'sha256-[^']+')+) 'nonce-([^']+)';/.exec(csp) ?? [];
    expect(nonce).toBeDefined();
    expect(hashes!.trim().split(" ")).toEqual(
      Object.values(RADIX_STYLES).map(
        (style) => `'sha256-${createHash("sha256").update(style).digest("base64")}'`,
      ),
    );
    expect(page.body).toContain(`<meta name="rag-style-nonce" content="${nonce}"/>`);
    expect(csp).toContain("connect-src 'self';");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["cache-control"]).toBe("no-cache");
  });

  it("caches hashed assets for good", async () => {
    const asset = await rt.app.inject({ method: "GET", url: "/_next/static/chunks/abc123.js" });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    // An asset and the API keep the policy without the page's hashes.
    expect(String(asset.headers["content-security-policy"])).toContain("script-src 'self';");
    const api = await rt.app.inject({ method: "GET", url: "/healthz" });
    expect(String(api.headers["content-security-policy"])).not.toContain("sha256-");
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

describe("the styles the page policy allows by hash", () => {
  it("are the exact text the installed Radix scroll area and select write (an upgrade that changes it fails here)", () => {
    for (const [pkg, style] of Object.entries(RADIX_STYLES)) {
      const source = readFileSync(
        join(__dirname, "..", "..", "..", "node_modules", "@radix-ui", pkg, "dist", "index.mjs"),
        "utf8",
      );
      expect(source, pkg).toContain(style);
    }
  });
});
