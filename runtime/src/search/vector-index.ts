/**
 * Where chunk vectors live: pgvector (cosine; HNSW-indexed or scanned exactly), an exact scan
 * over real[] on a Postgres without pgvector, or Qdrant. Postgres-backed indexes write inside the
 * indexing transaction.
 */
import { createHash } from "node:crypto";
import type { QdrantClient } from "@qdrant/js-client-rest" with { "resolution-mode": "import" };
import type { Queryable } from "../db/db";
import type { Scored } from "./bm25";
import { chunkScope, type Filters, hasAccess, hasFilters } from "./filters";
import { qdrantFilter } from "./qdrant-filter";

/** What an index keeps of a document beside each of its chunks: what filters read. */
export interface IndexedDocument {
  readonly id: string;
  readonly metadata: Record<string, unknown>;
  /** Its classification label. */
  readonly classification: string;
  /** The groups it is open to; none: every caller cleared for its label. */
  readonly accessGroups: readonly string[];
}

export interface IndexedChunk {
  readonly id: string;
  readonly ordinal: number;
  /** Its terms (the tokenizer's), for an index that holds BM25 too. */
  readonly tokens: readonly string[];
  readonly vector: readonly number[];
}

/** A document's label until the catalogue records one. */
export const DEFAULT_CLASSIFICATION = "internal";

/** The indexed form of a catalogue row (`SELECT *` of documents). */
export function indexedDocument(row: {
  id: string;
  metadata: Record<string, unknown>;
  classification?: string | null;
  access_groups?: readonly string[] | null;
}): IndexedDocument {
  return {
    id: row.id,
    metadata: row.metadata,
    classification: row.classification ?? DEFAULT_CLASSIFICATION,
    accessGroups: row.access_groups ?? [],
  };
}

/** A document's new label, or its new groups, or both. */
export interface AccessChange {
  readonly classification?: string;
  readonly accessGroups?: readonly string[];
}

/** The payload fields of a point that an access change sets (the names upsert writes). */
export function accessPayload(access: AccessChange): Record<string, unknown> {
  return {
    ...(access.classification !== undefined ? { classification: access.classification } : {}),
    ...(access.accessGroups !== undefined ? { access_groups: [...access.accessGroups] } : {}),
  };
}

/** Whether the index keeps its points outside the database (Qdrant), not in its tables. */
export function outsideDatabase(index: Pick<VectorIndex, "kind">): boolean {
  return index.kind === "qdrant" || index.kind === "qdrant-hybrid";
}

export interface VectorIndex {
  readonly kind: "pgvector" | "exact-scan" | "qdrant" | "qdrant-hybrid";
  /** The index holds the chunks' terms and ranks by BM25 itself: PostgreSQL keeps no postings. */
  readonly lexical?: true;
  /** Writes a document's chunks; Postgres indexes use `tx` (same transaction as the chunks). */
  upsert(tx: Queryable, document: IndexedDocument, chunks: readonly IndexedChunk[]): Promise<void>;
  /** Removes a document's vectors (Postgres ones go with the chunks by cascade). */
  deleteDocument(documentId: string): Promise<void>;
  /**
   * A document's label or groups changed: an index outside the database updates its points
   * (Postgres ones join the chunks, changed in the same transaction as the document).
   */
  setAccess(documentId: string, access: AccessChange): Promise<void>;
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
    _document: IndexedDocument,
    chunks: readonly IndexedChunk[],
  ): Promise<void> {
    const [open, close, cast] =
      this.kind === "pgvector" ? ["[", "]", "vector"] : ["{", "}", "real[]"];
    await tx.query(
      `INSERT INTO chunk_vectors (chunk_id, embedding) SELECT c, e::${cast} FROM unnest($1::text[], $2::text[]) AS t(c, e)
       ON CONFLICT (chunk_id) DO UPDATE SET embedding = excluded.embedding`,
      [chunks.map((c) => c.id), chunks.map((c) => literal(c.vector, open, close))],
    );
  }

  async deleteDocument(): Promise<void> {
    // chunk_vectors rows are removed by ON DELETE CASCADE with their chunks.
  }

  async setAccess(): Promise<void> {
    // Searches join chunk_vectors to chunks, whose label and groups are the ones updated.
  }

  async search(
    db: Queryable,
    vector: readonly number[],
    limit: number,
    filters?: Filters,
  ): Promise<Scored[]> {
    const param = this.kind === "pgvector" ? literal(vector, "[", "]") : literal(vector, "{", "}");
    if (this.kind === "pgvector" && !hasFilters(filters) && !hasAccess(filters)) {
      // Vectors commit with their document's ready status: unfiltered, the vector table answers
      // alone (through the HNSW index when VECTOR_INDEX=hnsw, by an exact scan otherwise).
      const rows = await db.query<{ chunk_id: string; score: number }>(
        "SELECT chunk_id, (1 - (embedding <=> $1::vector))::float8 AS score FROM chunk_vectors ORDER BY embedding <=> $1::vector LIMIT $2",
        [param, limit],
      );
      return rows.map((r) => ({ chunkId: r.chunk_id, score: Number(r.score) }));
    }
    // Access alone joins only chunks (they carry their document's label and groups).
    const scope = chunkScope(filters, "v.chunk_id", 3);
    const similarity =
      this.kind === "pgvector"
        ? "1 - (v.embedding <=> $1::vector)"
        : "(SELECT sum(a * b) FROM unnest(v.embedding, $1::real[]) AS t(a, b))";
    const order = this.kind === "pgvector" ? "v.embedding <=> $1::vector" : `${similarity} DESC`;
    const rows = await db.query<{ chunk_id: string; score: number }>(
      `SELECT v.chunk_id, (${similarity})::float8 AS score
       FROM chunk_vectors v ${scope.sql}
       ORDER BY ${order}
       LIMIT $2`,
      [param, limit, ...scope.params],
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

/**
 * The official client, giving up after `timeoutMs` (its own default is five minutes, which would
 * hold a query that long before it goes on without vectors).
 */
export async function qdrantClient(o: {
  url: string;
  apiKey?: string;
  timeoutMs?: number;
}): Promise<QdrantClient> {
  const { QdrantClient } = await import("@qdrant/js-client-rest");
  return new QdrantClient({
    url: o.url,
    apiKey: o.apiKey,
    checkCompatibility: false,
    timeout: o.timeoutMs ?? QDRANT_TIMEOUT_MS,
  });
}

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
   * gives up after `timeoutMs`.
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
    const { collection } = o;
    const client = await qdrantClient(o);
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
    document: IndexedDocument,
    chunks: readonly IndexedChunk[],
  ): Promise<void> {
    await this.client.upsert(this.collection, {
      wait: true,
      points: chunks.map((chunk) => ({
        id: pointId(chunk.id),
        vector: [...chunk.vector],
        payload: {
          chunk_id: chunk.id,
          document_id: document.id,
          metadata: document.metadata,
          classification: document.classification,
          access_groups: [...document.accessGroups],
        },
      })),
    });
  }

  async deleteDocument(documentId: string): Promise<void> {
    await this.client.delete(this.collection, {
      wait: true,
      filter: { must: [{ key: "document_id", match: { value: documentId } }] },
    });
  }

  async setAccess(documentId: string, access: AccessChange): Promise<void> {
    await this.client.setPayload(this.collection, {
      wait: true,
      payload: accessPayload(access),
      filter: { must: [{ key: "document_id", match: { value: documentId } }] },
    });
  }

  async search(
    _db: Queryable,
    vector: readonly number[],
    limit: number,
    filters?: Filters,
  ): Promise<Scored[]> {
    const hits = await this.client.search(this.collection, {
      vector: [...vector],
      limit,
      filter: qdrantFilter(filters),
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
