/**
 * The orphan sweep: originals no document names (a process killed mid-upload left them, complete
 * or as a local write's temporary file) are removed once older than the grace period, and
 * nothing else is. Embedded (PGlite, local store) and on PostgreSQL, through the real services;
 * then over S3, Azure Blob and GCS stand-ins, with a real (in-memory PGlite) catalogue.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { type Db, openDb, type Queryable } from "../../src/db/db";
import { migrate } from "../../src/db/schema";
import { waitFor } from "../../src/queue/queue";
import {
  AzureBlobObjectStore,
  createObjectStore,
  GcsObjectStore,
  type ObjectStore,
} from "../../src/storage/object-store";
import { sweepOrphans } from "../../src/storage/sweeper";
import { MODES, type Runtime, startRuntime } from "../support";
import {
  pointS3At,
  versionedBlobStandIn,
  versionedGcsStandIn,
  versionedS3StandIn,
} from "./stand-ins";

const HOUR = 60 * 60_000;
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

/** Names `key` as a document's original, as an upload's row does. */
async function nameInCatalogue(db: Queryable, key: string): Promise<void> {
  await db.query(
    `INSERT INTO documents (name, content_type, content_hash, size_bytes, object_key, status, classification)
     VALUES ('named.txt', 'text/plain', $1, 1, $2, 'queued', 'internal')`,
    [randomUUID(), key],
  );
}

describe.each(MODES)("the orphan sweep (%s)", (mode) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime(mode, {}, { worker: false });
  }, 60_000);
  afterAll(async () => rt?.close());

  const root = () => join(rt.env.DATA_DIR!, "objects");
  /** A file in the local store as a write left it, last written `minutes` ago. */
  function plant(key: string, minutes: number): string {
    const path = join(root(), key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, "left behind");
    utimesSync(path, minutesAgo(minutes), minutesAgo(minutes));
    return key;
  }
  const orphan = (minutes = 120) => plant(`documents/${randomUUID()}`, minutes);
  const stored = (key: string) => existsSync(join(root(), key));

  it("removes old originals no document names, a killed write's temporary file included, and nothing else", async () => {
    const { documents, db, store } = rt.services;
    const { document } = await documents.create({
      name: "kept.txt",
      contentType: "text/plain",
      bytes: new TextEncoder().encode(`a document that stays ${randomUUID()}`),
    });
    const [row] = await db.query<{ object_key: string }>(
      "SELECT object_key FROM documents WHERE id = $1",
      [document.id],
    );
    const named = row!.object_key;
    utimesSync(join(root(), named), minutesAgo(120), minutesAgo(120));
    const complete = orphan();
    const temporary = plant(`documents/${randomUUID()}.${randomUUID()}.tmp`, 120);
    const inFlight = orphan(5); // an upload whose row is not written yet

    const swept = await sweepOrphans(db, store, HOUR);
    expect([...swept.removed].sort()).toEqual([complete, temporary].sort());
    expect(swept.failed).toEqual([]);
    expect([complete, temporary].map(stored)).toEqual([false, false]);
    expect([named, inFlight].map(stored)).toEqual([true, true]);
    expect(new TextDecoder().decode(await store.get(named))).toMatch(/^a document that stays/);

    expect(await sweepOrphans(db, store, HOUR)).toEqual({ removed: [], failed: [] });
  });

  it("keeps an original whose document appears between the listing and its delete", async () => {
    const { db, store } = rt.services;
    const key = orphan();
    // The upload that stored it writes its row just after the sweep read the catalogue.
    const racing: Queryable = {
      async query<T>(sql: string, params?: readonly unknown[]) {
        const rows = await db.query<T>(sql, params);
        if (sql.includes("ANY(")) await nameInCatalogue(db, key);
        return rows;
      },
    };
    expect(await sweepOrphans(racing, store, HOUR)).toEqual({ removed: [], failed: [] });
    expect(stored(key)).toBe(true);
  });

  it("run by several workers at once, removes every orphan once between them, without errors", async () => {
    const { db, store } = rt.services;
    const orphans = Array.from({ length: 12 }, () => orphan());
    const sweeps = await Promise.all([1, 2, 3].map(() => sweepOrphans(db, store, HOUR)));
    expect(sweeps.flatMap((s) => s.failed)).toEqual([]);
    expect(new Set(sweeps.flatMap((s) => s.removed))).toEqual(new Set(orphans));
    expect(orphans.filter(stored)).toEqual([]);
  });

  it("runs when the worker starts: logs the count and the keys, and counts them", async () => {
    const orphans = [orphan(), orphan()];
    const lines: { fields: object; message: string }[] = [];
    const log = {
      info: (fields: object, message: string) => lines.push({ fields, message }),
      warn: (fields: object, message: string) => lines.push({ fields, message }),
      error: (fields: object, message: string) => lines.push({ fields, message }),
    };
    await rt.services.startWorker(log);
    await waitFor(
      async () => lines.some((l) => l.message === "removed orphaned originals"),
      10_000,
      "the sweep at start",
    );
    const line = lines.find((l) => l.message === "removed orphaned originals")!;
    expect(line.fields).toEqual({ count: 2, keys: expect.arrayContaining(orphans) });
    expect(await rt.services.metrics.registry.metrics()).toMatch(
      /^rag_orphaned_originals_removed_total 2$/m,
    );
  });
});

describe("the orphan sweep over each cloud store", () => {
  let catalogue: Db;
  const closing: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    catalogue = await openDb(loadRuntimeConfig({ DATA_DIR: ":memory:" }));
    await migrate(catalogue, { requirePgvector: false });
  }, 60_000);
  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
  });
  afterAll(async () => catalogue?.close());

  /**
   * Three originals, two hours old: one a document names, one nobody does; and one nobody names
   * yet, written a minute ago. `age` backdates a key's stored versions. Only the orphan goes.
   */
  async function sweepsOnlyTheOldOrphan(store: ObjectStore, age: (key: string) => void) {
    const [named, orphan, young] = ["named", "orphan", "young"].map(
      (n) => `documents/${n}-${randomUUID()}`,
    ) as [string, string, string];
    for (const key of [named, orphan, orphan, young])
      await store.put(key, new TextEncoder().encode(key), "text/plain");
    age(named);
    age(orphan);
    await nameInCatalogue(catalogue, named);
    expect(await sweepOrphans(catalogue, store, HOUR)).toEqual({ removed: [orphan], failed: [] });
    expect(await sweepOrphans(catalogue, store, HOUR)).toEqual({ removed: [], failed: [] });
    return { named, orphan, young };
  }

  it("S3: the orphan's every version goes", async () => {
    const standIn = await versionedS3StandIn("docs", 2);
    const restoreEnv = pointS3At(standIn.url);
    closing.push(restoreEnv, standIn.close);
    const { named, orphan, young } = await sweepsOnlyTheOldOrphan(
      createObjectStore("s3://docs/rag", "/tmp"),
      (key) => {
        for (const v of standIn.objects.get(`rag/${key}`)!) v.modifiedAt = minutesAgo(120);
      },
    );
    expect(standIn.objects.get(`rag/${orphan}`)).toEqual([]);
    expect(standIn.objects.get(`rag/${named}`)).toHaveLength(1);
    expect(standIn.objects.get(`rag/${young}`)).toHaveLength(1);
  });

  it("Azure Blob: the orphan's every version goes", async () => {
    const standIn = await versionedBlobStandIn("account", "docs");
    closing.push(standIn.close);
    const { BlobServiceClient, StorageSharedKeyCredential } = await import("@azure/storage-blob");
    const credential = new StorageSharedKeyCredential(
      "account",
      Buffer.from("stand-in key").toString("base64"),
    );
    const store = new AzureBlobObjectStore(
      async () => new BlobServiceClient(standIn.url, credential).getContainerClient("docs"),
      "rag/",
    );
    const { named, orphan, young } = await sweepsOnlyTheOldOrphan(store, (key) => {
      for (const v of standIn.blobs.get(`rag/${key}`)!) v.modifiedAt = minutesAgo(120);
    });
    expect(standIn.blobs.get(`rag/${orphan}`)).toEqual([]);
    expect(standIn.blobs.get(`rag/${named}`)).toHaveLength(1);
    expect(standIn.blobs.get(`rag/${young}`)).toHaveLength(1);
  });

  it("GCS: the orphan's every generation goes", async () => {
    const standIn = await versionedGcsStandIn("docs", 2);
    closing.push(standIn.close);
    const { Storage } = await import("@google-cloud/storage");
    const store = new GcsObjectStore(
      async () => new Storage({ apiEndpoint: standIn.url, projectId: "stand-in" }).bucket("docs"),
      "rag/",
    );
    const { named, orphan, young } = await sweepsOnlyTheOldOrphan(store, (key) => {
      for (const g of standIn.objects.get(`rag/${key}`)!) g.modifiedAt = minutesAgo(120);
    });
    expect(standIn.objects.get(`rag/${orphan}`)).toEqual([]);
    expect(standIn.objects.get(`rag/${named}`)).toHaveLength(1);
    expect(standIn.objects.get(`rag/${young}`)).toHaveLength(1);
  });
});
