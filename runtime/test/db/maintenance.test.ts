import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Queryable } from "../../src/db/db";
import { IndexMaintenance } from "../../src/db/maintenance";
import { waitFor } from "../../src/queue/queue";
import { type Runtime, startRuntime } from "../support";

function recordingDb(fail = false): Queryable & { sql: string[] } {
  const sql: string[] = [];
  return {
    sql,
    async query<T>(statement: string): Promise<T[]> {
      sql.push(statement);
      if (fail) throw new Error("vacuum failed");
      return [];
    },
  };
}

describe("index maintenance (embedded mode's autovacuum)", () => {
  it("vacuums once after a burst of changes settles, and not again until the next change", async () => {
    const db = recordingDb();
    const outcomes: string[] = [];
    const m = new IndexMaintenance(db, 20, (outcome) => outcomes.push(outcome));
    for (let i = 0; i < 5; i++) m.changed();
    expect(db.sql).toEqual([]);
    await new Promise((r) => setTimeout(r, 80));
    await m.settled();
    expect(db.sql).toEqual([
      "VACUUM (ANALYZE) postings, bm25_terms, bm25_term_changes, chunks, documents, chunk_vectors",
    ]);
    await m.run();
    expect(db.sql).toHaveLength(1);
    m.changed();
    await m.settled();
    expect(db.sql).toHaveLength(2);
    expect(outcomes).toEqual(["ok", "ok"]);
    await m.close();
  });

  it("counts a failed vacuum and retries it on the next run, without throwing", async () => {
    const db = recordingDb(true);
    const outcomes: string[] = [];
    const m = new IndexMaintenance(db, 10_000, (outcome) => outcomes.push(outcome));
    m.changed();
    await m.settled();
    await m.run();
    expect(outcomes).toEqual(["error", "error"]);
    await m.close();
    m.changed();
    await m.settled();
    expect(db.sql).toHaveLength(2);
  });
});

describe("after ingest in embedded mode", () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime("embedded");
    const text = Array.from(
      { length: 40 },
      (_, i) =>
        `Section ${i}. Cats purr and dogs bark; paragraph ${i} about feline and canine habits.`,
    ).join("\n\n");
    const { document } = await rt.services.documents.create({
      name: "pets.txt",
      contentType: "text/plain",
      bytes: new TextEncoder().encode(text),
    });
    await rt.waitReady(document.id);
    // Ready is committed before the worker counts the document and tells maintenance (after the
    // BM25 statistics fold): wait for that, or settled() may find nothing to vacuum yet.
    await waitFor(
      async () =>
        ((await rt.services.metrics.ingested.get()).values.find((v) => v.labels.outcome === "ready")
          ?.value ?? 0) >= 1,
      10_000,
      "the worker to count the document",
    );
  });
  afterAll(async () => rt?.close());

  it("reads a term's postings index-only, with no heap fetches", async () => {
    await rt.services.maintenance!.settled();
    // A table this small would be read whole; ask for the index path BM25 uses on a real corpus.
    await rt.services.db.query("SET enable_seqscan = off");
    await rt.services.db.query("SET enable_bitmapscan = off");
    const [plan] = await rt.services.db.query<{ "QUERY PLAN": unknown }>(
      "EXPLAIN (ANALYZE, FORMAT JSON) SELECT chunk_id, tf, dl FROM postings WHERE term = 'cat' OFFSET 0",
    );
    await rt.services.db.query("RESET enable_seqscan");
    await rt.services.db.query("RESET enable_bitmapscan");
    const text = JSON.stringify(plan!["QUERY PLAN"]);
    expect(text).toContain('"Node Type":"Index Only Scan"');
    expect(text).toContain('"Heap Fetches":0');
  });
});

describe("on a PostgreSQL server", () => {
  it("leaves vacuuming to the server's autovacuum", async () => {
    const rt = await startRuntime("server", {}, { worker: false });
    try {
      expect(rt.services.maintenance).toBeUndefined();
    } finally {
      await rt.close();
    }
  });
});
