/**
 * The document catalogue against the real PostgreSQL and Redis: uploads while the ingest queue
 * is out of reach (the document is kept and stays queued, and the worker's sweep queues it once
 * Redis answers), and uploads and deletes of the same bytes racing each other.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { DocumentService } from "../../src/ingest/documents";
import { BullMqQueue } from "../../src/queue/bullmq";
import { waitFor } from "../../src/queue/queue";
import { createServices, type Services } from "../../src/services";
import type { Db } from "../../src/db/db";
import type { ObjectStore } from "../../src/storage/object-store";
import { buildApp } from "../../src/app";
import { auth, freePorts, modeEnv, type Runtime, startRuntime } from "../support";

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
    away = new BullMqQueue(
      loadRuntimeConfig({
        ...env,
        REDIS_URL: `redis://127.0.0.1:${(await freePorts(1))[0]}` /* nothing answers: a Redis that is away */,
      }),
    );
    cut = new DocumentService(
      healthy.db,
      healthy.store,
      away,
      healthy.vectors,
      { onEnqueueFailed: (id, error) => failures.push(`${id}: ${error.message}`) },
      300,
    );
  });

  afterAll(async () => {
    await away?.close().catch(() => undefined);
    await healthy?.close();
    await cleanup?.();
  });

  it("keeps the document queued, and the sweep queues it for the worker once Redis answers", async () => {
    const upload = {
      name: "notes.md",
      contentType: "text/markdown",
      bytes: new TextEncoder().encode(
        "# Notes\n\nHybrid retrieval fuses BM25 with vector similarity.",
      ),
    };
    const { document, created, queued } = await cut.create(upload);
    expect({ created, queued, status: document.status }).toEqual({
      created: true,
      queued: false,
      status: "queued",
    });
    expect(failures).toEqual([`${document.id}: the ingest queue did not answer within 300 ms`]);
    expect(
      new TextDecoder().decode((await healthy.documents.original(document.id))!.bytes),
    ).toContain("Hybrid retrieval");

    // Too recent for the sweep's default age; taken when asked for any age: its job is then in Redis.
    expect(await healthy.documents.requeueStale()).toBe(0);
    expect(await healthy.queue.depth()).toBe(0);
    expect(await healthy.documents.requeueStale(0)).toBe(1);
    expect(await healthy.queue.depth()).toBe(1);
    await healthy.startWorker();
    await waitFor(
      async () => (await healthy.documents.get(document.id))?.status === "ready",
      30_000,
      "the swept document to be indexed",
    );
    const again = await healthy.documents.create(upload);
    expect({ created: again.created, queued: again.queued, id: again.document.id }).toEqual({
      created: false,
      queued: true,
      id: document.id,
    });
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

  it(
    "is tried again when its bytes are uploaded again, though its failed job is still kept",
    { timeout: 30_000 },
    async () => {
      // A worker whose embedding server is away: both tries fail and the document is marked failed.
      const broken = new BullMqQueue(loadRuntimeConfig(env), 1500, { attempts: 2, backoffMs: 50 });
      broken.consume(
        async () => {
          throw new Error("connect ECONNREFUSED 10.0.0.9:8080");
        },
        async (id, error) =>
          healthy.pipeline.markFailed(id, `indexing failed after retries: ${error.message}`),
      );
      const viaBroken = new DocumentService(healthy.db, healthy.store, broken, healthy.vectors);
      const upload = {
        name: "paper.md",
        contentType: "text/markdown",
        bytes: new TextEncoder().encode("# Paper\n\nReciprocal-rank fusion merges ranked lists."),
      };
      const { document } = await viaBroken.create(upload);
      await waitFor(
        async () => (await healthy.documents.get(document.id))?.status === "failed",
        20_000,
        "the document to fail",
      );
      expect((await healthy.documents.get(document.id))?.error).toBe(
        "indexing failed after retries: connect ECONNREFUSED 10.0.0.9:8080",
      );
      await broken.close();

      await healthy.startWorker();
      const again = await healthy.documents.create(upload);
      expect({
        created: again.created,
        queued: again.queued,
        status: again.document.status,
        error: again.document.error,
      }).toEqual({ created: false, queued: true, status: "queued", error: null });
      await waitFor(
        async () => (await healthy.documents.get(document.id))?.status === "ready",
        20_000,
        "the retried document to be indexed",
      );
    },
  );
});

describe("uploads and deletes of the same bytes at once (PostgreSQL)", () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime("server", {}, { worker: false });
  });
  afterAll(async () => rt?.close());

  const bytesOf = (text: string) => new TextEncoder().encode(text);
  const objectKeyOf = async (id: string) =>
    (
      await rt.services.db.query<{ object_key: string }>(
        "SELECT object_key FROM documents WHERE id = $1",
        [id],
      )
    )[0]!.object_key;

  /** The real store, with `gate` run before each call of `method` (put or delete). */
  function gated(method: "put" | "delete", gate: (key: string) => Promise<void>): ObjectStore {
    const real = rt.services.store;
    return {
      kind: real.kind,
      put: async (key, bytes, type) => {
        if (method === "put") await gate(key);
        return real.put(key, bytes, type);
      },
      get: (key) => real.get(key),
      delete: async (key) => {
        if (method === "delete") await gate(key);
        return real.delete(key);
      },
      list: (prefix) => real.list(prefix),
      check: () => real.check(),
    };
  }

  it("a delete the object store refuses keeps the document, answers 503, and succeeds when asked again", async () => {
    const { db, queue, vectors, documents } = rt.services;
    const { document } = await documents.create({
      name: "kept.md",
      contentType: "text/markdown",
      bytes: bytesOf("# Kept\n\nThe store refuses the first delete."),
    });
    let refuse = true;
    const flaky = gated("delete", async () => {
      if (refuse) throw new Error("connect ETIMEDOUT s3.eu-west-1.amazonaws.com");
    });
    const { app } = await buildApp({
      services: { ...rt.services, documents: new DocumentService(db, flaky, queue, vectors) },
      fastify: { logger: false },
    });
    try {
      const refused = await app.inject({
        method: "DELETE",
        url: `/v1/documents/${document.id}`,
        headers: auth(),
      });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers["retry-after"]).toBe("10");
      expect(refused.json()).toMatchObject({
        error: "delete_incomplete",
        message: `the original of document ${document.id} could not be deleted from the object store; the document is kept: delete it again`,
      });
      expect(refused.body).not.toContain("amazonaws");
      // Still there, original included: nothing is left behind that no longer has a row.
      expect((await documents.get(document.id))?.id).toBe(document.id);
      expect(await documents.original(document.id)).toBeDefined();

      refuse = false;
      expect(
        (
          await app.inject({
            method: "DELETE",
            url: `/v1/documents/${document.id}`,
            headers: auth(),
          })
        ).statusCode,
      ).toBe(204);
      expect(await documents.get(document.id)).toBeUndefined();
      const key = (
        await rt.services.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM documents WHERE id = $1",
          [document.id],
        )
      )[0]!.n;
      expect(key).toBe(0);
    } finally {
      await app.close();
    }
  });

  /** A pause in a delete: `reached` settles when it gets there, `release` lets it go on. */
  function pause(): { at: () => Promise<void>; reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let arrive!: () => void;
    const reached = new Promise<void>((r) => (arrive = r));
    const held = new Promise<void>((r) => (release = r));
    return { at: () => (arrive(), held), reached, release };
  }

  it("a re-upload racing a delete comes before it (the same document, then deleted) or after it (a new one, its original untouched)", async () => {
    const { db, queue, vectors, documents } = rt.services;
    const upload = {
      name: "twice.md",
      contentType: "text/markdown",
      bytes: bytesOf("# Twice\n\nUploaded, deleted and uploaded again."),
    };

    // Before: the delete is removing the original, the row is still there.
    const first = (await documents.create(upload)).document;
    const atStore = pause();
    const deletion = new DocumentService(db, gated("delete", atStore.at), queue, vectors).delete(
      first.id,
    );
    await atStore.reached;
    const during = await documents.create(upload);
    expect({ created: during.created, id: during.document.id }).toEqual({
      created: false,
      id: first.id,
    });
    atStore.release();
    expect(await deletion).toBe(true);
    expect(await documents.get(first.id)).toBeUndefined();

    // After: the row is gone and the delete is finishing (its term statistics).
    const again = (await documents.create(upload)).document;
    const atRowGone = pause();
    const afterRowDelete: Db = {
      kind: db.kind,
      transaction: (fn) => db.transaction(fn),
      enablePgvector: () => db.enablePgvector(),
      close: () => db.close(),
      query: async <T>(sql: string, params?: readonly unknown[]) => {
        const rows = await db.query<T>(sql, params);
        if (sql.startsWith("DELETE FROM documents")) await atRowGone.at();
        return rows;
      },
    };
    const second = new DocumentService(afterRowDelete, rt.services.store, queue, vectors).delete(
      again.id,
    );
    await atRowGone.reached;
    const fresh = await documents.create(upload);
    expect(fresh.created).toBe(true);
    atRowGone.release();
    expect(await second).toBe(true);
    expect(
      new TextDecoder().decode((await documents.original(fresh.document.id))!.bytes),
    ).toContain("uploaded again");
  });

  it("two uploads of the same bytes at once make one document and leave one stored copy", async () => {
    const { db, queue, vectors } = rt.services;
    const upload = {
      name: "race.md",
      contentType: "text/markdown",
      bytes: bytesOf("# Race\n\nTwo clients upload the same file at the same moment."),
    };
    const keys: string[] = [];
    let arrived!: () => void;
    const both = new Promise<void>((r) => (arrived = r));
    const racing = new DocumentService(
      db,
      gated("put", async (key) => {
        keys.push(key);
        if (keys.length === 2) arrived();
        await both;
      }),
      queue,
      vectors,
    );
    const results = await Promise.all([racing.create(upload), racing.create(upload)]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(results[0].document.id).toBe(results[1].document.id);
    const kept = await objectKeyOf(results[0].document.id);
    // Nothing in the key tells what the document holds (a key outlives a delete in access logs).
    expect(kept).not.toContain(results[0].document.contentHash);
    expect(keys).toContain(kept);
    const others = keys.filter((k) => k !== kept);
    expect(others).toHaveLength(1);
    await expect(rt.services.store.get(others[0]!)).rejects.toThrow();
    expect(new TextDecoder().decode(await rt.services.store.get(kept))).toContain("same moment");
  });
});
