/**
 * BullMQ on the machine's Redis: where waiting jobs are kept is the list the Kubernetes tiers
 * scale the workers on (KEDA's Redis list scaler reads bullmqWaitList(QUEUE_NAME)).
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_QUEUE_NAME, loadRuntimeConfig } from "../../src/config";
import { BullMqQueue } from "../../src/queue/bullmq";
import { bullmqWaitList } from "../../src/queue/wait-list";
import { REDIS_URL } from "../support";

describe("the BullMQ queue", () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it("keeps jobs that wait for a worker in the list the autoscaler reads, one entry per document", async () => {
    const name = `ingest-${randomUUID().slice(0, 8)}`;
    const queue = new BullMqQueue(loadRuntimeConfig({ REDIS_URL, QUEUE_NAME: name }));
    const redis = new Redis(REDIS_URL);
    closers.push(
      () => queue.close(),
      async () => {
        const keys = await redis.keys(`bull:${name}:*`);
        if (keys.length > 0) await redis.del(...keys);
        await redis.quit();
      },
    );
    const list = bullmqWaitList(name);
    expect(await redis.llen(list)).toBe(0);
    await queue.enqueue(randomUUID());
    await queue.enqueue(randomUUID());
    expect(await redis.llen(list)).toBe(2);
    expect(await queue.depth()).toBe(2);
  });

  it("is named the same by the runtime and the IaC when QUEUE_NAME is left unset", () => {
    expect(loadRuntimeConfig({}).QUEUE_NAME).toBe(DEFAULT_QUEUE_NAME);
    expect(bullmqWaitList(DEFAULT_QUEUE_NAME)).toBe("bull:ingest:wait");
  });
});
