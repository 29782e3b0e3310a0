import { rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { connect, createServer } from "node:tls";
import { describe, expect, it } from "vitest";
import { MAX_ATTEMPTS_DEFAULT as MAX_ATTEMPTS } from "../../src/config";
import { InProcessQueue, BACKOFF_MS, redisConnection } from "../../src/queue/queue";
import { loadRuntimeConfig } from "../../src/config";
import { privateCa } from "../support";

describe("the in-process queue", () => {
  it("ignores an id already waiting and runs each job once", async () => {
    const q = new InProcessQueue(1);
    const runs: string[] = [];
    q.consume(
      async (id) => {
        runs.push(id);
      },
      async () => {},
    );
    await Promise.all([q.enqueue("a"), q.enqueue("a"), q.enqueue("b")]);
    await q.close();
    expect(runs.sort()).toEqual(["a", "b"]);
  });

  it("retries with backoff, then reports the failure", { timeout: 20_000 }, async () => {
    const q = new InProcessQueue(2, { attempts: 4, backoffMs: 20 });
    const attempts: number[] = [];
    const failed = new Promise<string>((resolve) =>
      q.consume(
        async (_id, attempt) => {
          attempts.push(attempt);
          throw new Error(`boom ${attempt}`);
        },
        async (id, error) => resolve(`${id}: ${error.message}`),
      ),
    );
    await q.enqueue("doc");
    expect(await failed).toBe("doc: boom 4");
    expect(attempts).toEqual([1, 2, 3, 4]);
    await q.close();
  });

  it("waits for running jobs on close and refuses new ones", async () => {
    const q = new InProcessQueue(1);
    let finished = false;
    q.consume(
      async () => {
        await new Promise((r) => setTimeout(r, 100));
        finished = true;
      },
      async () => {},
    );
    await q.enqueue("slow");
    await q.close();
    expect(finished).toBe(true);
    await expect(q.enqueue("late")).rejects.toThrow("the queue is closed");
  });
});

describe("Redis connection settings", () => {
  it("come from REDIS_URL or the REDIS_* parts", () => {
    expect(
      redisConnection(loadRuntimeConfig({ REDIS_URL: "rediss://:p%40ss@cache.internal:6380" })),
    ).toMatchObject({ host: "cache.internal", port: 6380, password: "p@ss", tls: {} });
    expect(
      redisConnection(
        loadRuntimeConfig({ REDIS_HOST: "r", REDIS_PASSWORD: "x", REDIS_TLS: "true" }),
      ),
    ).toMatchObject({ host: "r", port: 6379, password: "x", tls: {}, maxRetriesPerRequest: null });
  });

  it("trust a managed Redis's own CA when REDIS_TLS_CA_FILE names it: a real handshake by IP, refused without it", async () => {
    const ca = await privateCa();
    const server = createServer({ key: ca.serverKey, cert: ca.serverCert }, (socket) =>
      socket.end(),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    // What ioredis does with `tls`: tls.connect(host, port, ...tls).
    const handshake = (env: Record<string, string>) => {
      const tls = redisConnection(
        loadRuntimeConfig({
          REDIS_HOST: "127.0.0.1",
          REDIS_PORT: String(port),
          REDIS_TLS: "true",
          ...env,
        }),
      ).tls!;
      return new Promise<string>((resolve) => {
        const socket = connect({ host: "127.0.0.1", port, ...tls }, () => {
          socket.destroy();
          resolve("ok");
        });
        socket.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      });
    };
    try {
      expect(await handshake({ REDIS_TLS_CA_FILE: ca.caFile })).toBe("ok");
      expect(await handshake({ REDIS_TLS_CA_FILE: ca.otherCaFile })).toMatch(
        /UNABLE_TO_VERIFY|SELF_SIGNED|unable to verify/i,
      );
      expect(await handshake({})).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|unable to verify/i);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(ca.dir, { recursive: true, force: true });
    }
  });

  it("refuse a CA file without TLS, or one that does not exist", () => {
    expect(() => loadRuntimeConfig({ REDIS_HOST: "r", REDIS_TLS_CA_FILE: __filename })).toThrow(
      "REDIS_TLS_CA_FILE: set without TLS; set REDIS_TLS=true (or a rediss:// REDIS_URL)",
    );
    expect(() =>
      loadRuntimeConfig({
        REDIS_HOST: "r",
        REDIS_TLS: "true",
        REDIS_TLS_CA_FILE: "/nowhere/ca.pem",
      }),
    ).toThrow('REDIS_TLS_CA_FILE: got "/nowhere/ca.pem"; no such file');
  });
});

describe("the retry policy", () => {
  it("gives a backend about four minutes to come back before a document fails", () => {
    const waits = Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => BACKOFF_MS * 2 ** i);
    const total = waits.reduce((a, b) => a + b, 0) / 1000;
    expect(total).toBeGreaterThanOrEqual(180);
    expect(total).toBeLessThanOrEqual(600);
  });
});
