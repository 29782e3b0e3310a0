import { describe, expect, it } from "vitest";
import { InProcessQueue, MAX_ATTEMPTS, BACKOFF_MS, redisConnection } from "../../src/queue/queue";
import { loadRuntimeConfig } from "../../src/config";

describe("the in-process queue", () => {
  it("ignores an id already waiting and runs each job once", async () => {
    const q = new InProcessQueue(1);
    const runs: string[] = [];
    q.consume(async (id) => {
      runs.push(id);
    }, async () => {});
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
    q.consume(async () => {
      await new Promise((r) => setTimeout(r, 100));
      finished = true;
    }, async () => {});
    await q.enqueue("slow");
    await q.close();
    expect(finished).toBe(true);
    await expect(q.enqueue("late")).rejects.toThrow("the queue is closed");
  });
});

describe("Redis connection settings", () => {
  it("come from REDIS_URL or the REDIS_* parts", () => {
    expect(redisConnection(loadRuntimeConfig({ REDIS_URL: "rediss://:p%40ss@cache.internal:6380" }))).toMatchObject({ host: "cache.internal", port: 6380, password: "p@ss", tls: {} });
    expect(redisConnection(loadRuntimeConfig({ REDIS_HOST: "r", REDIS_PASSWORD: "x", REDIS_TLS: "true" }))).toMatchObject({ host: "r", port: 6379, password: "x", tls: {}, maxRetriesPerRequest: null });
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
