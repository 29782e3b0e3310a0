/**
 * Documents from hostile testing (issue 21), uploaded through the API and indexed by the worker,
 * embedded and against the real PostgreSQL and Redis: text in UTF-16, and bombs (a PDF of
 * thousands of pages, a compressed stream of zeros, text past every limit). The bombs are made
 * here, small, against limits set low.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DocumentService, type DocumentView } from "../../src/ingest/documents";
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from "../../src/ingest/parse-limits";
import { IngestPipeline } from "../../src/ingest/pipeline";
import { InProcessQueue, waitFor } from "../../src/queue/queue";
import { auth, MODES, multipart, startRuntime, type Runtime } from "../support";
import { flateBombPdf, largeText, manyPagePdf } from "./bombs";

const MIB = 1024 * 1024;

/** `s` in UTF-16 after its byte-order mark, as Windows tools save text. */
function utf16(s: string, order: "le" | "be"): Uint8Array {
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, "utf16le")]);
  return new Uint8Array(order === "le" ? le : Buffer.from(le).swap16());
}

describe.each(MODES)("hostile documents (%s)", (mode) => {
  let rt: Runtime;

  beforeAll(async () => {
    rt = await startRuntime(mode, {
      MAX_UPLOAD_BYTES: String(16 * MIB),
      PARSE_MAX_PAGES: "15000",
      PARSE_MAX_DECOMPRESSED_MB: "8",
      PARSE_TIMEOUT_SECONDS: "3",
    });
  }, 60_000);
  afterAll(async () => rt?.close());

  function post(name: string, type: string, bytes: Uint8Array) {
    const form = multipart({ name, type, bytes });
    return rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: { ...auth(), ...form.headers },
      payload: form.payload,
    });
  }

  async function upload(name: string, type: string, bytes: Uint8Array): Promise<string> {
    const res = await post(name, type, bytes);
    expect(res.statusCode, res.body).toBe(202);
    return res.json<{ id: string }>().id;
  }

  async function settled(id: string): Promise<DocumentView> {
    let doc: DocumentView | undefined;
    await waitFor(
      async () => {
        doc = await rt.services.documents.get(id);
        return doc?.status === "ready" || doc?.status === "failed";
      },
      60_000,
      `document ${id} to be indexed or to fail`,
    );
    return doc!;
  }

  async function retrieve(question: string, documentId: string): Promise<string[]> {
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/retrieve",
      headers: auth(),
      payload: { question, filters: { documentIds: [documentId] } },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ retrieved: { text: string }[] }>().retrieved.map((r) => r.text);
  }

  it("indexes UTF-16 text with a byte-order mark, little- and big-endian", async () => {
    const note = "Die Grubenarbeiter nahmen Kanarienvögel mit: sie warnen vor Kohlenmonoxid.";
    const le = await upload("notiz.txt", "application/octet-stream", utf16(note, "le"));
    const be = await upload("notiz.md", "text/markdown", utf16(`# Notiz\n\n${note} Ja.`, "be"));
    for (const id of [le, be]) {
      expect(await settled(id)).toMatchObject({ status: "ready", error: null });
      expect((await retrieve("Kanarienvögel Kohlenmonoxid", id))[0]).toContain(note);
    }
  });

  it("answers /healthz within a second while a bomb is parsed, then fails the bomb by the clock", async () => {
    // 12 000 pages in one flat page tree: PDF.js looks each page up from the first, so reading
    // them takes tens of seconds; it ran on the event loop and /healthz went unanswered.
    const id = await upload("pages.pdf", "application/pdf", manyPagePdf(12_000));
    const latenciesMs: number[] = [];
    let doc: DocumentView | undefined;
    while (doc?.status !== "failed" && doc?.status !== "ready") {
      const started = performance.now();
      const health = await rt.app.inject({ url: "/healthz" });
      latenciesMs.push(performance.now() - started);
      expect(health.statusCode).toBe(200);
      doc = await rt.services.documents.get(id);
      await sleep(100);
    }
    expect(doc.error).toBe(
      "parsing the document took longer than the limit of 3 s (PARSE_TIMEOUT_SECONDS)",
    );
    expect(latenciesMs.length).toBeGreaterThan(10);
    expect(Math.max(...latenciesMs)).toBeLessThan(1000);
  });

  it("refuses at upload a PDF of too many pages, or with a stream that expands too far, naming the limit", async () => {
    const pages = await post("pages.pdf", "application/pdf", manyPagePdf(15_001));
    expect(pages.statusCode).toBe(422);
    expect(pages.json()).toMatchObject({
      error: "unprocessable_document",
      message: "the PDF has 15001 pages, over the limit of 15000 (PARSE_MAX_PAGES)",
    });
    const zeros = await post("zeros.pdf", "application/pdf", flateBombPdf(64 * MIB));
    expect(zeros.statusCode).toBe(422);
    expect(zeros.json()).toMatchObject({
      error: "unprocessable_document",
      message:
        "a compressed stream of the PDF expands past the limit of 8 MiB (PARSE_MAX_DECOMPRESSED_MB)",
    });
  });

  it("fails a stored document past each limit with that limit's reason, indexing none of it", async () => {
    // Stored under generous limits (as before an operator lowered them), then indexed under tight ones.
    const { db, store, embedder, vectors } = rt.services;
    const generous: ParseLimits = { ...DEFAULT_PARSE_LIMITS, maxPages: 100_000, maxChars: 1e9 };
    const holding = new InProcessQueue(1);
    const documents = new DocumentService(db, store, holding, vectors, { parseLimits: generous });
    const umlauts = new TextEncoder().encode("Grüße über Köln. ".repeat(600_000));
    const cases: [string, Uint8Array, Partial<ParseLimits>, string][] = [
      [
        "pages.pdf",
        manyPagePdf(101),
        { maxPages: 100 },
        "the PDF has 101 pages, over the limit of 100 (PARSE_MAX_PAGES)",
      ],
      [
        "long.txt",
        largeText(200_000),
        { maxChars: 100_000 },
        "the document's text runs past the limit of 100000 characters (PARSE_MAX_CHARS)",
      ],
      [
        "long.pdf",
        manyPagePdf(200),
        { maxChars: 5000 },
        "the document's text runs past the limit of 5000 characters (PARSE_MAX_CHARS)",
      ],
      [
        "zeros.pdf",
        flateBombPdf(16 * MIB),
        { maxDecompressedMb: 8 },
        "a compressed stream of the PDF expands past the limit of 8 MiB (PARSE_MAX_DECOMPRESSED_MB)",
      ],
      [
        "slow.pdf",
        manyPagePdf(6000),
        { timeoutSeconds: 1 },
        "parsing the document took longer than the limit of 1 s (PARSE_TIMEOUT_SECONDS)",
      ],
      [
        "heavy.txt",
        umlauts,
        { maxMemoryMb: 64 },
        "parsing the document needed more memory than the limit of 64 MiB (PARSE_MAX_MEMORY_MB)",
      ],
    ];
    try {
      for (const [name, bytes, tight, reason] of cases) {
        const { document } = await documents.create({ name, contentType: undefined, bytes });
        const pipeline = new IngestPipeline(db, store, embedder, vectors, {
          sizeWords: 256,
          overlapWords: 40,
          parseLimits: { ...generous, ...tight },
        });
        expect(await pipeline.process(document.id, 1), name).toEqual({
          status: "failed",
          chunks: 0,
        });
        expect(await rt.services.documents.get(document.id), name).toMatchObject({
          status: "failed",
          error: reason,
          chunkCount: 0,
        });
      }
    } finally {
      await holding.close();
    }
  }, 60_000);
});
