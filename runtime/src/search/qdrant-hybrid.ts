/**
 * Both halves of retrieval in one Qdrant collection (SEARCH_BACKEND=qdrant): each chunk is a
 * point with a dense vector (the embedder's) and a sparse one (BM25's term weights, sparse.ts),
 * and a query is one Query API call: a prefetch per half, fused by reciprocal rank in Qdrant,
 * filtered by tenant, metadata, documents and clearance inside the search. PostgreSQL keeps the
 * catalogue (documents, their status, the chunks' text); it keeps no postings.
 */
import type { QdrantClient, Schemas } from "@qdrant/js-client-rest" with {
  "resolution-mode": "import",
};
import type { Queryable } from "../db/db";
import type { Scored } from "./bm25";
import type { Filters } from "./filters";
import { type Clearance, qdrantFilter } from "./qdrant-filter";
import { documentVector, queryVector } from "./sparse";
import {
  type IndexedChunk,
  type IndexedDocument,
  accessPayload,
  type AccessChange,
  pointId,
  qdrantClient,
  type VectorIndex,
} from "./vector-index";

/** The collection's named vectors. */
export const DENSE = "dense";
export const SPARSE = "bm25";

/** Payload fields the filters read, indexed when the collection is created. */
const INDEXED_FIELDS = ["document_id", "classification", "access_groups"] as const;

export interface HybridQuery {
  /** The question's terms; none: the dense half alone. */
  readonly tokens: readonly string[];
  /** The question's embedding; none: the sparse half alone. */
  readonly vector?: readonly number[];
  readonly limit: number;
  readonly filters?: Filters & Clearance;
}

export interface HybridIndexOptions {
  url: string;
  apiKey?: string;
  collection: string;
  /** The embedder's id: part of every point's id, so two models' points never overwrite each other. */
  model: string;
  dimensions: number;
  /** The deployment's tenant, on every point and in every filter. */
  tenant: string;
  /** BM25's average chunk length, in tokens (sparse.ts). */
  averageLength: number;
  /** @default false */
  recreate?: boolean;
  /** @default 1 */
  shards?: number;
  /** @default 1 */
  replicationFactor?: number;
  /** @default 1 */
  writeConsistency?: number;
  /** @default QDRANT_TIMEOUT_MS */
  timeoutMs?: number;
}

/** What is wrong with an existing collection for this index, if anything. */
function mismatch(info: Schemas["CollectionInfo"], dimensions: number): string | undefined {
  const vectors = info.config.params.vectors as Record<string, { size?: number }> | undefined;
  const dense = vectors?.[DENSE];
  if (!dense?.size) return `it has no dense vector named "${DENSE}"`;
  if (dense.size !== dimensions)
    return `its "${DENSE}" vectors have ${dense.size} dimensions, the embedder ${dimensions}`;
  if (info.config.params.sparse_vectors?.[SPARSE]?.modifier !== "idf")
    return `it has no sparse vector "${SPARSE}" with the IDF modifier`;
  return undefined;
}

export class QdrantHybridIndex implements VectorIndex {
  readonly kind = "qdrant-hybrid" as const;
  readonly lexical = true as const;

  private constructor(
    private readonly client: QdrantClient,
    private readonly o: HybridIndexOptions,
    /** This connection created the collection: it holds no points yet. */
    readonly created: boolean,
  ) {}

  get collection(): string {
    return this.o.collection;
  }

  /**
   * Opens the collection, creating it when missing (`recreate`: dropped first, for a new
   * embedding model) with its shards, copies and write consistency; an existing one keeps its
   * own, and is refused when it was made for something else (VECTOR_STORE=qdrant's unnamed
   * vectors, another embedder's size).
   */
  static async connect(o: HybridIndexOptions): Promise<QdrantHybridIndex> {
    const client = await qdrantClient(o);
    const { collection } = o;
    if (o.recreate) await client.deleteCollection(collection);
    const { exists } = await client.collectionExists(collection);
    if (exists) {
      const wrong = mismatch(await client.getCollection(collection), o.dimensions);
      if (wrong)
        throw new Error(
          `the Qdrant collection "${collection}" cannot serve SEARCH_BACKEND=qdrant: ${wrong}; set QDRANT_COLLECTION to a new name, or rebuild it (npm run reembed -w runtime)`,
        );
      return new QdrantHybridIndex(client, o, false);
    }
    await client.createCollection(collection, {
      vectors: { [DENSE]: { size: o.dimensions, distance: "Cosine" } },
      sparse_vectors: { [SPARSE]: { modifier: "idf" } },
      shard_number: o.shards ?? 1,
      replication_factor: o.replicationFactor ?? 1,
      write_consistency_factor: o.writeConsistency ?? 1,
    });
    // Points of one tenant are stored together and searched apart (Qdrant's multitenancy).
    await client.createPayloadIndex(collection, {
      field_name: "tenant",
      field_schema: { type: "keyword", is_tenant: true },
      wait: true,
    });
    for (const field of INDEXED_FIELDS)
      await client.createPayloadIndex(collection, {
        field_name: field,
        field_schema: "keyword",
        wait: true,
      });
    return new QdrantHybridIndex(client, o, true);
  }

  /** A point's id: the document, the chunk's place in it and the model (stable across re-indexing). */
  pointId(documentId: string, ordinal: number): string {
    return pointId(`${documentId}:${ordinal}:${this.o.model}`);
  }

  async upsert(
    _tx: Queryable,
    document: IndexedDocument,
    chunks: readonly IndexedChunk[],
  ): Promise<void> {
    await this.client.upsert(this.o.collection, {
      wait: true,
      points: chunks.map((chunk) => ({
        id: this.pointId(document.id, chunk.ordinal),
        vector: {
          [DENSE]: [...chunk.vector],
          [SPARSE]: documentVector(chunk.tokens, this.o.averageLength),
        },
        payload: {
          tenant: this.o.tenant,
          document_id: document.id,
          chunk_id: chunk.id,
          chunk_index: chunk.ordinal,
          classification: document.classification,
          access_groups: [...document.accessGroups],
          metadata: document.metadata,
        },
      })),
    });
  }

  async deleteDocument(documentId: string): Promise<void> {
    await this.client.delete(this.o.collection, {
      wait: true,
      filter: qdrantFilter({ documentIds: [documentId] }, this.o.tenant),
    });
  }

  async setAccess(documentId: string, access: AccessChange): Promise<void> {
    await this.client.setPayload(this.o.collection, {
      wait: true,
      payload: accessPayload(access),
      filter: qdrantFilter({ documentIds: [documentId] }, this.o.tenant),
    });
  }

  /** The fused candidates, best first; RRF scores (Qdrant's). */
  async query(q: HybridQuery): Promise<Scored[]> {
    const filter = qdrantFilter(q.filters, this.o.tenant);
    const halves: Schemas["Prefetch"][] = [];
    if (q.tokens.length > 0)
      halves.push({ query: queryVector(q.tokens), using: SPARSE, limit: q.limit, filter });
    if (q.vector) halves.push({ query: [...q.vector], using: DENSE, limit: q.limit, filter });
    if (halves.length === 0) return [];
    const { points } = await this.client.query(this.o.collection, {
      ...(halves.length === 1
        ? { query: halves[0]!.query, using: halves[0]!.using }
        : { prefetch: halves, query: { fusion: "rrf" } }),
      filter,
      limit: q.limit,
      with_payload: ["chunk_id"],
    });
    return points.map((p) => ({
      chunkId: String((p.payload as { chunk_id: string }).chunk_id),
      score: p.score,
    }));
  }

  /** The dense half alone (the VectorIndex contract; retrieval calls `query`). */
  search(
    _db: Queryable,
    vector: readonly number[],
    limit: number,
    filters?: Filters,
  ): Promise<Scored[]> {
    return this.query({ tokens: [], vector, limit, filters });
  }

  async check(): Promise<void> {
    await this.client.getCollection(this.o.collection);
  }
}
