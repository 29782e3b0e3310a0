import { describe, expect, it } from "vitest";
import { buildApp } from "../src/app";
import { loadRuntimeConfig } from "../src/config";

async function app() {
  return buildApp({ config: loadRuntimeConfig({}), fastify: { logger: false } });
}

describe("HTTP app", () => {
  it("answers /healthz", async () => {
    const res = await (await app()).inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok" });
  });

  it("never leaks internals on a 5xx", async () => {
    const a = await app();
    a.get("/boom", async () => {
      throw new Error("password=hunter2 at db.internal:5432");
    });
    const res = await a.inject({ method: "GET", url: "/boom", headers: { "x-request-id": "req-1" } });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: "internal_error", message: "internal error", requestId: "req-1" });
    expect(res.body).not.toContain("hunter2");
  });

  it("keeps the message of a 4xx", async () => {
    const res = await (await app()).inject({ method: "GET", url: "/nope" });
    expect(res.statusCode).toBe(404);
  });
});
