/**
 * The document catalogue: upload (idempotent by content hash), status, listing, secure deletion
 * (original, chunks, postings and vectors).
 */
import { createHash, randomUUID } from "node:crypto";
import { Classification } from "../auth/access";
import { DEFAULT_CLASSIFICATION_LABELS } from "../config";
import type { Db } from "../db/db";
import { claimForDelete } from "../retention/holds";
import { accessSql, type Filters } from "../search/filters";
import type { IngestQueue } from "../queue/queue";
import { foldPendingTermStats } from "../search/bm25";
import type { AccessChange, VectorIndex } from "../search/vector-index";
import type { ObjectStore } from "../storage/object-store";
import { withinMs } from "../timeout";
import { CONTENT_TYPES, detectKind } from "./parse";
import type { ParseLimits } from "./parse-limits";
import { validateDocument } from "./parse-thread";

export type DocumentStatus = "queued" | "indexing" | "ready" | "failed";

export interface DocumentView {
  readonly id: string;
  readonly name: string;
  readonly contentType: string;
  readonly sizeBytes: number;
  readonly contentHash: string;
  readonly status: DocumentStatus;
  readonly error: string | null;
  readonly chunkCount: number;
  readonly metadata: Record<string, unknown>;
  readonly classification: string;
  readonly accessGroups: readonly string[];
  /** What the PII scan found (types and counts, never values), and whether it was redacted; null: not scanned. */
  readonly pii: { readonly findings: Record<string, number>; readonly redacted: boolean } | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What a caller may see (auth/access.ts accessFilters); undefined fields restrict nothing. */
export type DocumentAccess = Pick<Filters, "classifications" | "groups">;

interface Row {
  id: string;
  name: string;
  content_type: string;
  size_bytes: string | number;
  content_hash: string;
  status: DocumentStatus;
  error: string | null;
  chunk_count: number;
  metadata: Record<string, unknown>;
  classification: string;
  access_groups: string[];
  pii: { findings: Record<string, number>; redacted: boolean } | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const COLUMNS =
  "id, name, content_type, size_bytes, content_hash, status, error, chunk_count, metadata, classification, access_groups, pii, created_at, updated_at";

function view(r: Row): DocumentView {
  return {
    id: r.id,
    name: r.name,
    contentType: r.content_type,
    sizeBytes: Number(r.size_bytes),
    contentHash: r.content_hash,
    status: r.status,
    error: r.error,
    chunkCount: r.chunk_count,
    metadata: r.metadata,
    classification: r.classification,
    accessGroups: r.access_groups,
    pii: r.pii,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

export interface NewDocument {
  readonly name: string;
  readonly contentType: string | undefined;
  readonly bytes: Uint8Array;
  readonly metadata?: Record<string, string | number | boolean>;
  /** The upload's label (checked by the caller). @default the configured default label */
  readonly classification?: string;
  /** The groups the document is restricted to (checked by the caller). @default none */
  readonly accessGroups?: readonly string[];
  /** The upload's request id: the worker's log lines about the document carry it. */
  readonly requestId?: string;
}

/** How long an upload waits for the queue before leaving its document to the worker's sweep. */
export const ENQUEUE_TIMEOUT_MS = 5000;
/** A document still queued this long after its last change may have lost its job: the sweep queues it again. */
export const REQUEUE_AFTER_MS = 60_000;

/**
 * Where an upload's original is stored: a key of its own, not derived from the content (no
 * directory, access log line or bucket listing left after a delete tells what was stored).
 */
export function objectKey(): string {
  return `documents/${randomUUID()}`;
}

export interface DocumentHooks {
  /**
   * Once a delete has claimed its document (no hold, marked deleting) and before it removes
   * anything: a test pauses here to race a legal hold against the delete.
   */
  readonly onDeleteClaimed?: (documentId: string) => Promise<void>;
  /** After a document's index entries are removed. */
  readonly onDeleted?: () => void;
  /** An upload is stored but its job could not be queued (the sweep will queue it). */
  readonly onEnqueueFailed?: (documentId: string, error: Error) => void;
}

export interface DocumentOptions extends DocumentHooks {
  /** What an upload's check may take: the limits the worker parses it with. @default PARSE_* defaults */
  readonly parseLimits?: ParseLimits;
  /** The labels, for an upload's default. @default the default labels */
  readonly classification?: Classification;
}

/** The SQL restricting `documents d` to what `access` may see, from parameter `$from` ("true" for none). */
function visible(access: DocumentAccess | undefined, from: number) {
  const { clauses, params } = accessSql(access, "d", from);
  return { sql: clauses.length > 0 ? clauses.join(" AND ") : "true", params };
}

/**
 * The same bytes are stored as a document the uploader cannot see: it is not shown (no name, id or
 * metadata leaks), and a second copy cannot be made (documents are unique by content).
 */
export class HiddenDuplicateError extends Error {
  readonly statusCode = 409;
  readonly code = "duplicate_document";
  constructor() {
    super(
      "a document with the same content is already stored, under a classification or groups these credentials cannot see: ask an administrator",
    );
  }
}

/** A delete that could not remove the original: the document is kept, to be deleted again. */
export class DeleteIncompleteError extends Error {
  constructor(
    readonly documentId: string,
    cause: unknown,
  ) {
    super(
      `the original of document ${documentId} could not be deleted from the object store; the document is kept: delete it again`,
      { cause },
    );
  }
}

export class DocumentService {
  constructor(
    private readonly db: Db,
    private readonly store: ObjectStore,
    private readonly queue: IngestQueue,
    private readonly vectors: VectorIndex,
    private readonly hooks: DocumentOptions = {},
    private readonly enqueueTimeoutMs = ENQUEUE_TIMEOUT_MS,
  ) {}

  /**
   * Stores and queues a document; the same bytes again return the existing one (`created: false`).
   * The document is kept whether or not its job could be queued (`queued`): when the queue is out
   * of reach it stays `queued`, and the worker's sweep (`requeueStale`) queues it later. The same
   * bytes as a failed document try it again (a backend may have been away for longer than the
   * retries lasted).
   */
  async create(
    doc: NewDocument,
    access?: DocumentAccess,
  ): Promise<{ document: DocumentView; created: boolean; queued: boolean }> {
    const kind = detectKind(doc.contentType, doc.name, doc.bytes);
    await validateDocument(kind, doc.bytes, this.hooks.parseLimits);
    const hash = createHash("sha256").update(doc.bytes).digest("hex");
    const existing = await this.byHash(hash);
    if (existing && !(await this.get(existing.id, access))) throw new HiddenDuplicateError();
    if (existing?.status === "failed") {
      const [retried] = await this.db.query<Row>(
        `UPDATE documents SET status = 'queued', error = NULL, request_id = $2, updated_at = now() WHERE id = $1 AND status = 'failed' RETURNING ${COLUMNS}`,
        [existing.id, doc.requestId ?? null],
      );
      if (retried)
        return {
          document: view(retried),
          created: false,
          queued: await this.tryEnqueue(retried.id),
        };
    }
    // Uploading it again is also a way to nudge a document whose job was lost.
    if (existing)
      return {
        document: existing,
        created: false,
        queued: existing.status === "queued" ? await this.tryEnqueue(existing.id) : true,
      };
    // Each upload's original gets a key of its own, never shared with an earlier document of the
    // same bytes: deleting that one (which removes its key's every version) cannot take this one's.
    const key = objectKey();
    await this.store.put(key, doc.bytes, CONTENT_TYPES[kind]);
    let row: Row | undefined;
    try {
      [row] = await this.db.query<Row>(
        `INSERT INTO documents (name, content_type, content_hash, size_bytes, object_key, metadata, status, request_id, classification, access_groups)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, 'queued', $7, $8, $9::text[])
         ON CONFLICT (content_hash) DO NOTHING
         RETURNING ${COLUMNS}`,
        [
          doc.name,
          CONTENT_TYPES[kind],
          hash,
          doc.bytes.length,
          key,
          JSON.stringify(doc.metadata ?? {}),
          doc.requestId ?? null,
          doc.classification ?? this.classification.defaultLabel,
          [...(doc.accessGroups ?? [])],
        ],
      );
    } catch (error) {
      await this.store.delete(key).catch(() => undefined);
      throw error;
    }
    if (!row) {
      // A concurrent upload of the same bytes won: its document stands, this copy goes.
      await this.store.delete(key);
      const winner = (await this.byHash(hash))!;
      if (!(await this.get(winner.id, access))) throw new HiddenDuplicateError();
      return { document: winner, created: false, queued: true };
    }
    return { document: view(row), created: true, queued: await this.tryEnqueue(row.id) };
  }

  /** Queues a document's job, giving up after the timeout (a job added late is harmless: ids deduplicate). */
  private async tryEnqueue(id: string): Promise<boolean> {
    try {
      await withinMs(
        this.enqueueTimeoutMs,
        this.queue.enqueue(id),
        `the ingest queue did not answer within ${this.enqueueTimeoutMs} ms`,
      );
      return true;
    } catch (error) {
      this.hooks.onEnqueueFailed?.(id, error instanceof Error ? error : new Error(String(error)));
      return false;
    }
  }

  /**
   * Queues again the documents still `queued` `olderThanMs` after their last change, oldest first
   * (at most `limit`): their job may never have been added. A job still waiting keeps its place
   * (ids deduplicate). Returns how many were queued; stops at the first failure.
   */
  async requeueStale(olderThanMs = REQUEUE_AFTER_MS, limit = 500): Promise<number> {
    const rows = await this.db.query<{ id: string }>(
      "SELECT id FROM documents WHERE status = 'queued' AND updated_at < now() - $1 * interval '1 millisecond' ORDER BY created_at LIMIT $2",
      [olderThanMs, limit],
    );
    let queued = 0;
    for (const { id } of rows) {
      if (!(await this.tryEnqueue(id))) break;
      queued++;
    }
    return queued;
  }

  private async byHash(hash: string): Promise<DocumentView | undefined> {
    const [row] = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM documents WHERE content_hash = $1`,
      [hash],
    );
    return row ? view(row) : undefined;
  }

  private get classification(): Classification {
    return (
      this.hooks.classification ??
      Classification.of({ CLASSIFICATION_LABELS: DEFAULT_CLASSIFICATION_LABELS })
    );
  }

  /** A document `access` may see (undefined for one it may not: absent, not forbidden). */
  async get(id: string, access?: DocumentAccess): Promise<DocumentView | undefined> {
    const where = visible(access, 2);
    const [row] = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM documents d WHERE id = $1 AND ${where.sql}`,
      [id, ...where.params],
    );
    return row ? view(row) : undefined;
  }

  /**
   * The documents `access` may see that match the filters (all of them), newest first, and how
   * many match in all.
   */
  async list(options: {
    limit: number;
    offset: number;
    status?: DocumentStatus;
    classification?: string;
    /** Names that contain this, ignoring case; LIKE's wildcards in it are plain characters. */
    name?: string;
    /** Metadata holding every one of these key/value pairs (as retrieval's filter). */
    metadata?: Readonly<Record<string, string | number | boolean>>;
    access?: DocumentAccess;
  }): Promise<{ items: DocumentView[]; total: number }> {
    const filter = (from: number) => {
      const where = visible(options.access, from + 4);
      return {
        sql: `($${from}::text IS NULL OR status = $${from}) AND ($${from + 1}::text IS NULL OR classification = $${from + 1}) AND ($${from + 2}::text IS NULL OR name ILIKE $${from + 2} ESCAPE '\\') AND ($${from + 3}::jsonb IS NULL OR metadata @> $${from + 3}::jsonb) AND ${where.sql}`,
        params: [
          options.status ?? null,
          options.classification ?? null,
          options.name === undefined ? null : `%${options.name.replace(/[\\%_]/g, "\\$&")}%`,
          options.metadata === undefined ? null : JSON.stringify(options.metadata),
          ...where.params,
        ],
      };
    };
    const paged = filter(3);
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM documents d WHERE ${paged.sql} ORDER BY created_at DESC, id LIMIT $1 OFFSET $2`,
      [options.limit, options.offset, ...paged.params],
    );
    const counted = filter(1);
    const [count] = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM documents d WHERE ${counted.sql}`,
      counted.params,
    );
    return { items: rows.map(view), total: count?.n ?? 0 };
  }

  /**
   * Changes the label or the groups (or both) of a document `access` may see, and of its chunks
   * in the same transaction (after any indexing of it commits: the row lock), then of its points
   * in an index outside the database. Returns the document, or undefined when there is none to
   * see.
   */
  async setAccess(
    id: string,
    change: AccessChange,
    access?: DocumentAccess,
  ): Promise<DocumentView | undefined> {
    const where = visible(access, 4);
    const values = [
      change.classification ?? null,
      change.accessGroups ? [...change.accessGroups] : null,
    ];
    const row = await this.db.transaction(async (tx) => {
      const [updated] = await tx.query<Row>(
        `UPDATE documents d SET classification = coalesce($2, classification), access_groups = coalesce($3::text[], access_groups), updated_at = now()
         WHERE id = $1 AND ${where.sql} RETURNING ${COLUMNS}`,
        [id, ...values, ...where.params],
      );
      if (updated)
        await tx.query(
          "UPDATE chunks SET classification = coalesce($2, classification), access_groups = coalesce($3::text[], access_groups) WHERE document_id = $1",
          [id, ...values],
        );
      return updated;
    });
    if (!row) return undefined;
    await this.vectors.setAccess(id, change);
    return view(row);
  }

  /** The uploaded original, as stored; undefined for a document `access` cannot see or an original no longer in the store. */
  async original(
    id: string,
    access?: DocumentAccess,
  ): Promise<{ name: string; contentType: string; bytes: Uint8Array } | undefined> {
    const where = visible(access, 2);
    const [row] = await this.db.query<{ name: string; content_type: string; object_key: string }>(
      `SELECT name, content_type, object_key FROM documents d WHERE id = $1 AND ${where.sql}`,
      [id, ...where.params],
    );
    if (!row) return undefined;
    try {
      return {
        name: row.name,
        contentType: row.content_type,
        bytes: await this.store.get(row.object_key),
      };
    } catch {
      return undefined;
    }
  }

  /**
   * Deletes the document everywhere: vectors, the original's every version, chunks and postings
   * (cascade). First it claims the document (claimForDelete): under its row lock, a document under
   * a legal hold (its own or its collection's) is refused with LegalHoldError before anything is
   * removed; otherwise it is marked deleting, and no hold can be set on it from then on. The
   * original goes before the row: should the object store fail, the document is still there
   * (still marked) to delete again (`DeleteIncompleteError`); the other way round, its original
   * would outlive it with nothing left to find it by.
   */
  async delete(id: string, access?: DocumentAccess): Promise<boolean> {
    const claimed = await claimForDelete(this.db, id, visible(access, 2));
    if (!claimed) return false;
    await this.hooks.onDeleteClaimed?.(id);
    await this.queue.removed?.(id, claimed.objectKey);
    // The claim waited for an indexing transaction that held the row, and none writes for a
    // document marked deleting: what is cleared now stays cleared, Qdrant's points included.
    await this.vectors.deleteDocument(id);
    try {
      await this.store.delete(claimed.objectKey);
    } catch (error) {
      throw new DeleteIncompleteError(id, error);
    }
    // Cascades to chunks, postings and pgvector rows.
    await this.db.query("DELETE FROM documents WHERE id = $1", [id]);
    await foldPendingTermStats(this.db);
    this.hooks.onDeleted?.();
    return true;
  }

  /** Documents a worker should (re)take: queued ones and those a dead worker left indexing. */
  async unfinished(): Promise<string[]> {
    return (
      await this.db.query<{ id: string }>(
        "SELECT id FROM documents WHERE status IN ('queued', 'indexing') ORDER BY created_at",
      )
    ).map((r) => r.id);
  }
}
