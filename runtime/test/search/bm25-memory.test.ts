/**
 * BM25's in-memory copy (search/bm25-memory.ts) beyond ranking, which bm25-exact.test.ts checks:
 * it sees every write committed before a search, including one whose transaction began before
 * the last catch-up and committed after it; labels and groups follow; dead chunks are compacted
 * away; a truncate reloads it; the log is pruned; and when it cannot catch up, the SQL plan
 * answers. In both modes unless a case needs two connections at once (server).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db, Queryable } from "../../src/db/db";
import {
  bm25SearchExact,
  foldTermStats,
  insertPostings,
  postingsOf,
  type Scored,
} from "../../src/search/bm25";
import { type Bm25MemoryEvent, Bm25MemoryIndex } from "../../src/search/bm25-memory";
import { migratedDb, MODES } from "../support";

/** Writes a ready document of one chunk per text, with the pipeline's statements. */
async function write(
  db: Queryable,
  texts: readonly string[],
  access: { classification?: string; groups?: string[] } = {},
): Promise<string> {
  const id = randomUUID();
  const tokens = texts.map((t) => t.split(" "));
  const label = access.classification ?? "internal";
  const groups = access.groups ?? [];
  await db.query(
    `INSERT INTO documents (id, name, content_type, content_hash, size_bytes, object_key, status, classification, access_groups, chunk_count, token_count)
     VALUES ($1::text::uuid, 'd.txt', 'text/plain', $1::text, 1, $1::text, 'ready', $2, $3::text[], $4, $5)`,
    [id, label, groups, texts.length, tokens.reduce((n, t) => n + t.length, 0)],
  );
  await db.query(
    `INSERT INTO chunks (id, document_id, ordinal, text, token_count, classification, access_groups)
     SELECT $1::text || ':' || o, $1::uuid, o, '', n, $3, $4::text[] FROM unnest($2::int[]) WITH ORDINALITY AS u(n, o)`,
    [id, tokens.map((t) => t.length), label, groups],
  );
  const rows = tokens.map((t, i) => postingsOf(`${id}:${i + 1}`, t));
  await insertPostings(db, rows);
  return id;
}

const documentsOf = (hits: readonly Scored[] | undefined) =>
  new Set((hits ?? []).map((h) => h.chunkId.split(":")[0]));

/** Scores to 1e-9 (the copy sums a chunk's terms in another order than SQL). */
const rounded = (hits: readonly Scored[] | undefined) =>
  (hits ?? []).map((h) => `${h.chunkId} ${h.score.toFixed(9)}`);

describe.each(MODES)("BM25's in-memory copy (%s)", (mode) => {
  let db: Db;
  let cleanup: () => Promise<void>;
  const copies: Bm25MemoryIndex[] = [];

  beforeAll(async () => {
    ({ db, cleanup } = await migratedDb(mode));
    for (let i = 0; i < 30; i++)
      await db.transaction((tx) =>
        write(tx, [`common walrus tide ${i}`, `common harbour seal ${i % 3}`]),
      );
  }, 60_000);
  afterAll(async () => {
    for (const copy of copies) copy.close();
    await cleanup?.();
  });

  async function copyOf(db_: Db = db, options = {}): Promise<Bm25MemoryIndex> {
    const copy = new Bm25MemoryIndex(db_, { syncEveryMs: 0, ...options });
    copies.push(copy);
    await copy.loaded();
    return copy;
  }

  it("answers nothing before it is loaded, so the caller uses the SQL plan", async () => {
    const copy = new Bm25MemoryIndex(db, { syncEveryMs: 0 });
    copies.push(copy);
    expect(copy.ready).toBe(false);
    expect(await copy.search(["walrus"], 5)).toBeUndefined();
    await copy.loaded();
    expect(copy.ready).toBe(true);
    expect(rounded(await copy.search(["walrus"], 5))).toEqual(
      rounded(await bm25SearchExact(db, ["walrus"], 5)),
    );
  });

  it.runIf(mode === "server")(
    "sees a transaction that began before a catch-up and committed after it",
    async () => {
      const copy = await copyOf();
      // A writes first (its log rows come first) and stays open; B writes and commits after it.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let wrote!: (id: string) => void;
      const written = new Promise<string>((resolve) => (wrote = resolve));
      const a = db.transaction(async (tx) => {
        wrote(await write(tx, ["narwhal narwhal tusk"]));
        await gate;
      });
      const first = await written;
      const second = await db.transaction((tx) => write(tx, ["narwhal pod"]));
      const during = await copy.search(["narwhal"], 10);
      expect(documentsOf(during)).toEqual(new Set([second]));
      release();
      await a;
      const after = await copy.search(["narwhal"], 10);
      expect(documentsOf(after)).toEqual(new Set([first, second]));
      expect(rounded(after)).toEqual(rounded(await bm25SearchExact(db, ["narwhal"], 10)));
    },
  );

  it("takes a written chunk's postings from the log, and reads a chunk changed by hand again", async () => {
    const copy = await copyOf();
    const id = await db.transaction((tx) => write(tx, ["osprey talon osprey", "osprey nest"]));
    // The pipeline's way (one statement writes a chunk's postings): the log carries them all.
    const logged = await db.query<{ kind: string; terms: string[] | null }>(
      "SELECT kind, terms FROM bm25_log WHERE chunk_id = $1 ORDER BY seq",
      [`${id}:1`],
    );
    expect(logged).toEqual([{ kind: "p", terms: expect.arrayContaining(["osprey", "talon"]) }]);
    const exact = async (q: string[]) => rounded(await bm25SearchExact(db, q, 10));
    expect(rounded(await copy.search(["osprey", "talon"], 10))).toEqual(
      await exact(["osprey", "talon"]),
    );
    // By hand: a second statement adds a posting, one is updated, one deleted of a chunk that
    // keeps others. Each leaves the chunk's postings partly known: the copy reads them again.
    await db.query("INSERT INTO postings (term, chunk_id, tf, dl) VALUES ('kestrel', $1, 2, 2)", [
      `${id}:2`,
    ]);
    await db.query("UPDATE postings SET tf = 7 WHERE chunk_id = $1 AND term = 'osprey'", [
      `${id}:1`,
    ]);
    await db.query("DELETE FROM postings WHERE chunk_id = $1 AND term = 'talon'", [`${id}:1`]);
    const kinds = await db.query<{ kind: string }>(
      "SELECT kind FROM bm25_log WHERE chunk_id LIKE $1 || '%' ORDER BY seq",
      [id],
    );
    expect(kinds.map((k) => k.kind)).toEqual(["p", "p", "u", "u", "u"]);
    for (const q of [["kestrel"], ["osprey", "talon"], ["talon"], ["osprey", "nest", "kestrel"]])
      expect(rounded(await copy.search(q, 10)), q.join(" ")).toEqual(await exact(q));
    // Deleted whole: 'd', and gone from the copy.
    await db.query("DELETE FROM documents WHERE id = $1", [id]);
    expect(await copy.search(["osprey", "kestrel"], 10)).toEqual([]);
  });

  it("scores the chunks of a few documents directly, as the exhaustive query does", async () => {
    const copy = await copyOf();
    const [one, two] = await db.query<{ id: string }>(
      "SELECT id::text AS id FROM documents WHERE name = 'd.txt' ORDER BY id LIMIT 2",
    );
    // "common" is in 60 chunks; two documents have 4: looking 4 chunks up costs less than 60.
    for (const filters of [{ documentIds: [one!.id] }, { documentIds: [one!.id, two!.id] }])
      expect(rounded(await copy.search(["common", "seal", "tide"], 10, filters))).toEqual(
        rounded(await bm25SearchExact(db, ["common", "seal", "tide"], 10, filters)),
      );
  });

  it("follows a chunk's label and groups as they change", async () => {
    const copy = await copyOf();
    const id = await db.transaction((tx) => write(tx, ["ibis heron"]));
    const internal = { classifications: ["public", "internal"], groups: [] };
    expect(documentsOf(await copy.search(["ibis"], 5, internal))).toEqual(new Set([id]));
    await db.query("UPDATE chunks SET classification = 'restricted' WHERE document_id = $1", [id]);
    expect(await copy.search(["ibis"], 5, internal)).toEqual([]);
    expect(documentsOf(await copy.search(["ibis"], 5))).toEqual(new Set([id]));
    await db.query(
      "UPDATE chunks SET classification = 'internal', access_groups = '{finance}' WHERE document_id = $1",
      [id],
    );
    expect(await copy.search(["ibis"], 5, internal)).toEqual([]);
    expect(
      documentsOf(await copy.search(["ibis"], 5, { ...internal, groups: ["finance"] })),
    ).toEqual(new Set([id]));
  });

  it("compacts dead chunks away and stays exact", async () => {
    const events: Bm25MemoryEvent[] = [];
    const copy = await copyOf(db, { compactMin: 0, compactShare: 0 });
    copy.log = (e) => events.push(e);
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => db.transaction((tx) => write(tx, [`gannet ${i}`]))),
    );
    await copy.sync();
    const held = copy.stats().postings;
    for (const id of ids.slice(0, 4)) await db.query("DELETE FROM documents WHERE id = $1", [id]);
    const got = await copy.search(["gannet", "common"], 20);
    expect(events.some((e) => e.event === "compacted")).toBe(true);
    expect(copy.stats().dead).toBe(0);
    expect(copy.stats().postings).toBeLessThan(held);
    expect(documentsOf(got)).not.toContain(ids[0]);
    expect(rounded(got)).toEqual(rounded(await bm25SearchExact(db, ["gannet", "common"], 20)));
  });

  it("loads afresh after the postings are truncated, once", async () => {
    const events: Bm25MemoryEvent[] = [];
    const copy = await copyOf();
    copy.log = (e) => events.push(e);
    expect((await copy.search(["walrus"], 5))!.length).toBeGreaterThan(0);
    // On a server, a transaction left open from before holds every catch-up's horizon back, so
    // the truncate's row keeps coming back: the copy must not load again for it.
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let open: Promise<void> | undefined;
    if (mode === "server")
      await new Promise<void>((started) => {
        open = db.transaction(async (t) => {
          await t.query("SELECT pg_current_xact_id()");
          started();
          await gate;
        });
      });
    await db.query("TRUNCATE postings");
    expect(await copy.search(["walrus"], 5)).toEqual([]);
    expect(await copy.search(["walrus"], 5)).toEqual([]);
    expect(events.filter((e) => e.event === "loaded")).toHaveLength(1);
    release();
    await open;
    expect(copy.stats().postings).toBe(0);
    // Written again: the copy catches up from the log as before.
    const id = await db.transaction((tx) => write(tx, ["walrus again"]));
    expect(documentsOf(await copy.search(["walrus"], 5))).toEqual(new Set([id]));
  });

  it("answers with the SQL plan when it cannot catch up, and says so", async () => {
    let broken = false;
    const flaky: Db = Object.create(db, {
      query: {
        value: (sql: string, params?: readonly unknown[]) =>
          broken && sql.includes("bm25_log")
            ? Promise.reject(new Error("connection reset"))
            : db.query(sql, params),
      },
    });
    const events: Bm25MemoryEvent[] = [];
    const copy = await copyOf(flaky);
    copy.log = (e) => events.push(e);
    broken = true;
    const id = await db.transaction((tx) => write(tx, ["puffin burrow"]));
    const got = await copy.search(["puffin"], 5);
    expect(documentsOf(got)).toEqual(new Set([id]));
    expect(events).toContainEqual({
      event: "failed",
      stage: "catch-up",
      error: "Error: connection reset",
    });
    broken = false;
    expect(documentsOf(await copy.search(["puffin"], 5))).toEqual(new Set([id]));
  });

  it("a failed load is not tried again by every search, and says why", async () => {
    let loads = 0;
    const failing: Db = Object.create(db, {
      query: {
        value: (sql: string, params?: readonly unknown[]) => {
          // A load's first statement, sent as it starts; its chunks then fail to come.
          if (sql.includes("max(seq) FROM bm25_log")) loads++;
          if (sql.includes("FROM chunks WHERE id >"))
            return Promise.reject(new Error("out of memory"));
          return db.query(sql, params);
        },
      },
    });
    const events: Bm25MemoryEvent[] = [];
    const copy = new Bm25MemoryIndex(failing, { syncEveryMs: 0 });
    copies.push(copy);
    copy.log = (e) => events.push(e);
    copy.start();
    await expect(copy.loaded()).rejects.toThrow("out of memory");
    for (let i = 0; i < 3; i++) {
      copy.start();
      expect(await copy.search(["walrus"], 5)).toBeUndefined();
    }
    expect(loads).toBe(1); // the first start: none from the searches after it
    expect(events).toContainEqual({
      event: "failed",
      stage: "load",
      error: "Error: out of memory",
    });
  });

  it("the fold drops log rows older than the copies need", async () => {
    await db.transaction((tx) => write(tx, ["tern"]));
    await db.query("UPDATE bm25_log SET at = now() - interval '2 hours'");
    const id = await db.transaction((tx) => write(tx, ["skua"]));
    await foldTermStats(db);
    const left = await db.query<{ chunk_id: string }>("SELECT chunk_id FROM bm25_log");
    expect(left.map((r) => r.chunk_id)).toEqual([`${id}:1`]);
  });
});
