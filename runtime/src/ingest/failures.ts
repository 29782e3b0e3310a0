/**
 * When indexing a document fails for a reason that is not the document's own (a database, an
 * embedding server, the object store): every failed attempt is logged with the document and the
 * request that uploaded it, and what readers see (the document's `error`) never carries a
 * backend's own text, which can name hosts, tables, constraints or values.
 */
import type { Queryable } from "../db/db";

/** Where ingest reports failed attempts: the process's logger. */
export interface FailureLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** The document's `error` once every try failed: what happened, never a backend's own words. */
export function publicFailureReason(attempts: number): string {
  return `indexing failed after ${attempts} ${attempts === 1 ? "try" : "tries"} on an internal error; operators find the cause in the worker's log under this document's id`;
}

/** The request that uploaded the document (or last retried it), for log lines about it. */
async function requestIdOf(db: Queryable, documentId: string): Promise<string | undefined> {
  try {
    const [row] = await db.query<{ request_id: string | null }>(
      "SELECT request_id FROM documents WHERE id = $1",
      [documentId],
    );
    return row?.request_id ?? undefined;
  } catch {
    return undefined; // the database may be what failed: the line is still written
  }
}

/** Logs one failed attempt: a warning while tries remain, an error for the last one. */
export async function logFailedAttempt(
  db: Queryable,
  log: FailureLog | undefined,
  attempt: { documentId: string; attempt: number; of: number; error: unknown },
): Promise<void> {
  if (!log) return;
  const fields = {
    documentId: attempt.documentId,
    requestId: await requestIdOf(db, attempt.documentId),
    attempt: attempt.attempt,
    attempts: attempt.of,
    err: attempt.error,
  };
  if (attempt.attempt >= attempt.of)
    log.error(fields, "indexing a document failed on its last try: the document is marked failed");
  else log.warn(fields, "indexing a document failed: it will be tried again");
}
