/**
 * SEARCH_BACKEND=qdrant: what the runtime asks of Qdrant, through the official client over HTTP
 * to a local stand-in (qdrant-stand-in.ts): the collection it creates, the points it writes (BM25
 * as sparse vectors from the runtime's tokenizer, the payload filters read), the query (two
 * prefetches fused by RRF, filtered by tenant, metadata, documents and clearance), the deletes;
 * then the whole service against the stand-in, from upload to /v1/retrieve. No Qdrant runs here.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { BM25 } from "../../src/search/bm25";
import { QdrantHybridIndex } from "../../src/search/qdrant-hybrid";
import { fnv1a32, loadTokenizer, tokenize } from "../../src/search/tokenize";
import { auth, type Runtime, startRuntime } from "../support";
import { qdrantStandIn, type Recorded } from "./qdrant-stand-in";

beforeAll(loadTokenizer);

const HYBRID_CONFIG = {
  params: {
    vectors: { dense: { size: 4, distance: "Cosine" } },
    sparse_vectors: { bm25: { modifier: "idf" } },
  },
};

const options = (url: string) => ({
  url,
  collection: "chunks",
  model: "test-model",
  dimensions: 4,
  tenant: "acme",
  averageLength: 3,
});

const document = {
  id: "6f1c1d1e-0000-4000-8000-000000000001",
  metadata: { team: "search" },
  classification: "confidential",
  accessGroups: ["legal"],
};

describe("the Qdrant hybrid collection", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  it("is created with a named dense vector, a sparse vector Qdrant weighs by IDF, and the configured shards, copies and write consistency", async () => {
    const standIn = await qdrantStandIn();
    close = standIn.close;
    const config = loadRuntimeConfig({
      SEARCH_BACKEND: "qdrant",
      QDRANT_URL: standIn.url,
      QDRANT_SHARDS: "6",
      QDRANT_REPLICATION_FACTOR: "3",
      QDRANT_WRITE_CONSISTENCY: "2",
    });
    const index = await QdrantHybridIndex.connect({
      ...options(config.QDRANT_URL!),
      dimensions: 768,
      shards: config.QDRANT_SHARDS,
      replicationFactor: config.QDRANT_REPLICATION_FACTOR,
      writeConsistency: config.QDRANT_WRITE_CONSISTENCY,
    });
    expect(index.created).toBe(true);
    const calls = standIn.requests.map((r) => `${r.method} ${r.path}`);
    expect(calls.slice(0, 2)).toEqual([
      "GET /collections/chunks/exists",
      "PUT /collections/chunks",
    ]);
    expect(standIn.requests[1]!.body).toEqual({
      vectors: { dense: { size: 768, distance: "Cosine" } },
      sparse_vectors: { bm25: { modifier: "idf" } },
      shard_number: 6,
      replication_factor: 3,
      write_consistency_factor: 2,
    });
    expect(
      standIn.requests
        .filter((r) => r.path === "/collections/chunks/index")
        .map((r) => [r.body.field_name, r.body.field_schema]),
    ).toEqual([
      ["tenant", { type: "keyword", is_tenant: true }],
      ["document_id", "keyword"],
      ["classification", "keyword"],
      ["access_groups", "keyword"],
    ]);
  });

  it("is refused when it exists with another shape, and used as it is when it fits", async () => {
    const standIn = await qdrantStandIn({
      existing: {
        chunks: { params: { vectors: { size: 4, distance: "Cosine" } } },
        small: {
          params: { ...HYBRID_CONFIG.params, vectors: { dense: { size: 2, distance: "Cosine" } } },
        },
        hybrid: HYBRID_CONFIG,
      },
    });
    close = standIn.close;
    await expect(QdrantHybridIndex.connect(options(standIn.url))).rejects.toThrow(
      'the Qdrant collection "chunks" cannot serve SEARCH_BACKEND=qdrant: it has no dense vector named "dense"; set QDRANT_COLLECTION to a new name, or rebuild it (npm run reembed -w runtime)',
    );
    await expect(
      QdrantHybridIndex.connect({ ...options(standIn.url), collection: "small" }),
    ).rejects.toThrow('its "dense" vectors have 2 dimensions, the embedder 4');
    const index = await QdrantHybridIndex.connect({
      ...options(standIn.url),
      collection: "hybrid",
    });
    expect(index.created).toBe(false);
    expect(standIn.requests.filter((r) => r.method === "PUT")).toEqual([]);
  });

  it("writes each chunk as a point with BM25's saturated term frequencies, the dense vector and the payload filters read", async () => {
    const standIn = await qdrantStandIn({ existing: { chunks: HYBRID_CONFIG } });
    close = standIn.close;
    const index = await QdrantHybridIndex.connect(options(standIn.url));
    const text = "Retrieval retrieval fusion";
    await index.upsert(undefined as never, document, [
      { id: `${document.id}:0`, ordinal: 0, tokens: tokenize(text), vector: [1, 0, 0, 0] },
    ]);
    const upsert = standIn.requests.find((r) => r.path === "/collections/chunks/points")!;
    expect(upsert.method).toBe("PUT");
    const point = upsert.body.points![0]!;
    expect(point.payload).toEqual({
      tenant: "acme",
      document_id: document.id,
      chunk_id: `${document.id}:0`,
      chunk_index: 0,
      classification: "confidential",
      access_groups: ["legal"],
      metadata: { team: "search" },
    });
    expect(point.vector.dense).toEqual([1, 0, 0, 0]);
    // Three tokens, two of one term; the chunk is as long as the average (3): the length norm is k1.
    expect(tokenize(text)).toEqual(["retriev", "retriev", "fusion"]);
    const { k1 } = BM25;
    const expected = new Map([
      [fnv1a32("retriev"), (2 * (k1 + 1)) / (2 + k1)],
      [fnv1a32("fusion"), (1 * (k1 + 1)) / (1 + k1)],
    ]);
    expect(point.vector.bm25.indices).toEqual([...expected.keys()].sort((a, b) => a - b));
    point.vector.bm25.indices.forEach((i, n) =>
      expect(point.vector.bm25.values[n]).toBeCloseTo(expected.get(i)!, 12),
    );
    // The id: the document, the chunk's place and the model; the same again, another for another model.
    expect(point.id).toBe(index.pointId(document.id, 0));
    expect(point.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const other = await QdrantHybridIndex.connect({ ...options(standIn.url), model: "other" });
    expect(other.pointId(document.id, 0)).not.toBe(point.id);
    expect(index.pointId(document.id, 1)).not.toBe(point.id);
  });

  it("asks one query: sparse and dense prefetches fused by RRF, each and the whole filtered by tenant, metadata, documents and clearance", async () => {
    const standIn = await qdrantStandIn({ existing: { chunks: HYBRID_CONFIG } });
    close = standIn.close;
    const index = await QdrantHybridIndex.connect(options(standIn.url));
    await index.upsert(undefined as never, document, [
      {
        id: `${document.id}:0`,
        ordinal: 0,
        tokens: tokenize("fusion of ranks"),
        vector: [1, 0, 0, 0],
      },
      {
        id: `${document.id}:1`,
        ordinal: 1,
        tokens: tokenize("dense vectors"),
        vector: [0, 1, 0, 0],
      },
    ]);
    const results = await index.query({
      tokens: tokenize("rank fusion fusion"),
      vector: [0, 1, 0, 0],
      limit: 50,
      filters: {
        metadata: { team: "search" },
        documentIds: [document.id],
        classifications: ["public", "confidential"],
        accessGroups: ["legal", "hr"],
      },
    });
    const query = standIn.requests.find((r) => r.path === "/collections/chunks/points/query")!;
    const filter = {
      must: [
        { key: "tenant", match: { value: "acme" } },
        { key: "metadata.team", match: { value: "search" } },
        { key: "document_id", match: { any: [document.id] } },
        { key: "classification", match: { any: ["public", "confidential"] } },
        {
          should: [
            { is_empty: { key: "access_groups" } },
            { key: "access_groups", match: { any: ["legal", "hr"] } },
          ],
        },
      ],
    };
    expect(query.body).toEqual({
      prefetch: [
        {
          query: {
            indices: [fnv1a32("rank"), fnv1a32("fusion")].sort((a, b) => a - b),
            values: [fnv1a32("rank"), fnv1a32("fusion")]
              .sort((a, b) => a - b)
              .map((i) => (i === fnv1a32("fusion") ? 2 : 1)),
          },
          using: "bm25",
          limit: 50,
          filter,
        },
        { query: [0, 1, 0, 0], using: "dense", limit: 50, filter },
      ],
      query: { fusion: "rrf" },
      filter,
      limit: 50,
      with_payload: ["chunk_id"],
    });
    // Each chunk ranks first in one half: fused, both come back as chunk ids with Qdrant's score.
    expect(results.map((r) => r.chunkId).sort()).toEqual([`${document.id}:0`, `${document.id}:1`]);
    expect(results[0]!.score).toBeCloseTo(1 / 61, 12);
  });

  it("asks for the sparse half alone without a question vector, and nothing without terms or vector", async () => {
    const standIn = await qdrantStandIn({ existing: { chunks: HYBRID_CONFIG } });
    close = standIn.close;
    const index = await QdrantHybridIndex.connect(options(standIn.url));
    await index.query({ tokens: tokenize("fusion"), limit: 10 });
    expect(await index.query({ tokens: [], limit: 10 })).toEqual([]);
    const queries = standIn.requests.filter((r) => r.path.endsWith("/points/query"));
    expect(queries.map((r) => r.body)).toEqual([
      {
        query: { indices: [fnv1a32("fusion")], values: [1] },
        using: "bm25",
        filter: { must: [{ key: "tenant", match: { value: "acme" } }] },
        limit: 10,
        with_payload: ["chunk_id"],
      },
    ]);
  });

  it("deletes a document's points by its id within the tenant", async () => {
    const standIn = await qdrantStandIn({ existing: { chunks: HYBRID_CONFIG } });
    close = standIn.close;
    const index = await QdrantHybridIndex.connect(options(standIn.url));
    await index.deleteDocument(document.id);
    const del = standIn.requests.find((r) => r.path === "/collections/chunks/points/delete")!;
    expect(del.body).toEqual({
      filter: {
        must: [
          { key: "tenant", match: { value: "acme" } },
          { key: "document_id", match: { any: [document.id] } },
        ],
      },
    });
  });
});

describe("the service with SEARCH_BACKEND=qdrant", () => {
  let rt: Runtime;
  let standIn: Awaited<ReturnType<typeof qdrantStandIn>>;
  const ids: Record<string, string> = {};

  async function upload(name: string, text: string, metadata: Record<string, string>) {
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: { name, text, contentType: "text/markdown", metadata },
    });
    expect(res.statusCode).toBe(202);
    ids[name] = res.json().id;
    await rt.waitReady(ids[name]!);
  }

  const queries = (): Recorded[] =>
    standIn.requests.filter((r) => r.path === "/collections/chunks/points/query");

  beforeAll(async () => {
    standIn = await qdrantStandIn();
    rt = await startRuntime("embedded", {
      SEARCH_BACKEND: "qdrant",
      QDRANT_URL: standIn.url,
      TENANT_ID: "acme",
      // A real model's weight: both halves are asked for (the offline embedder's default is 0).
      FUSION_VECTOR_WEIGHT: "1",
    });
    await upload(
      "fusion.md",
      "# Fusion\n\nReciprocal rank fusion merges the ranked lists of lexical and dense retrieval.",
      { team: "search" },
    );
    await upload(
      "kitchen.md",
      "# Kitchen\n\nA sourdough starter needs flour, water and a warm kitchen.",
      { team: "food" },
    );
  }, 60_000);

  afterAll(async () => {
    await rt?.close();
    await standIn?.close();
  });

  it("indexes uploads as points of the tenant, and writes no postings to PostgreSQL", async () => {
    const points = standIn.points("chunks");
    expect(new Set(points.map((p) => p.payload.document_id))).toEqual(
      new Set([ids["fusion.md"], ids["kitchen.md"]]),
    );
    expect(points.every((p) => p.payload.tenant === "acme")).toBe(true);
    expect(points.every((p) => p.payload.classification === "internal")).toBe(true);
    expect(points.every((p) => p.vector.bm25.indices.length > 0)).toBe(true);
    const [row] = await rt.services.db.query<{ chunks: number; postings: number }>(
      "SELECT (SELECT count(*) FROM chunks)::int AS chunks, (SELECT count(*) FROM postings)::int AS postings",
    );
    expect(row).toEqual({ chunks: points.length, postings: 0 });
  });

  it("answers /v1/retrieve from Qdrant's fused query, in the same shape as the PostgreSQL backend", async () => {
    const before = queries().length;
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/retrieve",
      headers: auth(),
      payload: { question: "How does rank fusion merge lists?", topK: 3 },
    });
    expect(res.statusCode).toBe(200);
    const { retrieved } = res.json();
    expect(retrieved[0]).toEqual({
      documentId: ids["fusion.md"],
      documentName: "fusion.md",
      chunkId: `${ids["fusion.md"]}:0`,
      heading: "Fusion",
      text: expect.stringContaining("Reciprocal rank fusion"),
      score: expect.any(Number),
    });
    const [query] = queries().slice(before);
    expect(query!.body.query).toEqual({ fusion: "rrf" });
    expect(query!.body.prefetch!.map((p) => p.using)).toEqual(["bm25", "dense"]);
    expect(query!.body.filter).toEqual({ must: [{ key: "tenant", match: { value: "acme" } }] });
  });

  it("passes metadata filters to Qdrant, which leaves other documents out", async () => {
    const before = queries().length;
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/retrieve",
      headers: auth(),
      payload: {
        question: "flour and rank fusion",
        topK: 5,
        filters: { metadata: { team: "food" } },
      },
    });
    expect(res.statusCode).toBe(200);
    const names = res.json().retrieved.map((r: { documentName: string }) => r.documentName);
    expect(new Set(names)).toEqual(new Set(["kitchen.md"]));
    expect(queries().slice(before)[0]!.body.filter!.must).toContainEqual({
      key: "metadata.team",
      match: { value: "food" },
    });
  });

  it("changes a document's label and groups on its points, within the tenant, keeping the other", async () => {
    const patch = async (what: string, payload: object) => {
      const res = await rt.app.inject({
        method: "PATCH",
        url: `/v1/documents/${ids["fusion.md"]}/${what}`,
        headers: auth(),
        payload,
      });
      expect(res.statusCode, res.body).toBe(200);
    };
    const fusion = () =>
      standIn.points("chunks").filter((p) => p.payload.document_id === ids["fusion.md"]);
    const others = () =>
      standIn.points("chunks").filter((p) => p.payload.document_id !== ids["fusion.md"]);
    await patch("groups", { accessGroups: ["ops"] });
    expect(fusion().length).toBeGreaterThan(0);
    for (const p of fusion())
      expect(p.payload).toMatchObject({ classification: "internal", access_groups: ["ops"] });
    await patch("classification", { classification: "public" });
    for (const p of fusion())
      expect(p.payload).toMatchObject({ classification: "public", access_groups: ["ops"] });
    for (const p of others())
      expect(p.payload).toMatchObject({ classification: "internal", access_groups: [] });
    const writes = standIn.requests.filter((r) => r.path === "/collections/chunks/points/payload");
    expect(writes.map((r) => r.body.payload)).toEqual([
      { access_groups: ["ops"] },
      { classification: "public" },
    ]);
    for (const r of writes)
      expect(r.body.filter!.must).toContainEqual({ key: "tenant", match: { value: "acme" } });
  });

  it("deletes a document's points with the document", async () => {
    const res = await rt.app.inject({
      method: "DELETE",
      url: `/v1/documents/${ids["kitchen.md"]}`,
      headers: auth(),
    });
    expect(res.statusCode).toBe(204);
    expect(standIn.points("chunks").some((p) => p.payload.document_id === ids["kitchen.md"])).toBe(
      false,
    );
    expect(standIn.points("chunks").length).toBeGreaterThan(0);
  });
});
