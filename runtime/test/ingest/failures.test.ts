/**
 * A document whose indexing the database refuses (here a trigger raising what PostgreSQL says of
 * an index row too large): each failed try is logged with the document and the upload's request
 * id, and once the tries run out the document is failed with a reason that names no internals.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, MODES, startRuntime, type Runtime } from "../support";

const DATABASE_SAYS =
  'index row size 2712 exceeds btree version 4 maximum 2704 for index "postings_pkey"';

describe.each(MODES)("indexing the database refuses (%s)", (mode) => {
  let rt: Runtime;
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const record = (level: string) => (fields: object, message: string) => {
    lines.push({ level, fields: fields as Record<string, unknown>, message });
  };

  beforeAll(async () => {
    rt = await startRuntime(
      mode,
      { INGEST_ATTEMPTS: "2" },
      { workerLog: { info: record("info"), warn: record("warn"), error: record("error") } },
    );
    await rt.services.db.query(
      `CREATE FUNCTION refuse_postings() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION '${DATABASE_SAYS}'; END $$`,
    );
    await rt.services.db.query(
      "CREATE TRIGGER refuse_postings BEFORE INSERT ON postings FOR EACH STATEMENT EXECUTE FUNCTION refuse_postings()",
    );
  }, 60_000);
  afterAll(async () => {
    await rt?.close();
  });

  it("logs every failed try with the request id, and shows readers no database text", async () => {
    const up = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: { name: "refused.txt", text: "The keeper lit the lamp at dusk." },
    });
    expect(up.statusCode).toBe(202);
    const { id } = up.json();
    const requestId = up.headers["x-request-id"];
    await expect(rt.waitReady(id, 20_000)).rejects.toThrow(/failed/);
    const doc = (
      await rt.app.inject({ method: "GET", url: `/v1/documents/${id}`, headers: auth() })
    ).json();
    expect(doc.status).toBe("failed");
    expect(doc.error).toMatch(/^indexing failed after 2 tries on an internal error/);
    expect(doc.error).not.toMatch(/btree|postings|index row/);
    const tries = lines.filter((l) => l.fields.documentId === id);
    expect(tries.map((l) => [l.level, l.fields.attempt, l.fields.requestId])).toEqual([
      ["warn", 1, requestId],
      ["error", 2, requestId],
    ]);
    expect(String((tries[0]!.fields.err as Error).message)).toContain(DATABASE_SAYS);
  });
});
