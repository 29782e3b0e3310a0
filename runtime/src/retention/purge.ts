/**
 * The retention purge: documents older than their retention period are deleted through the
 * secure delete (DocumentService.delete: vectors, the original's every version, chunks, postings),
 * except those under a legal hold, which are skipped and reported. Workers and the embedded
 * process run it at start and every PURGE_INTERVAL_MINUTES; `npm run purge` runs it now.
 *
 * A document's period is the longest of the rules that match it (its collection's, metadata.collection
 * in RETENTION_DAYS_BY_COLLECTION, and its classification label's, RETENTION_DAYS_BY_LABEL),
 * counted from its upload: no rule deletes a document another rule still keeps. A document no
 * rule matches never expires.
 */
import type { AuditLog } from "../audit";
import { systemActor } from "../audit";
import type { Db } from "../db/db";
import { DeleteIncompleteError, type DocumentService } from "../ingest/documents";
import { COLLECTION_KEY, HELD_SQL, LegalHoldError } from "./holds";

export interface RetentionRules {
  /** Days kept, by collection name. */
  readonly byCollection: ReadonlyMap<string, number>;
  /** Days kept, by classification label. */
  readonly byLabel?: ReadonlyMap<string, number>;
}

export function hasRules(rules: RetentionRules): boolean {
  return rules.byCollection.size > 0 || (rules.byLabel?.size ?? 0) > 0;
}

export interface PurgeReport {
  readonly dryRun: boolean;
  /** Deleted (in a dry run: would be deleted). */
  readonly removed: readonly string[];
  /** Expired but under a legal hold: kept. */
  readonly held: readonly string[];
  /** Expired, and the delete failed (the object store refused): kept, tried again next run. */
  readonly failed: readonly { readonly id: string; readonly reason: string }[];
}

/** Documents one run takes at most: a backlog drains over several runs, each one bounded. */
export const PURGE_BATCH = 1000;

/** The expired documents, oldest first, with whether each is held. */
async function expired(
  db: Db,
  rules: RetentionRules,
  limit: number,
): Promise<{ id: string; held: boolean }[]> {
  const byLabel = rules.byLabel ?? new Map<string, number>();
  return db.query<{ id: string; held: boolean }>(
    `SELECT d.id, ${HELD_SQL} AS held
     FROM documents d
     CROSS JOIN LATERAL (
       SELECT max(r.days) AS days FROM (
         SELECT c.days FROM unnest($1::text[], $2::int[]) AS c(name, days)
         WHERE c.name = d.metadata ->> '${COLLECTION_KEY}'
         UNION ALL
         SELECT l.days FROM unnest($4::text[], $5::int[]) AS l(name, days)
         WHERE l.name = d.classification) r) rule
     WHERE rule.days IS NOT NULL AND d.created_at < now() - rule.days * interval '1 day'
     ORDER BY d.created_at, d.id
     LIMIT $3`,
    [
      [...rules.byCollection.keys()],
      [...rules.byCollection.values()],
      limit,
      [...byLabel.keys()],
      [...byLabel.values()],
    ],
  );
}

/**
 * Deletes the expired documents (none in a dry run), and records one `retention.purge` audit
 * event per run that found any: the ids removed, held and failed, never their content.
 */
export async function purgeExpired(
  db: Db,
  documents: DocumentService,
  rules: RetentionRules,
  options: { dryRun?: boolean; audit?: AuditLog; limit?: number } = {},
): Promise<PurgeReport> {
  const dryRun = options.dryRun ?? false;
  const report = {
    dryRun,
    removed: [] as string[],
    held: [] as string[],
    failed: [] as { id: string; reason: string }[],
  };
  if (!hasRules(rules)) return report;
  for (const { id, held } of await expired(db, rules, options.limit ?? PURGE_BATCH)) {
    if (held) {
      report.held.push(id);
      continue;
    }
    if (dryRun) {
      report.removed.push(id);
      continue;
    }
    try {
      // Gone already (deleted meanwhile) counts as removed: the purge's aim is met.
      await documents.delete(id);
      report.removed.push(id);
    } catch (error) {
      // A hold set since the listing: kept, as held.
      if (error instanceof LegalHoldError) report.held.push(id);
      else
        report.failed.push({
          id,
          reason:
            error instanceof DeleteIncompleteError
              ? "the object store refused the delete"
              : (error as Error).message,
        });
    }
  }
  const found = report.removed.length + report.held.length + report.failed.length;
  if (found > 0)
    options.audit?.record({
      action: "retention.purge",
      outcome: report.failed.length > 0 ? "failure" : "success",
      actor: systemActor("retention"),
      target: { type: "document", ids: report.removed },
      details: {
        dryRun,
        removed: report.removed.length,
        held: report.held,
        failed: report.failed.map((f) => f.id),
      },
    });
  return report;
}
