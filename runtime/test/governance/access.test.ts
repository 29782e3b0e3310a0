/**
 * Classification and access by clearance and group, through every endpoint that reads the
 * index or the catalogue, in embedded and server modes: a caller never sees what its clearance
 * and groups do not reach, and what it cannot see is absent (404), never forbidden.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bm25Search } from "../../src/search/bm25";
import { tokenize } from "../../src/search/tokenize";
import {
  auditEvents,
  auth,
  issueKey,
  MODES,
  multipart,
  startRuntime,
  type Runtime,
} from "../support";

/** Each document says where the aurora was seen, with a word of its own that must not leak. */
const DOCS = {
  internal: { text: "The aurora borealis was seen over Tromso in March. Marker word: kestrel." },
  restricted: {
    text: "The aurora borealis was seen over Svalbard in January. Marker word: ocelot.",
  },
  finance: { text: "The aurora borealis was seen over Kiruna in February. Marker word: pangolin." },
} as const;
const QUESTION = "Where was the aurora borealis seen?";

interface Sse {
  event: string;
  data: unknown;
}

const events = (body: string): Sse[] =>
  body
    .split("\n\n")
    .filter(Boolean)
    .map((block) => ({
      event: block.match(/^event: (.+)$/m)![1]!,
      data: JSON.parse(block.match(/^data: (.+)$/m)![1]!),
    }));

describe.each(MODES)("classification and access (%s)", (mode) => {
  let rt: Runtime;
  const ids: Record<keyof typeof DOCS, string> = { internal: "", restricted: "", finance: "" };
  /** Readers: the default clearance (internal), restricted without groups, restricted in finance; an ingester up to confidential. */
  const keys = { low: "", high: "", finance: "", ingester: "" };

  const issue = (payload: Parameters<typeof issueKey>[1]) => issueKey(rt, payload);

  beforeAll(async () => {
    rt = await startRuntime(mode);
    const uploads = {
      internal: { classification: undefined, accessGroups: undefined },
      restricted: { classification: "restricted", accessGroups: undefined },
      finance: { classification: "internal", accessGroups: ["finance"] },
    };
    for (const [which, access] of Object.entries(uploads) as [keyof typeof DOCS, object][]) {
      const res = await rt.app.inject({
        method: "POST",
        url: "/v1/documents",
        headers: auth(),
        payload: { name: `${which}.txt`, text: DOCS[which].text, ...access },
      });
      expect(res.statusCode, res.body).toBe(202);
      ids[which] = res.json().id;
    }
    for (const id of Object.values(ids)) await rt.waitReady(id);
    const low = await issue({ role: "reader" });
    expect(low).toMatchObject({ clearance: "internal", groups: [] });
    keys.low = low.key;
    keys.high = (await issue({ role: "reader", clearance: "restricted" })).key;
    keys.finance = (
      await issue({ role: "reader", clearance: "restricted", groups: ["finance"] })
    ).key;
    keys.ingester = (await issue({ role: "ingester", clearance: "confidential" })).key;
    // Every search below goes through BM25's in-memory copy (the default), which then only
    // catches up: relabels and regroups must reach it through the change log.
    expect(await rt.services.retriever.warmed()).toBe(true);
    const metrics = (await rt.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/^rag_bm25_memory_chunks [1-9]\d*$/m);
    expect(metrics).toMatch(/^rag_bm25_memory_events_total\{event="loaded"\} 1$/m);
  }, 120_000);

  afterAll(async () => {
    await rt?.close();
  });

  const post = (key: string | undefined, url: string, payload: object, headers: object = {}) =>
    rt.app.inject({ method: "POST", url, headers: { ...auth(key), ...headers }, payload });

  /** Every document id, chunk id and marker word a response body mentions. */
  const seen = (body: string) => ({
    documents: Object.entries(ids)
      .filter(([, id]) => body.includes(id))
      .map(([which]) => which)
      .sort(),
    markers: ["kestrel", "ocelot", "pangolin"].filter((m) => body.includes(m)),
  });

  it("labels uploads: the default, a given label, groups; chunks carry both", async () => {
    const docs = await rt.services.db.query<{
      id: string;
      classification: string;
      access_groups: string[];
    }>("SELECT id, classification, access_groups FROM documents");
    const byId = new Map(docs.map((d) => [d.id, d]));
    expect(byId.get(ids.internal)).toMatchObject({ classification: "internal", access_groups: [] });
    expect(byId.get(ids.restricted)).toMatchObject({ classification: "restricted" });
    expect(byId.get(ids.finance)).toMatchObject({
      classification: "internal",
      access_groups: ["finance"],
    });
    const mismatched = await rt.services.db.query(
      `SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id
       WHERE c.classification <> d.classification OR c.access_groups <> d.access_groups`,
    );
    expect(mismatched).toEqual([]);
    const view = await rt.app.inject({
      method: "GET",
      url: `/v1/documents/${ids.finance}`,
      headers: auth(),
    });
    expect(view.json()).toMatchObject({ classification: "internal", accessGroups: ["finance"] });
  });

  it("retrieval, answers, streamed answers and citations hold only what the caller may see", async () => {
    const cases = [
      ["low", ["internal"], ["kestrel"]],
      ["high", ["internal", "restricted"], ["kestrel", "ocelot"]],
      ["finance", ["finance", "internal", "restricted"], ["kestrel", "ocelot", "pangolin"]],
    ] as const;
    for (const [who, documents, markers] of cases) {
      const key = keys[who];
      const retrieve = await post(key, "/v1/retrieve", { question: QUESTION, topK: 10 });
      expect(retrieve.statusCode).toBe(200);
      expect(seen(retrieve.body), `${who} retrieve`).toEqual({ documents, markers });

      const query = await post(key, "/v1/query", { question: QUESTION, topK: 10 });
      expect(query.statusCode).toBe(200);
      const answer = query.json<{ answer: string; citations: { documentId: string }[] }>();
      expect(seen(query.body), `${who} query`).toEqual({ documents, markers });
      expect(answer.citations.length).toBeGreaterThan(0);

      const stream = await post(
        key,
        "/v1/query",
        { question: QUESTION, topK: 10 },
        { accept: "text/event-stream" },
      );
      expect(stream.statusCode).toBe(200);
      expect(events(stream.body).at(-1)!.event).toBe("done");
      expect(seen(stream.body), `${who} stream`).toEqual({ documents, markers });
    }
  });

  it("asking for a hidden document by id or metadata finds nothing", async () => {
    const res = await post(keys.low, "/v1/retrieve", {
      question: "ocelot Svalbard",
      filters: { documentIds: [ids.restricted, ids.finance] },
    });
    expect(res.json()).toEqual({ retrieved: [] });
    const marker = await post(keys.low, "/v1/retrieve", { question: "ocelot pangolin" });
    expect(seen(marker.body).markers).toEqual([]);
  });

  it("filters in the store: BM25 and the vector index apply the clearance themselves", async () => {
    const visible = { classifications: ["public", "internal"], groups: [] };
    const lexical = await bm25Search(
      rt.services.db,
      tokenize("ocelot pangolin aurora"),
      50,
      visible,
    );
    const vector = await rt.services.vectors.search(
      rt.services.db,
      await rt.services.embedder.embedQuery("ocelot pangolin aurora"),
      50,
      visible,
    );
    const inMemory = await rt.services.retriever.bm25(tokenize("ocelot pangolin aurora"), visible);
    for (const hits of [lexical, vector, inMemory]) {
      expect(hits.length).toBeGreaterThan(0);
      expect(new Set(hits.map((h) => h.chunkId.split(":")[0]))).toEqual(new Set([ids.internal]));
    }
    // Nothing visible at all: an empty clearance sees nothing.
    expect(
      await bm25Search(rt.services.db, tokenize("aurora"), 50, { classifications: [] }),
    ).toEqual([]);
    expect(await rt.services.retriever.bm25(tokenize("aurora"), { classifications: [] })).toEqual(
      [],
    );
  });

  it("lists, reads and downloads only what the caller may see; the rest is 404", async () => {
    const list = await rt.app.inject({
      method: "GET",
      url: "/v1/documents",
      headers: auth(keys.low),
    });
    expect(list.json().total).toBe(1);
    expect(list.json().items.map((d: { id: string }) => d.id)).toEqual([ids.internal]);
    const financeList = await rt.app.inject({
      method: "GET",
      url: "/v1/documents",
      headers: auth(keys.finance),
    });
    expect(financeList.json().total).toBe(3);
    for (const hidden of [ids.restricted, ids.finance]) {
      for (const url of [`/v1/documents/${hidden}`, `/v1/documents/${hidden}/content`]) {
        const res = await rt.app.inject({ method: "GET", url, headers: auth(keys.low) });
        expect(res.statusCode, url).toBe(404);
        expect(seen(res.body).markers).toEqual([]);
      }
    }
    const high = await rt.app.inject({
      method: "GET",
      url: `/v1/documents/${ids.restricted}/content`,
      headers: auth(keys.high),
    });
    expect(high.statusCode).toBe(200);
    expect(high.body).toContain("ocelot");
    const groupOnly = await rt.app.inject({
      method: "GET",
      url: `/v1/documents/${ids.finance}`,
      headers: auth(keys.high),
    });
    expect(groupOnly.statusCode).toBe(404);
  });

  it("a delete that cannot see the document deletes nothing", async () => {
    // Deleting is for admins, who see everything: the catalogue applies the same access anyway.
    const lowAccess = { classifications: ["public", "internal"], groups: [] };
    expect(await rt.services.documents.delete(ids.restricted, lowAccess)).toBe(false);
    expect(await rt.services.documents.delete(ids.finance, lowAccess)).toBe(false);
    expect(await rt.services.documents.get(ids.restricted)).toMatchObject({ status: "ready" });
    expect(await rt.services.documents.get(ids.finance)).toMatchObject({ status: "ready" });
  });

  it("the same bytes as a hidden document are a 409 that names nothing of it", async () => {
    const res = await post(keys.ingester, "/v1/documents", {
      name: "again.txt",
      text: DOCS.restricted.text,
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toBe("duplicate_document");
    expect(seen(res.body)).toEqual({ documents: [], markers: [] });
    expect(res.body).not.toContain("restricted.txt");
  });

  it("bad labels, groups and clearances are a 400 naming the labels", async () => {
    const upload = await post(keys.ingester, "/v1/documents", {
      name: "x.txt",
      text: "x",
      classification: "secret",
    });
    expect(upload.statusCode).toBe(400);
    expect(upload.json()).toMatchObject({ error: "bad_classification" });
    expect(upload.json().message).toBe(
      'classification: "secret" is not a classification label; use one of public, internal, confidential, restricted (CLASSIFICATION_LABELS)',
    );
    const form = multipart(
      { name: "x.txt", type: "text/plain", bytes: new TextEncoder().encode("group form") },
      { classification: "confidential", accessGroups: '"finance"' },
    );
    const badGroups = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: { ...auth(keys.ingester), ...form.headers },
      payload: form.payload,
    });
    expect(badGroups.statusCode).toBe(400);
    expect(badGroups.json().message).toBe("accessGroups must be a JSON array of group names");
    const key = await post(
      undefined,
      "/v1/keys",
      { name: "k", role: "reader", clearance: "Secret" },
      auth(),
    );
    expect(key.statusCode).toBe(400);
    expect(key.json().message).toMatch(/^clearance: "Secret" is not a classification label/);
    const admin = await post(
      undefined,
      "/v1/keys",
      { name: "k", role: "admin", clearance: "public" },
      auth(),
    );
    expect(admin.statusCode).toBe(400);
    expect(admin.json().message).toMatch(/admin keys see every document/);
  });

  it("takes the label and groups of a multipart upload", async () => {
    const form = multipart(
      { name: "m.txt", type: "text/plain", bytes: new TextEncoder().encode("A multipart note.") },
      { classification: "confidential", accessGroups: JSON.stringify(["ops", "finance"]) },
    );
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: { ...auth(keys.ingester), ...form.headers },
      payload: form.payload,
    });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toMatchObject({
      classification: "confidential",
      accessGroups: ["finance", "ops"],
    });
    await rt.waitReady(res.json().id);
  });

  it("an admin relabels a document: its chunks follow, and searches at once", async () => {
    const patch = (key: string | undefined, id: string, classification: string) =>
      rt.app.inject({
        method: "PATCH",
        url: `/v1/documents/${id}/classification`,
        headers: auth(key),
        payload: { classification },
      });
    expect((await patch(keys.high, ids.restricted, "public")).statusCode).toBe(403);
    const bad = await patch(undefined, ids.restricted, "open");
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/"open" is not a classification label/);
    expect(
      (await patch(undefined, "00000000-0000-4000-8000-000000000000", "public")).statusCode,
    ).toBe(404);

    const relabel = await patch(undefined, ids.restricted, "public");
    expect(relabel.statusCode).toBe(200);
    expect(relabel.json()).toMatchObject({ id: ids.restricted, classification: "public" });
    const chunks = await rt.services.db.query<{ classification: string }>(
      "SELECT DISTINCT classification FROM chunks WHERE document_id = $1",
      [ids.restricted],
    );
    expect(chunks).toEqual([{ classification: "public" }]);
    const now = await post(keys.low, "/v1/retrieve", { question: QUESTION, topK: 10 });
    expect(seen(now.body)).toEqual({
      documents: ["internal", "restricted"],
      markers: ["kestrel", "ocelot"],
    });

    // And back up: gone again for the low reader.
    expect((await patch(undefined, ids.restricted, "restricted")).statusCode).toBe(200);
    const after = await post(keys.low, "/v1/retrieve", { question: QUESTION, topK: 10 });
    expect(seen(after.body)).toEqual({ documents: ["internal"], markers: ["kestrel"] });
  });

  it("an admin changes a document's groups: a reader in a removed group loses it at once", async () => {
    const regroup = (key: string | undefined, id: string, accessGroups: unknown) =>
      rt.app.inject({
        method: "PATCH",
        url: `/v1/documents/${id}/groups`,
        headers: auth(key),
        payload: { accessGroups },
      });
    const finance = async () => {
      const retrieve = await post(keys.finance, "/v1/retrieve", { question: QUESTION, topK: 10 });
      const query = await post(keys.finance, "/v1/query", { question: QUESTION, topK: 10 });
      return { retrieve: seen(retrieve.body), query: seen(query.body) };
    };
    const before = await finance();
    expect(before.retrieve.documents).toContain("finance");
    expect(before.query.markers).toContain("pangolin");

    expect((await regroup(keys.finance, ids.finance, [])).statusCode).toBe(403);
    const bad = await regroup(undefined, ids.finance, ["ok", "tab\tin"]);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toBe(
      'accessGroups: "tab\\tin" is not a group name (1 to 200 characters, no control characters)',
    );
    expect(
      (await regroup(undefined, "00000000-0000-4000-8000-000000000000", ["ops"])).statusCode,
    ).toBe(404);

    const moved = await regroup(undefined, ids.finance, ["ops", "audit", "ops"]);
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({ id: ids.finance, accessGroups: ["audit", "ops"] });
    const chunks = await rt.services.db.query<{ access_groups: string[] }>(
      "SELECT DISTINCT access_groups FROM chunks WHERE document_id = $1",
      [ids.finance],
    );
    expect(chunks).toEqual([{ access_groups: ["audit", "ops"] }]);
    const after = await finance();
    for (const where of [after.retrieve, after.query]) {
      expect(where.documents).not.toContain("finance");
      expect(where.markers).not.toContain("pangolin");
    }
    const event = auditEvents(rt).findLast((e) => e.action === "document.regroup");
    expect(event).toMatchObject({
      outcome: "success",
      target: { type: "document", id: ids.finance },
      details: { accessGroups: ["audit", "ops"] },
    });

    // No groups: anyone whose clearance reaches the label sees it; then back as it was.
    expect((await regroup(undefined, ids.finance, [])).json()).toMatchObject({ accessGroups: [] });
    const low = await post(keys.low, "/v1/retrieve", { question: QUESTION, topK: 10 });
    expect(seen(low.body).markers).toContain("pangolin");
    expect((await regroup(undefined, ids.finance, ["finance"])).statusCode).toBe(200);
    expect(await finance()).toEqual(before);
  });

  it("says who the caller is, with its clearance and groups", async () => {
    const me = await rt.app.inject({ method: "GET", url: "/v1/me", headers: auth(keys.finance) });
    expect(me.json()).toMatchObject({
      role: "reader",
      clearance: "restricted",
      groups: ["finance"],
    });
    const admin = await rt.app.inject({ method: "GET", url: "/v1/me", headers: auth() });
    expect(admin.json()).not.toHaveProperty("clearance");
  });
});
