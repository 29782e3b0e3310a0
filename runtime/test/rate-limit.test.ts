/**
 * Rate limits: per client address on /v1 and /auth, never on probes; shared by every replica
 * through Redis in server mode; the client address from X-Forwarded-For only behind a trusted proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app";
import { auth, MODES, startRuntime, type Runtime } from "./support";

describe.each(MODES)("rate limits (%s)", (mode) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime(mode, { RATE_LIMIT_PER_MINUTE: "5" });
  });
  afterAll(async () => {
    await rt?.close();
  });

  const list = (remoteAddress = "127.0.0.1", app = rt.app) =>
    app.inject({ method: "GET", url: "/v1/documents", headers: auth(), remoteAddress });

  it("refuses a client past its limit with 429, when to retry, and the service's error shape", async () => {
    for (let i = 0; i < 5; i++) {
      const ok = await list();
      expect(ok.statusCode).toBe(200);
      expect(ok.headers["x-ratelimit-remaining"]).toBe(String(4 - i));
    }
    const refused = await list();
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({
      error: "rate_limited",
      message: expect.stringMatching(
        /^too many requests from this client: at most 5 a minute \(RATE_LIMIT_PER_MINUTE\); retry in \d+ (seconds?|minutes?)$/,
      ),
    });
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("counts each client address on its own, and never limits the probes, the OpenAPI page or the UI", async () => {
    expect((await list("10.1.2.3")).statusCode).toBe(200);
    for (const url of ["/healthz", "/readyz", "/metrics", "/docs/json", "/"]) {
      expect(
        (await rt.app.inject({ method: "GET", url, remoteAddress: "127.0.0.1" })).statusCode,
        url,
      ).not.toBe(429);
    }
  });

  it(
    mode === "server"
      ? "shares the count between replicas through Redis"
      : "counts in memory, per process",
    async () => {
      const { app: replica } = await buildApp({
        services: rt.services,
        fastify: { logger: false },
      });
      try {
        expect((await list("127.0.0.1", replica)).statusCode).toBe(mode === "server" ? 429 : 200);
      } finally {
        await replica.close();
      }
    },
  );
});

describe("the client address behind a proxy", () => {
  let trusting: Runtime;
  let direct: Runtime;
  beforeAll(async () => {
    trusting = await startRuntime("embedded", {
      RATE_LIMIT_PER_MINUTE: "2",
      TRUST_PROXY: "127.0.0.0/8",
    });
    direct = await startRuntime("embedded", { RATE_LIMIT_PER_MINUTE: "2" });
  });
  afterAll(async () => {
    await trusting?.close();
    await direct?.close();
  });

  const from = (rt: Runtime, client: string) =>
    rt.app.inject({
      method: "GET",
      url: "/v1/documents",
      headers: { ...auth(), "x-forwarded-for": client },
      remoteAddress: "127.0.0.1",
    });

  it("is X-Forwarded-For's when the proxy is trusted", async () => {
    expect((await from(trusting, "203.0.113.5")).statusCode).toBe(200);
    expect((await from(trusting, "203.0.113.5")).statusCode).toBe(200);
    expect((await from(trusting, "203.0.113.5")).statusCode).toBe(429);
    expect((await from(trusting, "203.0.113.6")).statusCode).toBe(200);
  });

  it("is the peer's otherwise: a client cannot pick a fresh address by sending the header", async () => {
    expect((await from(direct, "203.0.113.5")).statusCode).toBe(200);
    expect((await from(direct, "203.0.113.6")).statusCode).toBe(200);
    expect((await from(direct, "203.0.113.7")).statusCode).toBe(429);
  });
});
