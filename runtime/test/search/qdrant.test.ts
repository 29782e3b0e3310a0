/**
 * How the Qdrant index creates its collection, through the official client over HTTP to a local
 * stand-in for the three calls it makes (exists, create, payload index), and a search the
 * stand-in never answers. It checks what the runtime asks of Qdrant, not how Qdrant answers; no
 * Qdrant server runs here. And the warning a collection created afresh beside an indexed database
 * gives at start.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { QdrantVectorIndex } from "../../src/search/vector-index";
import { missingVectorsWarning } from "../../src/services";
import { startRuntime } from "../support";

async function qdrantStandIn(existing: string[] = []) {
  const requests: { method: string; path: string; apiKey?: string; body: unknown }[] = [];
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const path = new URL(req.url!, "http://stand-in").pathname;
      requests.push({
        method: req.method!,
        path,
        apiKey: req.headers["api-key"] as string | undefined,
        body: raw ? JSON.parse(raw) : undefined,
      });
      const ok = (result: unknown) =>
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ result, status: "ok", time: 0 }));
      const exists = path.match(/^\/collections\/([^/]+)\/exists$/);
      if (req.method === "GET" && exists) return ok({ exists: existing.includes(exists[1]!) });
      if (req.method === "PUT" && /^\/collections\/[^/]+$/.test(path)) return ok(true);
      if (req.method === "PUT" && /^\/collections\/[^/]+\/index$/.test(path))
        return ok({ operation_id: 1, status: "completed" });
      if (req.method === "POST" && /^\/collections\/[^/]+\/points\/search$/.test(path)) return; // a search that never answers
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ status: { error: "not in the stand-in" }, time: 0 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

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
    const standIn = await qdrantStandIn(["chunks"]);
    close = standIn.close;
    expect(loadRuntimeConfig({}).QDRANT_REPLICATION_FACTOR).toBe(1);
    await QdrantVectorIndex.connect({ url: standIn.url, collection: "chunks", dimensions: 768 });
    expect(standIn.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /collections/chunks/exists",
    ]);
  });

  it("gives up on a call that takes longer than its timeout", { timeout: 10_000 }, async () => {
    const standIn = await qdrantStandIn(["chunks"]);
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
    const present = await qdrantStandIn(["chunks"]);
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
