/**
 * How the Qdrant index creates its collection, through the official client over HTTP to a local
 * stand-in (qdrant-stand-in.ts) for the three calls it makes (exists, create, payload index), and
 * a search the stand-in never answers. It checks what the runtime asks of Qdrant, not how Qdrant answers; no
 * Qdrant server runs here. And the warning a collection created afresh beside an indexed database
 * gives at start.
 */
import { afterEach, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { QdrantVectorIndex } from "../../src/search/vector-index";
import { missingVectorsWarning } from "../../src/services";
import { startRuntime } from "../support";
import { qdrantStandIn } from "./qdrant-stand-in";

describe("the Qdrant collection", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  it("is created with the configured copies of each shard, cosine vectors of the embedder's size, and a document_id index", async () => {
    const standIn = await qdrantStandIn();
    close = standIn.close;
    const config = loadRuntimeConfig({
      VECTOR_STORE: "qdrant",
      QDRANT_URL: standIn.url,
      QDRANT_REPLICATION_FACTOR: "2",
    });
    await QdrantVectorIndex.connect({
      url: config.QDRANT_URL!,
      apiKey: "qdrant-key-0123456789",
      collection: config.QDRANT_COLLECTION,
      dimensions: 768,
      replicationFactor: config.QDRANT_REPLICATION_FACTOR,
    });
    const create = standIn.requests.find(
      (r) => r.method === "PUT" && r.path === "/collections/chunks",
    )!;
    expect(create.body).toEqual({
      vectors: { size: 768, distance: "Cosine" },
      replication_factor: 2,
    });
    expect(create.apiKey).toBe("qdrant-key-0123456789");
    expect(
      standIn.requests.find((r) => r.path === "/collections/chunks/index")!.body,
    ).toMatchObject({ field_name: "document_id", field_schema: "keyword" });
  });

  it("is left as it is when it exists, and the setting defaults to one copy", async () => {
    const standIn = await qdrantStandIn({ existing: { chunks: {} } });
    close = standIn.close;
    expect(loadRuntimeConfig({}).QDRANT_REPLICATION_FACTOR).toBe(1);
    await QdrantVectorIndex.connect({ url: standIn.url, collection: "chunks", dimensions: 768 });
    expect(standIn.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /collections/chunks/exists",
    ]);
  });

  it("gives up on a call that takes longer than its timeout", { timeout: 10_000 }, async () => {
    const standIn = await qdrantStandIn({ existing: { chunks: {} }, silent: ["search"] });
    close = standIn.close;
    const index = await QdrantVectorIndex.connect({
      url: standIn.url,
      collection: "chunks",
      dimensions: 4,
      timeoutMs: 300,
    });
    await expect(index.search(undefined as never, [1, 0, 0, 0], 5)).rejects.toThrow();
    expect(standIn.requests.map((r) => `${r.method} ${r.path}`)).toContain(
      "POST /collections/chunks/points/search",
    );
  });

  it("warns when it had to be created while the database holds indexed chunks, and only then", async () => {
    const rt = await startRuntime("embedded");
    const missing = await qdrantStandIn();
    const present = await qdrantStandIn({ existing: { chunks: {} } });
    close = async () => {
      await Promise.all([missing.close(), present.close()]);
      await rt.close();
    };
    const db = rt.services.db;
    const created = await QdrantVectorIndex.connect({
      url: missing.url,
      collection: "chunks",
      dimensions: 512,
    });
    expect(created.created).toBe(true);
    expect(await missingVectorsWarning(db, created), "no chunks indexed yet").toBeUndefined();

    const up = await rt.services.documents.create({
      name: "a.md",
      contentType: "text/markdown",
      bytes: new TextEncoder().encode("# A\n\nSome text to index.\n\nAnd another paragraph."),
      metadata: {},
    });
    await rt.waitReady(up.document.id);
    const chunks = (
      await db.query<{ chunks: number }>("SELECT count(*)::int AS chunks FROM chunks")
    )[0]!.chunks;
    expect(chunks).toBeGreaterThan(0);
    expect(await missingVectorsWarning(db, created)).toBe(
      `the Qdrant collection "chunks" did not exist and was created empty, but the database holds ${chunks} indexed chunks: vector search finds none of them until the vectors are rebuilt (node dist/reembed.js; npm run reembed -w runtime) with the API and workers stopped`,
    );
    const existing = await QdrantVectorIndex.connect({
      url: present.url,
      collection: "chunks",
      dimensions: 512,
    });
    expect(existing.created).toBe(false);
    expect(await missingVectorsWarning(db, existing)).toBeUndefined();
    expect(
      await missingVectorsWarning(db, rt.services.vectors),
      "pgvector: the vectors live beside the chunks",
    ).toBeUndefined();
    expect(rt.services.warnings).toEqual([]);
  });
});
