/**
 * Orphaned originals: objects under `documents/` that no document names. An upload stores its
 * original before it writes the document's row, so a process killed in between leaves one, and a
 * local store's temporary file when it is killed mid-write. No delete can ever reach them. The
 * sweep removes those older than an upload's lifetime (ORPHAN_GRACE_MINUTES), on every backend.
 *
 * Safe beside uploads in flight and other sweeps: a young object is left alone; the catalogue is
 * asked again for each key right before its delete (an upload may just have written its row);
 * store deletes are idempotent, so workers sweeping at once remove each object once between them.
 */
import type { Queryable } from "../db/db";
import type { ObjectStore } from "./object-store";

/** Where uploads store originals (ingest/documents.ts `objectKey`). */
export const ORIGINALS_PREFIX = "documents/";
/** How often a worker (and the embedded process) sweeps, after the sweep at its start. */
export const ORPHAN_SWEEP_INTERVAL_MS = 60 * 60_000;
/** Keys checked against the catalogue per query. */
const PAGE = 500;

export interface SweepResult {
  /** The keys removed. */
  readonly removed: readonly string[];
  /** Orphans the store refused to delete, with why: the next sweep tries them again. */
  readonly failed: readonly { readonly key: string; readonly reason: string }[];
}

/** Removes the originals older than `graceMs` that no document names. */
export async function sweepOrphans(
  db: Queryable,
  store: ObjectStore,
  graceMs: number,
): Promise<SweepResult> {
  const cutoff = Date.now() - graceMs;
  const removed: string[] = [];
  const failed: { key: string; reason: string }[] = [];
  const removeUnnamed = async (keys: string[]) => {
    if (keys.length === 0) return;
    const named = new Set(
      (
        await db.query<{ object_key: string }>(
          "SELECT object_key FROM documents WHERE object_key = ANY($1::text[])",
          [keys],
        )
      ).map((r) => r.object_key),
    );
    for (const key of keys.filter((k) => !named.has(k))) {
      const [nowNamed] = await db.query("SELECT 1 FROM documents WHERE object_key = $1", [key]);
      if (nowNamed) continue;
      try {
        await store.delete(key);
        removed.push(key);
      } catch (error) {
        failed.push({ key, reason: error instanceof Error ? error.message : String(error) });
      }
    }
  };
  let page: string[] = [];
  for await (const object of store.list(ORIGINALS_PREFIX)) {
    if (object.modifiedAt.getTime() > cutoff) continue;
    page.push(object.key);
    if (page.length === PAGE) {
      await removeUnnamed(page);
      page = [];
    }
  }
  await removeUnnamed(page);
  return { removed, failed };
}

/**
 * Sweeps now and every `intervalMs`, one sweep at a time, each outcome to `report` (the orphan
 * sweep's, and the retention purge's).
 */
export function sweepPeriodically<T = SweepResult>(
  sweep: () => Promise<T>,
  report: (outcome: T | Error) => void,
  intervalMs = ORPHAN_SWEEP_INTERVAL_MS,
): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= sweep()
      .then(report, (error: unknown) =>
        report(error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => (running = undefined));
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
