/**
 * Legal holds: a document, or a whole collection (the documents whose `metadata.collection` is its
 * name), kept whatever else asks for its deletion. Neither DELETE /v1/documents/:id nor the
 * retention purge removes a held document: the first answers 409 `legal_hold`, the second skips it
 * and says so. Holds live in the catalogue (table legal_holds), set and cleared by an admin.
 */
import type { Queryable } from "../db/db";

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

export class LegalHolds {
  constructor(private readonly db: Queryable) {}

  /** The hold that keeps a document (its own first, else its collection's); undefined when none. */
  async holdOn(documentId: string): Promise<LegalHold | undefined> {
    const [row] = await this.db.query<HoldRow>(
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

  /** Sets (or replaces the reason of) a hold. A document hold needs the document to exist: false if not. */
  async set(
    scope: HoldScope,
    target: string,
    reason: string,
    setBy: string,
  ): Promise<LegalHold | undefined> {
    const [row] = await this.db.query<HoldRow>(
      `INSERT INTO legal_holds (scope, target, reason, set_by)
       SELECT $1, $2, $3, $4
       WHERE $1 = 'collection' OR EXISTS (SELECT 1 FROM documents WHERE id::text = $2)
       ON CONFLICT (scope, target) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by, set_at = now()
       RETURNING scope, target, reason, set_by, set_at`,
      [scope, target, reason, setBy],
    );
    return row ? view(row) : undefined;
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
