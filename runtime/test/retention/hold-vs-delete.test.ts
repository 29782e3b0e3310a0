/**
 * A legal hold and a delete of the same document, interleaved on purpose, in both modes: each side
 * is paused at its own point (the delete once it has claimed its document, the hold inside its
 * transaction) while the other runs. Whichever committed first wins whole: a delete under way
 * refuses the hold (409 `delete_in_progress`) and removes everything; a hold first refuses the
 * delete (409 `legal_hold`) and nothing is removed. The same for the retention purge and for a
 * delete reaching the Kafka index role.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DocumentService } from "../../src/ingest/documents";
import { indexDelete } from "../../src/kafka/roles";
import { waitFor } from "../../src/queue/queue";
import { claimForDelete, LegalHoldError, LegalHolds } from "../../src/retention/holds";
import { purgeExpired } from "../../src/retention/purge";
import { auth, MODES, startRuntime, type Runtime } from "../support";
import { age, stored, upload } from "./support";

/** A point where one side stops: `arrived` once it is there, `open` lets it go on. */
function pausePoint() {
  let open!: () => void;
  let arrive!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  return {
    arrived,
    open,
    pause: async () => {
      arrive();
      await opened;
    },
  };
}

/** Whether a promise has settled yet (it is left to run). */
function settledFlag(promise: Promise<unknown>): () => boolean {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return () => settled;
}

const gone = { document: false, chunks: 0, postings: 0, vectors: 0 };

describe.each(MODES)("a legal hold racing a delete (%s)", (mode) => {
  let rt: Runtime;
  let n = 0;
  /** A fresh indexed document in a collection of its own; its id, collection and original's key. */
  const fresh = async () => {
    const collection = `matter-${++n}`;
    const id = await upload(rt, `${collection}.txt`, collection);
    const [row] = await rt.services.db.query<{ object_key: string }>(
      "SELECT object_key FROM documents WHERE id = $1",
      [id],
    );
    return { id, collection, key: row!.object_key };
  };
  /** A delete that stops once it has claimed its document. */
  const pausedDeletes = (point: ReturnType<typeof pausePoint>) =>
    new DocumentService(rt.services.db, rt.services.store, rt.services.queue, rt.services.vectors, {
      onDeleteClaimed: point.pause,
    });
  /** Hold-setting that stops inside its transaction, the hold written and not yet committed. */
  const pausedHolds = (point: ReturnType<typeof pausePoint>) =>
    new LegalHolds(rt.services.db, { beforeCommit: point.pause });
  const putHold = (url: string) =>
    rt.app.inject({ method: "PUT", url, headers: auth(), payload: { reason: "litigation" } });
  /**
   * Server mode: waits until a statement is blocked on a row lock (the delete on the hold's
   * rows). Embedded, PGlite runs one transaction at a time, so the delete's claim waits by
   * construction and there is nothing to observe.
   */
  const blockedOnLock = async () => {
    if (rt.services.db.kind !== "postgres") return;
    await waitFor(
      async () =>
        (
          await rt.services.db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
          )
        )[0]!.n > 0,
      10_000,
      "the delete to wait on the hold's lock",
    );
  };

  beforeAll(async () => {
    rt = await startRuntime(mode);
  }, 120_000);
  afterAll(async () => {
    await rt?.close();
  });

  it("a hold asked for while a delete is under way is 409 delete_in_progress; the delete removes everything", async () => {
    const { id, collection, key } = await fresh();
    const point = pausePoint();
    const deleting = pausedDeletes(point).delete(id);
    await point.arrived;

    const onDocument = await putHold(`/v1/documents/${id}/legal-hold`);
    expect(onDocument.statusCode).toBe(409);
    expect(onDocument.json().error).toBe("delete_in_progress");
    expect(onDocument.json().message).toContain(`document ${id} is being deleted`);
    const onCollection = await putHold(`/v1/collections/${collection}/legal-hold`);
    expect(onCollection.statusCode).toBe(409);
    expect(onCollection.json().error).toBe("delete_in_progress");
    expect(onCollection.json().message).toContain(id);
    // Claimed, nothing removed yet: the refusal is not because the document had gone.
    expect((await stored(rt, id)).chunks).toBeGreaterThan(0);

    point.open();
    expect(await deleting).toBe(true);
    expect(await stored(rt, id)).toEqual(gone);
    await expect(rt.services.store.get(key)).rejects.toThrow();
    expect((await putHold(`/v1/documents/${id}/legal-hold`)).statusCode).toBe(404);
    const holds = await rt.app.inject({ method: "GET", url: "/v1/legal-holds", headers: auth() });
    expect(holds.json().items).toEqual([]);
    // The delete done, the collection (now empty of deletes) can be held.
    expect((await putHold(`/v1/collections/${collection}/legal-hold`)).statusCode).toBe(200);
    await new LegalHolds(rt.services.db).clear("collection", collection);
  });

  it.each(["document", "collection"] as const)(
    "a %s hold whose transaction is open when a delete begins makes the delete 409 legal_hold, removing nothing",
    async (scope) => {
      const { id, collection, key } = await fresh();
      const before = await stored(rt, id);
      const point = pausePoint();
      const target = scope === "document" ? id : collection;
      const setting = pausedHolds(point).set(scope, target, "litigation", "test");
      await point.arrived;

      const deleting = rt.services.documents.delete(id);
      const deleteSettled = settledFlag(deleting);
      await blockedOnLock();
      expect(deleteSettled()).toBe(false);

      point.open();
      expect(await setting).toMatchObject({ scope, target });
      const refusal = await deleting.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(LegalHoldError);
      expect(await stored(rt, id)).toEqual(before);
      await expect(rt.services.store.get(key)).resolves.toBeDefined();
      const [row] = await rt.services.db.query<{ deleting_since: Date | null }>(
        "SELECT deleting_since FROM documents WHERE id = $1",
        [id],
      );
      expect(row!.deleting_since).toBeNull();

      const viaApi = await rt.app.inject({
        method: "DELETE",
        url: `/v1/documents/${id}`,
        headers: auth(),
      });
      expect(viaApi.statusCode).toBe(409);
      expect(viaApi.json().error).toBe("legal_hold");
      await new LegalHolds(rt.services.db).clear(scope, target);
    },
  );

  it("the purge: a hold asked for during its delete is refused, and the document goes whole", async () => {
    const { id, collection, key } = await fresh();
    await age(rt, id, 40);
    const rules = { byCollection: new Map([[collection, 30]]) };
    const point = pausePoint();
    const purging = purgeExpired(rt.services.db, pausedDeletes(point), rules);
    await point.arrived;
    const refused = await putHold(`/v1/collections/${collection}/legal-hold`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toBe("delete_in_progress");
    point.open();
    expect(await purging).toEqual({ dryRun: false, removed: [id], held: [], failed: [] });
    expect(await stored(rt, id)).toEqual(gone);
    await expect(rt.services.store.get(key)).rejects.toThrow();
  });

  it("the purge: a hold committed while the purge runs keeps the document, reported held", async () => {
    const { id, collection, key } = await fresh();
    await age(rt, id, 40);
    const before = await stored(rt, id);
    const rules = { byCollection: new Map([[collection, 30]]) };
    const point = pausePoint();
    const setting = pausedHolds(point).set("collection", collection, "audit", "test");
    await point.arrived;
    // Server mode: the purge's listing does not see the uncommitted hold, so its delete is what
    // meets it (waiting on the hold's row lock). Embedded, the listing waits and sees it.
    const purging = purgeExpired(rt.services.db, rt.services.documents, rules);
    await blockedOnLock();
    point.open();
    await setting;
    expect(await purging).toEqual({ dryRun: false, removed: [], held: [id], failed: [] });
    expect(await stored(rt, id)).toEqual(before);
    await expect(rt.services.store.get(key)).resolves.toBeDefined();
    await new LegalHolds(rt.services.db).clear("collection", collection);
  });

  it("the Kafka index role: a delete reaching a held document keeps it whole; a claimed one refuses holds and goes", async () => {
    const { id, collection, key } = await fresh();
    const before = await stored(rt, id);
    const holds = new LegalHolds(rt.services.db);
    await holds.set("collection", collection, "litigation", "test");
    expect(await indexDelete(rt.services, { documentId: id, objectKey: key })).toBe("held");
    expect(await stored(rt, id)).toEqual(before);
    await holds.clear("collection", collection);

    // The uploading region's API claimed it (and published the delete): no hold from then on.
    await claimForDelete(rt.services.db, id);
    expect((await putHold(`/v1/documents/${id}/legal-hold`)).statusCode).toBe(409);
    expect(await indexDelete(rt.services, { documentId: id, objectKey: key })).toBe("deleted");
    expect(await stored(rt, id)).toEqual(gone);
  });

  it("indexing writes nothing for a document whose delete has begun", async () => {
    const { id } = await fresh();
    const before = await stored(rt, id);
    await claimForDelete(rt.services.db, id);
    const status = await rt.services.pipeline.write(
      id,
      [{ ordinal: 0, text: "a late chunk", heading: undefined }],
      [new Array<number>(rt.services.embedder.dimensions).fill(0.1)],
    );
    expect(status).toBe("skipped");
    expect(await stored(rt, id)).toEqual(before);
    expect(await rt.services.documents.delete(id)).toBe(true);
    expect(await stored(rt, id)).toEqual(gone);
  });
});
