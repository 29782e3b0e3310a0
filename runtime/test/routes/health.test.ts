/**
 * /readyz on the real PostgreSQL, with a queue whose Redis does not answer: every backend is
 * checked unless `check` names some, which is what an orchestrator's readiness probe asks
 * (a replica stays in rotation while a shared backend it degrades around is away).
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { BullMqQueue } from "../../src/queue/bullmq";
import { healthRoutes } from "../../src/routes/health";
import { schemaErrorFormatter } from "../../src/routes/validation";
import { createServices, type Services } from "../../src/services";
import { freePorts, modeEnv } from "../support";

describe("/readyz", () => {
  let cleanup: () => Promise<void>;
  let services: Services;
  let away: BullMqQueue;
  let app: FastifyInstance;

  beforeAll(async () => {
    const mode = await modeEnv("server");
    cleanup = mode.cleanup;
    services = await createServices(loadRuntimeConfig(mode.env));
    away = new BullMqQueue(
      loadRuntimeConfig({ ...mode.env, REDIS_URL: `redis://127.0.0.1:${(await freePorts(1))[0]}` }),
    );
    app = Fastify({
      logger: false,
      schemaErrorFormatter,
      ajv: { customOptions: { coerceTypes: "array" } },
    });
    healthRoutes(app, { ...services, queue: away });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await away?.close().catch(() => undefined);
    await services?.close();
    await cleanup?.();
  });

  it("checks every backend and names the failing one", async () => {
    const res = await app.inject({ method: "GET", url: "/readyz" });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: "not_ready",
      checks: { database: "ok", queue: "failing", objectStore: "ok", vectors: "ok" },
    });
  });

  it("checks only the backends `check` names", async () => {
    const database = await app.inject({ method: "GET", url: "/readyz?check=database" });
    expect(database.statusCode).toBe(200);
    expect(database.json()).toEqual({ status: "ready", checks: { database: "ok" } });
    const both = await app.inject({ method: "GET", url: "/readyz?check=database&check=queue" });
    expect(both.statusCode).toBe(503);
    expect(both.json().checks).toEqual({ database: "ok", queue: "failing" });
  });

  it("answers in bounded time when a backend hangs, counting it failing", async () => {
    const hanging = Fastify({ logger: false });
    healthRoutes(
      hanging,
      {
        ...services,
        vectors: { ...services.vectors, check: () => new Promise<void>(() => undefined) },
      },
      { metrics: false, checkTimeoutMs: 200 },
    );
    const res = await hanging.inject({
      method: "GET",
      url: "/readyz?check=database&check=vectors",
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().checks).toEqual({ database: "ok", vectors: "failing" });
    await hanging.close();
  });

  it("refuses a backend it does not know, naming those it does", async () => {
    const res = await app.inject({ method: "GET", url: "/readyz?check=redis" });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe(
      'querystring/check/0 must be one of: "database", "queue", "objectStore", "vectors"',
    );
  });
});
