/**
 * Legal holds: a document, or a whole collection (the documents whose `metadata.collection` is its
 * name), kept whatever else asks for its deletion. Neither DELETE /v1/documents/:id nor the
 * retention purge removes a held document: the first answers 409 `legal_hold`, the second skips it
 * and says so. Holds live in the catalogue (table legal_holds), set and cleared by an admin.
 *
 * A hold and a delete of the same document exclude each other through the document's row: the
 * delete locks it, finds no hold and marks it `deleting_since` in one transaction (claimForDelete),
 * and setting a hold locks the documents it covers first. A hold committed first makes the delete
 * 409 `legal_hold` before anything is removed; a delete claimed first makes the hold 409
 * `delete_in_progress` (or 404 once the document is gone). A document is never held half-deleted.
 */
import type { Db, Queryable } from "../db/db";

export const HOLD_SCOPES = ["document", "collection"] as const;
export type HoldScope = (typeof HOLD_SCOPES)[number];

/** The metadata key that names a document's collection (retention and holds by collection). */
export const COLLECTION_KEY = "collection";

export interface LegalHold {
  readonly scope: HoldScope;
  /** The document's id, or the collection's name. */
  readonly target: string;
  readonly reason: string;
  /** Who set it: an API key's id or a subject (never a secret). */
  readonly setBy: string;
  readonly setAt: string;
}

interface HoldRow {
  scope: HoldScope;
  target: string;
  reason: string;
  set_by: string;
  set_at: Date | string;
}

function view(r: HoldRow): LegalHold {
  return {
    scope: r.scope,
    target: r.target,
    reason: r.reason,
    setBy: r.set_by,
    setAt: new Date(r.set_at).toISOString(),
  };
}

/**
 * SQL true when document `d` is held, on its own or through its collection: for a WHERE clause
 * over the documents table aliased `d`.
 */
export const HELD_SQL = `EXISTS (SELECT 1 FROM legal_holds h WHERE (h.scope = 'document' AND h.target = d.id::text) OR (h.scope = 'collection' AND h.target = d.metadata ->> '${COLLECTION_KEY}'))`;

/** A delete refused because the document is held. */
export class LegalHoldError extends Error {
  readonly statusCode = 409;
  readonly code = "legal_hold";
  constructor(
    readonly documentId: string,
    readonly hold: LegalHold,
  ) {
    const clear =
      hold.scope === "document"
        ? `DELETE /v1/documents/${documentId}/legal-hold`
        : `DELETE /v1/collections/${encodeURIComponent(hold.target)}/legal-hold`;
    super(
      `document ${documentId} is under a legal hold${hold.scope === "collection" ? ` on its collection "${hold.target}"` : ""} (set ${hold.setAt} by ${hold.setBy}): it cannot be deleted until the hold is cleared (${clear})`,
    );
  }
}

/** A hold refused because a delete of the document (or of one of the collection's) has begun. */
export class DeleteInProgressError extends Error {
  readonly statusCode = 409;
  readonly code = "delete_in_progress";
  constructor(
    readonly scope: HoldScope,
    readonly target: string,
    /** The documents being deleted (for a document hold, that document). */
    readonly documentIds: readonly string[],
  ) {
    const which =
      scope === "document"
        ? `document ${target} is being deleted`
        : `${documentIds.length} document(s) of collection "${target}" are being deleted (${documentIds.slice(0, 10).join(", ")}${documentIds.length > 10 ? ", ..." : ""})`;
    super(
      `${which}: a legal hold cannot keep what is already partly removed. A delete under way finishes; one that failed (503 delete_incomplete) finishes when it is sent again${scope === "collection" ? ", then set the hold again" : ""}`,
    );
  }
}

/**
 * Claims document `id` for its delete, in one transaction: locks its row (waiting for an indexing
 * or a hold's transaction that holds it), refuses with LegalHoldError when a hold keeps it, else
 * marks it `deleting_since`, which refuses every later hold. `visible` (over `documents d`,
 * parameters from $2) limits which documents may be claimed. Undefined when there is none.
 * Claiming again a document already being deleted (a delete that failed, sent again) succeeds.
 */
export async function claimForDelete(
  db: Db,
  id: string,
  visible: { sql: string; params: readonly unknown[] } = { sql: "true", params: [] },
): Promise<{ objectKey: string } | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<{ object_key: string }>(
      `SELECT object_key FROM documents d WHERE id = $1 AND ${visible.sql} FOR UPDATE`,
      [id, ...visible.params],
    );
    if (!row) return undefined;
    const hold = await holdOn(tx, id);
    if (hold) throw new LegalHoldError(id, hold);
    await tx.query(
      "UPDATE documents SET deleting_since = coalesce(deleting_since, now()) WHERE id = $1",
      [id],
    );
    return { objectKey: row.object_key };
  });
}

/** The hold that keeps a document (its own first, else its collection's); undefined when none. */
async function holdOn(db: Queryable, documentId: string): Promise<LegalHold | undefined> {
  const [row] = await db.query<HoldRow>(
    `SELECT h.scope, h.target, h.reason, h.set_by, h.set_at
       FROM documents d JOIN legal_holds h
         ON (h.scope = 'document' AND h.target = d.id::text)
         OR (h.scope = 'collection' AND h.target = d.metadata ->> '${COLLECTION_KEY}')
       WHERE d.id = $1
       ORDER BY h.scope DESC
       LIMIT 1`,
    [documentId],
  );
  return row ? view(row) : undefined;
}

export interface LegalHoldHooks {
  /**
   * Inside a hold's transaction, once the documents it covers are locked and the hold written,
   * before it commits: a test pauses here to start a delete against the uncommitted hold.
   */
  readonly beforeCommit?: (scope: HoldScope, target: string) => Promise<void>;
}

export class LegalHolds {
  constructor(
    private readonly db: Db,
    private readonly hooks: LegalHoldHooks = {},
  ) {}

  /**
   * Sets (or replaces the reason of) a hold. A document hold needs the document to exist:
   * undefined if not. Refused with DeleteInProgressError when a delete of the document (or of one
   * of the collection's documents) has begun: the covered rows are locked first, so a delete
   * either claimed its document before (refused here) or waits and then finds the hold.
   */
  async set(
    scope: HoldScope,
    target: string,
    reason: string,
    setBy: string,
  ): Promise<LegalHold | undefined> {
    return this.db.transaction(async (tx) => {
      const covered = await tx.query<{ id: string; deleting: boolean }>(
        scope === "document"
          ? "SELECT id, deleting_since IS NOT NULL AS deleting FROM documents WHERE id = $1::uuid FOR SHARE"
          : `SELECT id, deleting_since IS NOT NULL AS deleting FROM documents WHERE metadata ->> '${COLLECTION_KEY}' = $1 ORDER BY id FOR SHARE`,
        [target],
      );
      if (scope === "document" && covered.length === 0) return undefined;
      const deleting = covered.filter((d) => d.deleting).map((d) => d.id);
      if (deleting.length > 0) throw new DeleteInProgressError(scope, target, deleting);
      const [row] = await tx.query<HoldRow>(
        `INSERT INTO legal_holds (scope, target, reason, set_by)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (scope, target) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, set_at = now()
         RETURNING scope, target, reason, set_by, set_at`,
        [scope, target, reason, setBy],
      );
      await this.hooks.beforeCommit?.(scope, target);
      return view(row!);
    });
  }

  /** Clears a hold; false when there was none. */
  async clear(scope: HoldScope, target: string): Promise<boolean> {
    const rows = await this.db.query(
      "DELETE FROM legal_holds WHERE scope = $1 AND target = $2 RETURNING target",
      [scope, target],
    );
    return rows.length > 0;
  }

  async get(scope: HoldScope, target: string): Promise<LegalHold | undefined> {
    const [row] = await this.db.query<HoldRow>(
      "SELECT scope, target, reason, set_by, set_at FROM legal_holds WHERE scope = $1 AND target = $2",
      [scope, target],
    );
    return row ? view(row) : undefined;
  }

  async list(): Promise<LegalHold[]> {
    return (
      await this.db.query<HoldRow>(
        "SELECT scope, target, reason, set_by, set_at FROM legal_holds ORDER BY set_at, scope, target",
      )
    ).map(view);
  }
}
