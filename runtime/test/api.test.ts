/**
 * The API end to end, in embedded mode (PGlite + in-process queue) and against the real
 * PostgreSQL and Redis on 127.0.0.1 (the same suite, required in CI).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auth, blankPdf, MODES, multipart, paper, startRuntime, type Runtime } from "./support";

const MARKDOWN = `# Ranking

BM25 ranks passages by term frequency and inverse document frequency. It normalises by passage length.

## Fusion

Reciprocal rank fusion merges ranked lists from BM25 and vector search into one ranking.
`;

describe.each(MODES)("the API (%s)", (mode) => {
  let rt: Runtime;
  let bertId: string;
  let markdownId: string;

  beforeAll(async () => {
    rt = await startRuntime(mode, { MAX_UPLOAD_BYTES: String(2 * 1024 * 1024) });
    const bert = multipart(
      { name: "bert.pdf", type: "application/pdf", bytes: paper("bert.pdf") },
      { metadata: JSON.stringify({ team: "nlp", year: 2019 }) },
    );
    const up = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: { ...auth(), ...bert.headers },
      payload: bert.payload,
    });
    expect(up.statusCode).toBe(202);
    bertId = up.json().id;
    const roberta = multipart({
      name: "roberta.pdf",
      type: "application/pdf",
      bytes: paper("roberta.pdf"),
    });
    const up2 = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: { ...auth(), ...roberta.headers },
      payload: roberta.payload,
    });
    expect(up2.statusCode).toBe(202);
    const md = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: {
        name: "ranking.md",
        text: MARKDOWN,
        contentType: "text/markdown",
        metadata: { team: "search" },
      },
    });
    expect(md.statusCode).toBe(202);
    markdownId = md.json().id;
    for (const id of [bertId, up2.json().id, markdownId]) await rt.waitReady(id);
  }, 120_000);

  afterAll(async () => {
    await rt?.close();
  });

  const countRows = async () => {
    const [row] = await rt.services.db.query<{ docs: number; chunks: number; postings: number }>(
      "SELECT (SELECT count(*) FROM documents)::int AS docs, (SELECT count(*) FROM chunks)::int AS chunks, (SELECT count(*) FROM postings)::int AS postings",
    );
    return row!;
  };

  it("indexes uploads and reports their status", async () => {
    const res = await rt.app.inject({
      method: "GET",
      url: `/v1/documents/${bertId}`,
      headers: auth(),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: bertId,
      name: "bert.pdf",
      contentType: "application/pdf",
      status: "ready",
      error: null,
      metadata: { team: "nlp", year: 2019 },
    });
    expect(res.json().chunkCount).toBeGreaterThan(10);
  });

  it("answers the BERT question citing bert.pdf", async () => {
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/query",
      headers: auth(),
      payload: { question: "What are the two main tasks BERT is pre-trained on?", topK: 3 },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.answer).toMatch(/\[\d\]/);
    expect(body.citations.length).toBeGreaterThan(0);
    expect(body.citations.map((c: { documentName: string }) => c.documentName)).toContain(
      "bert.pdf",
    );
    expect(body.retrieved).toHaveLength(3);
    // A passage names its heading when it sits under one (the PDF's section titles).
    for (const c of body.citations) {
      expect(Object.keys(c).sort()).toEqual(
        [
          "chunkId",
          "documentId",
          "documentName",
          "score",
          "text",
          ...("heading" in c ? ["heading"] : []),
        ].sort(),
      );
      if ("heading" in c) expect(c.heading).toMatch(/\S/);
    }
  });

  it("retrieves with metadata and document filters", async () => {
    const byTeam = await rt.app.inject({
      method: "POST",
      url: "/v1/retrieve",
      headers: auth(),
      payload: {
        question: "reciprocal rank fusion",
        topK: 5,
        filters: { metadata: { team: "search" } },
      },
    });
    expect(byTeam.json().retrieved.map((r: { documentId: string }) => r.documentId)).toEqual(
      expect.arrayContaining([markdownId]),
    );
    expect(
      new Set(byTeam.json().retrieved.map((r: { documentId: string }) => r.documentId)),
    ).toEqual(new Set([markdownId]));
    const byDoc = await rt.app.inject({
      method: "POST",
      url: "/v1/retrieve",
      headers: auth(),
      payload: { question: "masked language model", topK: 5, filters: { documentIds: [bertId] } },
    });
    expect(byDoc.json().retrieved.length).toBeGreaterThan(0);
    expect(
      new Set(byDoc.json().retrieved.map((r: { documentId: string }) => r.documentId)),
    ).toEqual(new Set([bertId]));
  });

  it("treats SQL-looking filter values as data", async () => {
    const before = await countRows();
    for (const value of ["x' OR '1'='1", "'); DROP TABLE documents; --", '\\"}']) {
      const res = await rt.app.inject({
        method: "POST",
        url: "/v1/retrieve",
        headers: auth(),
        payload: { question: "BERT", topK: 5, filters: { metadata: { team: value } } },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().retrieved).toEqual([]);
    }
    expect(await countRows()).toEqual(before);
  });

  it("streams an answer as server-sent events", async () => {
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/query",
      headers: { ...auth(), accept: "text/event-stream" },
      payload: { question: "What does reciprocal rank fusion merge?", topK: 2 },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    const events = res.body
      .split("\n\n")
      .filter(Boolean)
      .map((block) => ({
        event: block.match(/^event: (.+)$/m)![1],
        data: JSON.parse(block.match(/^data: (.+)$/m)![1]!),
      }));
    expect(events[0]!.event).toBe("retrieved");
    expect(events.filter((e) => e.event === "token").length).toBeGreaterThan(0);
    const done = events.at(-1)!;
    expect(done.event).toBe("done");
    expect(done.data.answer).toBe(
      events
        .filter((e) => e.event === "token")
        .map((e) => e.data.text)
        .join(""),
    );
    expect(done.data.citations.length).toBeGreaterThan(0);
  });

  it("creates nothing new when the same bytes are uploaded again", async () => {
    const before = await countRows();
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: { name: "again.md", text: MARKDOWN, contentType: "text/markdown" },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().id).toBe(markdownId);
    expect(await countRows()).toEqual(before);
  });

  it("gives back the uploaded original as a download, never rendered on this origin", async () => {
    const original = await rt.app.inject({
      method: "GET",
      url: `/v1/documents/${bertId}/content`,
      headers: auth(),
    });
    expect(original.statusCode).toBe(200);
    expect(original.rawPayload.equals(Buffer.from(paper("bert.pdf")))).toBe(true);
    expect(original.headers).toMatchObject({
      "content-type": "application/pdf",
      "content-disposition": "attachment; filename=bert.pdf",
      "content-security-policy": "default-src 'none'; sandbox",
      "x-content-type-options": "nosniff",
      "cache-control": "private, no-store",
    });
    const md = await rt.app.inject({
      method: "GET",
      url: `/v1/documents/${markdownId}/content`,
      headers: auth(),
    });
    expect(md.body).toBe(MARKDOWN);
    const reader = (
      await rt.app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: auth(),
        payload: { name: "downloads", role: "reader" },
      })
    ).json().key;
    expect(
      (
        await rt.app.inject({
          method: "GET",
          url: `/v1/documents/${markdownId}/content`,
          headers: auth(reader),
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (await rt.app.inject({ method: "GET", url: `/v1/documents/${markdownId}/content` }))
        .statusCode,
    ).toBe(401);
    const missing = await rt.app.inject({
      method: "GET",
      url: "/v1/documents/00000000-0000-4000-8000-000000000000/content",
      headers: auth(),
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().message).toBe(
      "no stored original for document 00000000-0000-4000-8000-000000000000",
    );
  });

  it("names a download with any characters safely", async () => {
    const up = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: { name: 'Résumé "final"; v2.txt', text: "A résumé with a quoted name." },
    });
    const download = await rt.app.inject({
      method: "GET",
      url: `/v1/documents/${up.json().id}/content`,
      headers: auth(),
    });
    expect(download.headers["content-disposition"]).toBe(
      `attachment; filename="R?sum? \\"final\\"; v2.txt"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22%3B%20v2.txt`,
    );
    await rt.app.inject({
      method: "DELETE",
      url: `/v1/documents/${up.json().id}`,
      headers: auth(),
    });
  });

  it("lists documents in pages", async () => {
    const page1 = await rt.app.inject({
      method: "GET",
      url: "/v1/documents?limit=2&offset=0",
      headers: auth(),
    });
    const page2 = await rt.app.inject({
      method: "GET",
      url: "/v1/documents?limit=2&offset=2",
      headers: auth(),
    });
    expect(page1.json()).toMatchObject({ total: 3, limit: 2, offset: 0 });
    expect(page1.json().items).toHaveLength(2);
    expect(page2.json().items).toHaveLength(1);
    const ids = [...page1.json().items, ...page2.json().items].map((d: { id: string }) => d.id);
    expect(new Set(ids).size).toBe(3);
  });

  describe("bad input gets a clear 4xx and leaves stored data intact", () => {
    const cases: [
      string,
      () => Promise<{ statusCode: number; json(): { error: string; message: string } }>,
      number,
      string,
      RegExp,
    ][] = [
      [
        "a corrupt PDF",
        () => {
          const m = multipart({
            name: "bad.pdf",
            type: "application/pdf",
            bytes: new TextEncoder().encode("%PDF-1.7\nthis is not a pdf"),
          });
          return rt.app.inject({
            method: "POST",
            url: "/v1/documents",
            headers: { ...auth(), ...m.headers },
            payload: m.payload,
          });
        },
        422,
        "unprocessable_document",
        /not a readable PDF/,
      ],
      [
        "a malformed multipart body",
        () =>
          rt.app.inject({
            method: "POST",
            url: "/v1/documents",
            headers: { ...auth(), "content-type": "multipart/form-data; boundary=abc" },
            payload:
              '--abc\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nunterminated',
          }),
        400,
        "bad_request",
        /multipart body is malformed/,
      ],
      [
        "an empty file",
        () => {
          const m = multipart({ name: "empty.txt", type: "text/plain", bytes: new Uint8Array() });
          return rt.app.inject({
            method: "POST",
            url: "/v1/documents",
            headers: { ...auth(), ...m.headers },
            payload: m.payload,
          });
        },
        400,
        "bad_request",
        /empty/,
      ],
      [
        "an oversized upload",
        () => {
          const m = multipart({
            name: "big.txt",
            type: "text/plain",
            bytes: new Uint8Array(3 * 1024 * 1024).fill(97),
          });
          return rt.app.inject({
            method: "POST",
            url: "/v1/documents",
            headers: { ...auth(), ...m.headers },
            payload: m.payload,
          });
        },
        413,
        "payload_too_large",
        /exceeds the limit of 2097152 bytes/,
      ],
      [
        "an unknown content type",
        () => {
          const m = multipart({
            name: "photo.png",
            type: "image/png",
            bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1]),
          });
          return rt.app.inject({
            method: "POST",
            url: "/v1/documents",
            headers: { ...auth(), ...m.headers },
            payload: m.payload,
          });
        },
        415,
        "unsupported_media_type",
        /unsupported content type "image\/png"/,
      ],
      [
        "malformed JSON",
        () =>
          rt.app.inject({
            method: "POST",
            url: "/v1/query",
            headers: { ...auth(), "content-type": "application/json" },
            payload: '{"question": "x",',
          }),
        400,
        "bad_request",
        /JSON/i,
      ],
      [
        "a JSON upload without text",
        () =>
          rt.app.inject({
            method: "POST",
            url: "/v1/documents",
            headers: auth(),
            payload: { name: "x" },
          }),
        400,
        "bad_request",
        /text/,
      ],
      [
        "a topK out of range",
        () =>
          rt.app.inject({
            method: "POST",
            url: "/v1/retrieve",
            headers: auth(),
            payload: { question: "x", topK: 500 },
          }),
        400,
        "bad_request",
        /topK/,
      ],
      [
        "an unknown filter",
        () =>
          rt.app.inject({
            method: "POST",
            url: "/v1/retrieve",
            headers: auth(),
            payload: { question: "x", filters: { sql: "1=1" } },
          }),
        400,
        "bad_request",
        /^body\/filters has an unknown property "sql"$/,
      ],
      [
        "a JSON upload of a type JSON cannot carry",
        () =>
          rt.app.inject({
            method: "POST",
            url: "/v1/documents",
            headers: auth(),
            payload: { name: "x.pdf", text: "x", contentType: "application/pdf" },
          }),
        400,
        "bad_request",
        /^body\/contentType must be one of: "text\/plain", "text\/markdown", "text\/html"$/,
      ],
      [
        "bad metadata",
        () => {
          const m = multipart(
            { name: "a.txt", type: "text/plain", bytes: new TextEncoder().encode("hello there") },
            { metadata: "{not json" },
          );
          return rt.app.inject({
            method: "POST",
            url: "/v1/documents",
            headers: { ...auth(), ...m.headers },
            payload: m.payload,
          });
        },
        400,
        "bad_request",
        /metadata field is not valid JSON/,
      ],
      [
        "a missing API key",
        () => rt.app.inject({ method: "POST", url: "/v1/query", payload: { question: "x" } }),
        401,
        "unauthorized",
        /API key/,
      ],
      [
        "a wrong API key",
        () => rt.app.inject({ method: "GET", url: "/v1/documents", headers: auth("rag_wrong") }),
        401,
        "unauthorized",
        /API key/,
      ],
      [
        "a JSON upload over the limit",
        () =>
          rt.app.inject({
            method: "POST",
            url: "/v1/documents",
            headers: auth(),
            payload: { name: "big.txt", text: "a".repeat(2097152 + 1) },
          }),
        413,
        "payload_too_large",
        /exceeds the limit of 2097152 bytes/,
      ],
      [
        "an unknown route",
        () =>
          rt.app.inject({ method: "POST", url: "/v1/documents/x/reindex?y=1", headers: auth() }),
        404,
        "not_found",
        /^no route POST \/v1\/documents\/x\/reindex: see \/docs$/,
      ],
      [
        "an unknown document",
        () =>
          rt.app.inject({
            method: "GET",
            url: "/v1/documents/00000000-0000-4000-8000-000000000000",
            headers: auth(),
          }),
        404,
        "not_found",
        /no document/,
      ],
    ];
    it.each(cases)("%s", async (_label, send, status, error, message) => {
      const before = await countRows();
      const res = await send();
      expect(res.statusCode).toBe(status);
      expect(res.json().error).toBe(error);
      expect(res.json().message).toMatch(message);
      expect(await countRows()).toEqual(before);
      const still = await rt.app.inject({
        method: "POST",
        url: "/v1/retrieve",
        headers: auth(),
        payload: { question: "BERT pre-training", topK: 1 },
      });
      expect(still.json().retrieved).toHaveLength(1);
    });
  });

  it("records why a document failed, keeping the rest of the index", async () => {
    const before = await countRows();
    const m = multipart({ name: "scan.pdf", type: "application/pdf", bytes: blankPdf() });
    const up = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: { ...auth(), ...m.headers },
      payload: m.payload,
    });
    expect(up.statusCode).toBe(202);
    await expect(rt.waitReady(up.json().id, 30_000)).rejects.toThrow(/no text layer/);
    const doc = (
      await rt.app.inject({ method: "GET", url: `/v1/documents/${up.json().id}`, headers: auth() })
    ).json();
    expect(doc).toMatchObject({
      status: "failed",
      chunkCount: 0,
      error: expect.stringContaining("no text layer"),
    });
    const after = await countRows();
    expect(after).toMatchObject({
      chunks: before.chunks,
      postings: before.postings,
      docs: before.docs + 1,
    });
  });

  it("grants by role: readers query but cannot upload; revoked keys stop working", async () => {
    const issued = await rt.app.inject({
      method: "POST",
      url: "/v1/keys",
      headers: auth(),
      payload: { name: "dashboards", role: "reader" },
    });
    expect(issued.statusCode).toBe(201);
    const { key, id } = issued.json();
    expect(key).toMatch(/^rag_/);
    const [stored] = await rt.services.db.query<{ key_hash: string }>(
      "SELECT key_hash FROM api_keys WHERE id = $1",
      [id],
    );
    expect(stored!.key_hash).not.toContain(key);
    expect(
      (
        await rt.app.inject({
          method: "POST",
          url: "/v1/retrieve",
          headers: auth(key),
          payload: { question: "BERT" },
        })
      ).statusCode,
    ).toBe(200);
    const upload = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(key),
      payload: { name: "r.txt", text: "reader text" },
    });
    expect(upload.statusCode).toBe(403);
    expect(upload.json().message).toBe(
      "this action needs the ingester role; the credentials hold reader",
    );
    expect(
      (await rt.app.inject({ method: "GET", url: "/v1/documents", headers: { "x-api-key": key } }))
        .statusCode,
    ).toBe(200);
    expect(
      (await rt.app.inject({ method: "DELETE", url: `/v1/keys/${id}`, headers: auth() }))
        .statusCode,
    ).toBe(204);
    expect(
      (await rt.app.inject({ method: "GET", url: "/v1/documents", headers: auth(key) })).statusCode,
    ).toBe(401);
  });

  it("deletes a document everywhere", async () => {
    const up = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: { name: "temp.txt", text: "Zebra migration patterns across the Serengeti plains." },
    });
    const id = up.json().id;
    await rt.waitReady(id);
    const [doc] = await rt.services.db.query<{ object_key: string }>(
      "SELECT object_key FROM documents WHERE id = $1",
      [id],
    );
    expect(
      (await rt.app.inject({ method: "DELETE", url: `/v1/documents/${id}`, headers: auth() }))
        .statusCode,
    ).toBe(204);
    expect(
      (await rt.app.inject({ method: "GET", url: `/v1/documents/${id}`, headers: auth() }))
        .statusCode,
    ).toBe(404);
    const left = await rt.services.db.query<{ n: number }>(
      "SELECT ((SELECT count(*) FROM chunks WHERE document_id = $1) + (SELECT count(*) FROM postings WHERE chunk_id LIKE $2) + (SELECT count(*) FROM chunk_vectors WHERE chunk_id LIKE $2))::int AS n",
      [id, `${id}:%`],
    );
    expect(left[0]!.n).toBe(0);
    await expect(rt.services.store.get(doc!.object_key)).rejects.toThrow();
    const search = await rt.app.inject({
      method: "POST",
      url: "/v1/retrieve",
      headers: auth(),
      payload: { question: "zebra serengeti", topK: 3 },
    });
    expect(search.json().retrieved.map((r: { documentId: string }) => r.documentId)).not.toContain(
      id,
    );
    expect(
      (await rt.app.inject({ method: "DELETE", url: `/v1/documents/${id}`, headers: auth() }))
        .statusCode,
    ).toBe(404);
  });

  it("serves readiness, metrics and the OpenAPI document", async () => {
    const ready = await rt.app.inject({ method: "GET", url: "/readyz" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: "ready",
      checks: { database: "ok", queue: "ok", objectStore: "ok", vectors: "ok" },
    });
    const metrics = await rt.app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toContain("rag_http_request_duration_seconds_bucket");
    expect(metrics.body).toMatch(/rag_ingest_stage_duration_seconds_count\{stage="embed"\} [1-9]/);
    expect(metrics.body).toMatch(
      /rag_retrieval_stage_duration_seconds_count\{stage="bm25"\} [1-9]/,
    );
    expect(metrics.body).toContain("rag_ingest_queue_depth");
    const openapi = (await rt.app.inject({ method: "GET", url: "/docs/json" })).json();
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        "/v1/documents",
        "/v1/documents/{id}",
        "/v1/query",
        "/v1/retrieve",
        "/healthz",
        "/readyz",
      ]),
    );
  });
});
