/**
 * The document library's routes in both modes: the labels a caller may assign (and an upload
 * above its clearance refused), and the listing's filters by name, label and metadata, counted and
 * paged across every match rather than one page.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, issueKey, MODES, multipart, startRuntime, type Runtime } from "../support";

/** Names chosen to catch a LIKE pattern taken literally or not: `%`, `_` and `\` in them. */
const NAMES = [
  "Quarterly Report 2024.txt",
  "quarterly-summary.md",
  "annual report.txt",
  "100% done.txt",
  "1000 done.txt",
  "snake_case.txt",
  "snakeXcase.txt",
  "back\\slash.txt",
  "back-slash.txt",
];

describe.each(MODES)("document routes (%s)", (mode) => {
  let rt: Runtime;
  const keys = { publicReader: "", ingester: "" };

  const get = (url: string, key?: string) =>
    rt.app.inject({ method: "GET", url, headers: auth(key) });
  const names = async (query: Record<string, string>) => {
    const res = await get(`/v1/documents?${new URLSearchParams(query).toString()}`);
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json<{ items: { name: string }[]; total: number }>();
    return { names: page.items.map((d) => d.name).sort(), total: page.total };
  };

  beforeAll(async () => {
    rt = await startRuntime(mode, {}, { worker: false });
    for (const [i, name] of NAMES.entries()) {
      const res = await rt.app.inject({
        method: "POST",
        url: "/v1/documents",
        headers: auth(),
        payload: {
          name,
          text: `Document number ${i} of the library test.`,
          classification: i % 3 === 0 ? "confidential" : "internal",
          metadata: { team: i % 2 ? "ops" : "search", year: 2024 + (i % 3) },
        },
      });
      expect(res.statusCode, res.body).toBe(202);
    }
    keys.publicReader = (await issueKey(rt, { role: "reader", clearance: "public" })).key;
    keys.ingester = (await issueKey(rt, { role: "ingester", clearance: "confidential" })).key;
  }, 60_000);

  afterAll(async () => {
    await rt?.close();
  });

  it("lists the labels, the default and those the caller may assign", async () => {
    const labels = ["public", "internal", "confidential", "restricted"];
    expect((await get("/v1/classification")).json()).toEqual({
      labels,
      default: "internal",
      assignable: labels,
    });
    expect((await get("/v1/classification", keys.publicReader)).json()).toEqual({
      labels,
      default: "internal",
      assignable: ["public"],
    });
    expect((await get("/v1/classification", keys.ingester)).json()).toMatchObject({
      assignable: ["public", "internal", "confidential"],
    });
    expect((await get("/v1/classification", "rag_not_a_key")).statusCode).toBe(401);
  });

  it("refuses an upload labelled above the uploader's clearance, JSON or multipart", async () => {
    const json = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(keys.ingester),
      payload: { name: "secret.txt", text: "Above my clearance.", classification: "restricted" },
    });
    expect(json.statusCode).toBe(403);
    expect(json.json()).toMatchObject({
      error: "above_clearance",
      message:
        'classification: "restricted" is above these credentials\' clearance; use one of public, internal, confidential',
    });
    const form = multipart(
      { name: "secret.txt", type: "text/plain", bytes: new TextEncoder().encode("Above it too.") },
      { classification: "restricted" },
    );
    const upload = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: { ...auth(keys.ingester), ...form.headers },
      payload: form.payload,
    });
    expect(upload.statusCode).toBe(403);
    expect((await names({ name: "secret" })).total).toBe(0);

    const allowed = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(keys.ingester),
      payload: { name: "mine.txt", text: "Within my clearance.", classification: "confidential" },
    });
    expect(allowed.statusCode, allowed.body).toBe(202);
    expect(allowed.json()).toMatchObject({ classification: "confidential" });
    await rt.services.documents.delete(allowed.json().id);
  });

  it("filters by name, ignoring case, across every page", async () => {
    expect(await names({ name: "QUARTERLY" })).toEqual({
      names: ["Quarterly Report 2024.txt", "quarterly-summary.md"],
      total: 2,
    });
    expect(await names({ name: "report" })).toEqual({
      names: ["Quarterly Report 2024.txt", "annual report.txt"].sort(),
      total: 2,
    });
    // One per page, and the pages together hold every match exactly once.
    const first = await names({ name: "report", limit: "1", offset: "0" });
    const second = await names({ name: "report", limit: "1", offset: "1" });
    expect(first.total).toBe(2);
    expect(second.total).toBe(2);
    expect([...first.names, ...second.names].sort()).toEqual(
      ["Quarterly Report 2024.txt", "annual report.txt"].sort(),
    );
    expect(await names({ name: "nothing like it" })).toEqual({ names: [], total: 0 });
  });

  it("takes LIKE's wildcards and escape as plain characters", async () => {
    expect((await names({ name: "100%" })).names).toEqual(["100% done.txt"]);
    expect((await names({ name: "%" })).names).toEqual(["100% done.txt"]);
    expect((await names({ name: "snake_case" })).names).toEqual(["snake_case.txt"]);
    expect((await names({ name: "_" })).names).toEqual(["snake_case.txt"]);
    expect((await names({ name: "back\\slash" })).names).toEqual(["back\\slash.txt"]);
    expect((await names({ name: "\\" })).names).toEqual(["back\\slash.txt"]);
  });

  it("combines the name with the label and the caller's clearance", async () => {
    // NAMES[0] and NAMES[3] are confidential; the rest internal.
    expect(await names({ name: "report", classification: "confidential" })).toEqual({
      names: ["Quarterly Report 2024.txt"],
      total: 1,
    });
    expect((await names({ classification: "confidential" })).total).toBe(3);
    expect((await names({ classification: "internal", name: "done" })).names).toEqual([
      "1000 done.txt",
    ]);
    const hidden = await get("/v1/documents?name=report", keys.publicReader);
    expect(hidden.json()).toMatchObject({ items: [], total: 0 });
  });

  it("refuses a bad name or label filter with a 400 naming it", async () => {
    const unknown = await get("/v1/documents?classification=secret");
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().message).toMatch(
      /^classification: "secret" is not a classification label/,
    );
    const empty = await get("/v1/documents?name=");
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toMatch(/name/);
    const long = await get(`/v1/documents?name=${"x".repeat(501)}`);
    expect(long.statusCode).toBe(400);
    expect(long.json().message).toMatch(/name/);
    const nul = await get("/v1/documents?name=a%00b");
    expect(nul.statusCode).toBe(400);
    expect(nul.json().message).toMatch(/querystring\/name contains a NUL character/);
  });

  it("filters by metadata on the server: every pair held, values typed, paged across matches", async () => {
    const meta = (filter: unknown, extra: Record<string, string> = {}) =>
      names({ metadata: JSON.stringify(filter), ...extra });
    // team=ops: documents 1, 3, 5 and 7; of those, year 2025: 1 and 7. Confidential: 0, 3 and 6.
    expect((await meta({ team: "ops" })).total).toBe(4);
    expect(await meta({ team: "ops", year: 2025 })).toEqual({
      names: ["back\\slash.txt", "quarterly-summary.md"],
      total: 2,
    });
    // A number is not its string: metadata keeps the type it was stored with.
    expect((await meta({ team: "ops", year: "2025" })).total).toBe(0);
    // Paged: one a page, each match once, the total counting both.
    const first = await meta({ team: "ops", year: 2025 }, { limit: "1", offset: "0" });
    const second = await meta({ team: "ops", year: 2025 }, { limit: "1", offset: "1" });
    expect(first.total).toBe(2);
    expect([...first.names, ...second.names].sort()).toEqual([
      "back\\slash.txt",
      "quarterly-summary.md",
    ]);
    // With the name and the label filters, and never past the caller's clearance.
    expect((await meta({ team: "search" }, { name: "report" })).names).toEqual([
      "Quarterly Report 2024.txt",
      "annual report.txt",
    ]);
    expect((await meta({ team: "search" }, { classification: "confidential" })).names).toEqual([
      "Quarterly Report 2024.txt",
      "snakeXcase.txt",
    ]);
    const hidden = await get(
      `/v1/documents?metadata=${encodeURIComponent('{"team":"ops"}')}`,
      keys.publicReader,
    );
    expect(hidden.json()).toMatchObject({ items: [], total: 0 });
  });

  it("refuses a metadata filter that is not a flat JSON object, with a 400 naming it", async () => {
    const bad = async (raw: string, message: RegExp) => {
      const res = await get(`/v1/documents?metadata=${encodeURIComponent(raw)}`);
      expect(res.statusCode, raw).toBe(400);
      expect(res.json().message, raw).toMatch(message);
    };
    await bad("{team", /metadata.*not valid JSON/);
    await bad('["ops"]', /metadata must be a JSON object/);
    await bad(
      '{"team":{"name":"ops"}}',
      /querystring\.metadata\/team must be string, number or boolean/,
    );
    await bad(`{"${"k".repeat(101)}":1}`, /querystring\.metadata/);
    await bad('{"team":"a\\u0000b"}', /NUL/);
  });
});
