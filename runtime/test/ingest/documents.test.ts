/**
 * Uploads while the ingest queue is out of reach, against the real PostgreSQL and Redis: the
 * document is kept and stays queued, and the worker's sweep queues it once Redis answers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { DocumentService } from "../../src/ingest/documents";
import { BullMqQueue } from "../../src/queue/bullmq";
import { waitFor } from "../../src/queue/queue";
import { createServices, type Services } from "../../src/services";
import { freePorts, modeEnv } from "../support";


describe("uploads while the ingest queue is out of reach (PostgreSQL + Redis)", () => {
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let healthy: Services;
  let away: BullMqQueue;
  let cut: DocumentService;
  const failures: string[] = [];

  beforeAll(async () => {
    ({ env, cleanup } = await modeEnv("server"));
    healthy = await createServices(loadRuntimeConfig(env));
    // The same database and store, with a queue whose Redis does not answer.
    away = new BullMqQueue(loadRuntimeConfig({ ...env, REDIS_URL: `redis://127.0.0.1:${(await freePorts(1))[0]}` /* nothing answers: a Redis that is away */ }));
    cut = new DocumentService(healthy.db, healthy.store, away, healthy.vectors, { onEnqueueFailed: (id, error) => failures.push(`${id}: ${error.message}`) }, 300);
  });

  afterAll(async () => {
    await away?.close().catch(() => undefined);
    await healthy?.close();
    await cleanup?.();
  });

  it("keeps the document queued, and the sweep queues it for the worker once Redis answers", async () => {
    const upload = { name: "notes.md", contentType: "text/markdown", bytes: new TextEncoder().encode("# Notes\n\nHybrid retrieval fuses BM25 with vector similarity.") };
    const { document, created, queued } = await cut.create(upload);
    expect({ created, queued, status: document.status }).toEqual({ created: true, queued: false, status: "queued" });
    expect(failures).toEqual([`${document.id}: the ingest queue did not answer within 300 ms`]);
    expect(new TextDecoder().decode(await healthy.store.get(`documents/${document.contentHash}`))).toContain("Hybrid retrieval");

    // Too recent for the sweep's default age; taken when asked for any age: its job is then in Redis.
    expect(await healthy.documents.requeueStale()).toBe(0);
    expect(await healthy.queue.depth()).toBe(0);
    expect(await healthy.documents.requeueStale(0)).toBe(1);
    expect(await healthy.queue.depth()).toBe(1);
    await healthy.startWorker();
    await waitFor(async () => (await healthy.documents.get(document.id))?.status === "ready", 30_000, "the swept document to be indexed");
    const again = await healthy.documents.create(upload);
    expect({ created: again.created, queued: again.queued, id: again.document.id }).toEqual({ created: false, queued: true, id: document.id });
  });
});

describe("a document whose tries ran out (PostgreSQL + Redis)", () => {
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let healthy: Services;

  beforeAll(async () => {
    ({ env, cleanup } = await modeEnv("server"));
    healthy = await createServices(loadRuntimeConfig(env));
  });

  afterAll(async () => {
    await healthy?.close();
    await cleanup?.();
  });

  it("is tried again when its bytes are uploaded again, though its failed job is still kept", { timeout: 30_000 }, async () => {
    // A worker whose embedding server is away: both tries fail and the document is marked failed.
    const broken = new BullMqQueue(loadRuntimeConfig(env), 1500, { attempts: 2, backoffMs: 50 });
    broken.consume(
      async () => {
        throw new Error("connect ECONNREFUSED 10.0.0.9:8080");
      },
      async (id, error) => healthy.pipeline.markFailed(id, `indexing failed after retries: ${error.message}`),
    );
    const viaBroken = new DocumentService(healthy.db, healthy.store, broken, healthy.vectors);
    const upload = { name: "paper.md", contentType: "text/markdown", bytes: new TextEncoder().encode("# Paper\n\nReciprocal-rank fusion merges ranked lists.") };
    const { document } = await viaBroken.create(upload);
    await waitFor(async () => (await healthy.documents.get(document.id))?.status === "failed", 20_000, "the document to fail");
    expect((await healthy.documents.get(document.id))?.error).toBe("indexing failed after retries: connect ECONNREFUSED 10.0.0.9:8080");
    await broken.close();

    await healthy.startWorker();
    const again = await healthy.documents.create(upload);
    expect({ created: again.created, queued: again.queued, status: again.document.status, error: again.document.error }).toEqual({ created: false, queued: true, status: "queued", error: null });
    await waitFor(async () => (await healthy.documents.get(document.id))?.status === "ready", 20_000, "the retried document to be indexed");
  });
});
