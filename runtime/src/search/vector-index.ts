/**
 * Where chunk vectors live: pgvector (cosine; HNSW-indexed or scanned exactly), an exact scan
 * over real[] on a Postgres without pgvector, or Qdrant. Postgres-backed indexes write inside the
 * indexing transaction.
 */
import { createHash } from "node:crypto";
import type { QdrantClient } from "@qdrant/js-client-rest" with { "resolution-mode": "import" };
import type { Queryable } from "../db/db";
import type { Scored } from "./bm25";
import { type Filters, filterSql, hasFilters } from "./filters";

export interface VectorIndex {
  readonly kind: "pgvector" | "exact-scan" | "qdrant";
  /** Writes vectors; Postgres indexes use `tx` (same transaction as the chunks). */
  upsert(
    tx: Queryable,
    documentId: string,
    metadata: Record<string, unknown>,
    chunkIds: readonly string[],
    vectors: readonly number[][],
  ): Promise<void>;
  /** Removes a document's vectors (Postgres ones go with the chunks by cascade). */
  deleteDocument(documentId: string): Promise<void>;
  search(
    db: Queryable,
    vector: readonly number[],
    limit: number,
    filters?: Filters,
  ): Promise<Scored[]>;
  check(): Promise<void>;
}

const literal = (v: readonly number[], open: string, close: string) =>
  `${open}${v.map((x) => (Number.isFinite(x) ? x : 0)).join(",")}${close}`;

export class PostgresVectorIndex implements VectorIndex {
  constructor(readonly kind: "pgvector" | "exact-scan") {}

  async upsert(
    tx: Queryable,
    _documentId: string,
    _metadata: Record<string, unknown>,
    chunkIds: readonly string[],
    vectors: readonly number[][],
  ): Promise<void> {
    const [open, close, cast] =
      this.kind === "pgvector" ? ["[", "]", "vector"] : ["{", "}", "real[]"];
    await tx.query(
      `INSERT INTO chunk_vectors (chunk_id, embedding) SELECT c, e::${cast} FROM unnest($1::text[], $2::text[]) AS t(c, e)
       ON CONFLICT (chunk_id) DO UPDATE SET embedding = excluded.embedding`,
      [chunkIds, vectors.map((v) => literal(v, open, close))],
    );
  }

  async deleteDocument(): Promise<void> {
    // chunk_vectors rows are removed by ON DELETE CASCADE with their chunks.
  }

  async search(
    db: Queryable,
    vector: readonly number[],
    limit: number,
    filters?: Filters,
  ): Promise<Scored[]> {
    const param = this.kind === "pgvector" ? literal(vector, "[", "]") : literal(vector, "{", "}");
    if (this.kind === "pgvector" && !hasFilters(filters)) {
      // Vectors commit with their document's ready status: unfiltered, the vector table answers
      // alone (through the HNSW index when VECTOR_INDEX=hnsw, by an exact scan otherwise).
      const rows = await db.query<{ chunk_id: string; score: number }>(
        "SELECT chunk_id, (1 - (embedding <=> $1::vector))::float8 AS score FROM chunk_vectors ORDER BY embedding <=> $1::vector LIMIT $2",
        [param, limit],
      );
      return rows.map((r) => ({ chunkId: r.chunk_id, score: Number(r.score) }));
    }
    const where = filterSql(filters, 3);
    const similarity =
      this.kind === "pgvector"
        ? "1 - (v.embedding <=> $1::vector)"
        : "(SELECT sum(a * b) FROM unnest(v.embedding, $1::real[]) AS t(a, b))";
    const order = this.kind === "pgvector" ? "v.embedding <=> $1::vector" : `${similarity} DESC`;
    const rows = await db.query<{ chunk_id: string; score: number }>(
      `SELECT v.chunk_id, (${similarity})::float8 AS score
       FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id JOIN documents d ON d.id = c.document_id
       WHERE ${where.sql}
       ORDER BY ${order}
       LIMIT $2`,
      [param, limit, ...where.params],
    );
    return rows.map((r) => ({ chunkId: r.chunk_id, score: Number(r.score) }));
  }

  async check(): Promise<void> {}
}

/** Qdrant point ids must be UUIDs: derive one from the chunk id (stable across re-indexing). */
export function pointId(chunkId: string): string {
  const h = createHash("sha1").update(chunkId).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

/** How long one Qdrant call may take: searches take milliseconds, an ingest batch's upsert seconds. */
export const QDRANT_TIMEOUT_MS = 30_000;

export class QdrantVectorIndex implements VectorIndex {
  readonly kind = "qdrant" as const;
  private constructor(
    private readonly client: QdrantClient,
    readonly collection: string,
    /** This connection created the collection: it holds no vectors yet. */
    readonly created: boolean,
  ) {}

  /**
   * Opens the collection, creating it when missing; `recreate` drops it first (a new embedding
   * model). A new collection keeps `replicationFactor` copies of each shard on distinct nodes of
   * a distributed Qdrant (a node lost loses no vectors); an existing one keeps its own. Each call
   * gives up after `timeoutMs` (the client's own default is five minutes, which would hold a
   * query that long before it goes on without vectors).
   */
  static async connect(o: {
    url: string;
    apiKey?: string;
    collection: string;
    dimensions: number;
    /** @default false */
    recreate?: boolean;
    /** @default 1 */
    replicationFactor?: number;
    /** @default QDRANT_TIMEOUT_MS */
    timeoutMs?: number;
  }): Promise<QdrantVectorIndex> {
    const { QdrantClient } = await import("@qdrant/js-client-rest");
    const { collection } = o;
    const client = new QdrantClient({
      url: o.url,
      apiKey: o.apiKey,
      checkCompatibility: false,
      timeout: o.timeoutMs ?? QDRANT_TIMEOUT_MS,
    });
    if (o.recreate) await client.deleteCollection(collection);
    const { exists } = await client.collectionExists(collection);
    if (!exists) {
      await client.createCollection(collection, {
        vectors: { size: o.dimensions, distance: "Cosine" },
        replication_factor: o.replicationFactor ?? 1,
      });
      await client.createPayloadIndex(collection, {
        field_name: "document_id",
        field_schema: "keyword",
      });
    }
    return new QdrantVectorIndex(client, collection, !exists);
  }

  async upsert(
    _tx: Queryable,
    documentId: string,
    metadata: Record<string, unknown>,
    chunkIds: readonly string[],
    vectors: readonly number[][],
  ): Promise<void> {
    await this.client.upsert(this.collection, {
      wait: true,
      points: chunkIds.map((chunkId, i) => ({
        id: pointId(chunkId),
        vector: [...vectors[i]!],
        payload: { chunk_id: chunkId, document_id: documentId, metadata },
      })),
    });
  }

  async deleteDocument(documentId: string): Promise<void> {
    await this.client.delete(this.collection, {
      wait: true,
      filter: { must: [{ key: "document_id", match: { value: documentId } }] },
    });
  }

  async search(
    _db: Queryable,
    vector: readonly number[],
    limit: number,
    filters?: Filters,
  ): Promise<Scored[]> {
    const must: Record<string, unknown>[] = Object.entries(filters?.metadata ?? {}).map(
      ([key, value]) => ({ key: `metadata.${key}`, match: { value } }),
    );
    if (filters?.documentIds)
      must.push({ key: "document_id", match: { any: [...filters.documentIds] } });
    const hits = await this.client.search(this.collection, {
      vector: [...vector],
      limit,
      filter: must.length > 0 ? { must } : undefined,
      with_payload: ["chunk_id"],
    });
    return hits.map((h) => ({
      chunkId: String((h.payload as { chunk_id: string }).chunk_id),
      score: h.score,
    }));
  }

  async check(): Promise<void> {
    await this.client.getCollection(this.collection);
  }
}
