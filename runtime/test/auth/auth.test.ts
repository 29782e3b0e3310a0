import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Authenticator, roleFromClaims } from "../../src/auth/auth";
import { allows, hashKey, KeyStore } from "../../src/auth/keys";
import { loadRuntimeConfig } from "../../src/config";
import { listenHost, StartupError } from "../../src/main";
import { ADMIN_KEY, auth, type Runtime, startRuntime } from "../support";

describe("roles", () => {
  it("nest: admin > ingester > reader", () => {
    expect(allows("admin", "reader")).toBe(true);
    expect(allows("ingester", "ingester")).toBe(true);
    expect(allows("reader", "ingester")).toBe(false);
  });

  it("come from the token's roles or groups claims, reader by default", () => {
    expect(roleFromClaims({ roles: ["reader", "admin"] })).toBe("admin");
    expect(roleFromClaims({ groups: ["staff", "rag-ingester"] })).toBe("ingester");
    expect(roleFromClaims({ sub: "x" })).toBe("reader");
  });

  it("store keys as SHA-256 hashes", () => {
    expect(hashKey("rag_abc")).toMatch(/^[0-9a-f]{64}$/);
    expect(hashKey("rag_abc")).not.toContain("abc");
  });
});

describe("the bootstrap admin key (ADMIN_API_KEY), rotated", () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime("server");
  });
  afterAll(async () => rt?.close());
  const status = async (key: string) =>
    (await rt.app.inject({ method: "GET", url: "/v1/keys", headers: auth(key) })).statusCode;

  it("retires the key it replaces, and a replica still on the old value revokes nothing newer", async () => {
    const rotated = "rag_rotated_admin_key_0123456789abcdef";
    expect(await status(ADMIN_KEY)).toBe(200);
    // A replica starts with the new value.
    await new KeyStore(rt.services.db).ensureBootstrap(rotated);
    expect(await status(rotated)).toBe(200);
    expect(await status(ADMIN_KEY)).toBe(401);
    // A replica of the old configuration restarts during the rollout.
    await new KeyStore(rt.services.db).ensureBootstrap(ADMIN_KEY);
    expect(await status(rotated)).toBe(200);
    expect(await status(ADMIN_KEY)).toBe(401);
    const listed = (await rt.app.inject({ method: "GET", url: "/v1/keys", headers: auth(rotated) }))
      .body;
    expect(listed.match(/bootstrap-admin/g), "the retired key is no longer listed").toHaveLength(1);
    // A service configured with the retired value says so at start (it admits nobody).
    const startedWith = async (key: string) =>
      (
        await Authenticator.create(
          loadRuntimeConfig({ ...rt.env, ADMIN_API_KEY: key }),
          new KeyStore(rt.services.db),
        )
      ).adminKeyState;
    expect(await startedWith(ADMIN_KEY)).toBe("replaced");
    expect(await startedWith(rotated)).toBe("active");
  });
});

describe("embedded mode without credentials", () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime("embedded", { ADMIN_API_KEY: "" }, { worker: false });
  });
  afterAll(async () => rt?.close());

  it("asks for no key", async () => {
    expect((await rt.app.inject({ method: "GET", url: "/v1/documents" })).statusCode).toBe(200);
  });

  it("listens on loopback only, and refuses another HOST in one line", () => {
    expect(listenHost(loadRuntimeConfig({}), false)).toBe("127.0.0.1");
    expect(() => listenHost(loadRuntimeConfig({ HOST: "0.0.0.0" }), false)).toThrow(StartupError);
    expect(() => listenHost(loadRuntimeConfig({ HOST: "0.0.0.0" }), false)).toThrow(
      "HOST=0.0.0.0 needs credentials: set ADMIN_API_KEY (or OIDC_ISSUER_URL)",
    );
    expect(listenHost(loadRuntimeConfig({ HOST: "0.0.0.0" }), true)).toBe("0.0.0.0");
  });
});

describe("OIDC bearer tokens", () => {
  let issuer: Server;
  let issuerUrl: string;
  let sign: (
    claims: Record<string, unknown>,
    options?: { audience?: string; expiresIn?: string; issuer?: string },
  ) => Promise<string>;
  let rt: Runtime;

  beforeAll(async () => {
    const { exportJWK, generateKeyPair, SignJWT } = await import("jose");
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "RS256", use: "sig" };
    issuer = createServer((req, res) => {
      if (req.url === "/.well-known/openid-configuration")
        return res.end(JSON.stringify({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/jwks` }));
      if (req.url === "/jwks") return res.end(JSON.stringify({ keys: [jwk] }));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => issuer.listen(0, "127.0.0.1", r));
    issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
    sign = (claims, o = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid: "test-key" })
        .setIssuer(o.issuer ?? issuerUrl)
        .setAudience(o.audience ?? "rag-api")
        .setSubject("user-1")
        .setIssuedAt()
        .setExpirationTime(o.expiresIn ?? "5m")
        .sign(privateKey);
    rt = await startRuntime(
      "embedded",
      { OIDC_ISSUER_URL: issuerUrl, OIDC_CLIENT_ID: "rag-api" },
      { worker: false },
    );
  });

  afterAll(async () => {
    await rt?.close();
    await new Promise((r) => issuer?.close(r));
  });

  const call = (token: string, method: "GET" | "POST" = "GET") =>
    method === "GET"
      ? rt.app.inject({
          method,
          url: "/v1/documents",
          headers: { authorization: `Bearer ${token}` },
        })
      : rt.app.inject({
          method,
          url: "/v1/documents",
          headers: { authorization: `Bearer ${token}` },
          payload: { name: "a.txt", text: "hello from oidc" },
        });

  it("accepts a valid token and maps its role", async () => {
    expect((await call(await sign({ roles: ["reader"] }))).statusCode).toBe(200);
    expect((await call(await sign({ roles: ["reader"] }), "POST")).statusCode).toBe(403);
    expect((await call(await sign({ roles: ["ingester"] }), "POST")).statusCode).toBe(202);
  });

  it("refuses a token for another audience, another issuer, an expired one or a forged one", async () => {
    expect(
      (await call(await sign({ roles: ["admin"] }, { audience: "other-api" }))).statusCode,
    ).toBe(401);
    expect(
      (await call(await sign({ roles: ["admin"] }, { issuer: "https://evil.example" }))).statusCode,
    ).toBe(401);
    expect((await call(await sign({ roles: ["admin"] }, { expiresIn: "-1m" }))).statusCode).toBe(
      401,
    );
    const forged = (await sign({ roles: ["reader"] })).replace(/\.[^.]+$/, ".c2lnbmF0dXJl");
    expect((await call(forged)).statusCode).toBe(401);
  });
});
