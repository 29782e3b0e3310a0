/**
 * DOCX, PPTX, XLSX, ODT and EML: detected by type or extension, parsed to text (headings kept),
 * with a corrupt file or a zip bomb refused with its reason; end to end in both modes, where a
 * refused upload leaves everything stored as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CONTENT_TYPES,
  detectKind,
  type DocumentKind,
  ParseError,
  parseDocument,
} from "../../src/ingest/parse";
import { DEFAULT_PARSE_LIMITS } from "../../src/ingest/parse-limits";
import { parseAndChunk } from "../../src/ingest/parse-thread";
import { auth, MODES, multipart, startRuntime, type Runtime } from "../support";
import { bombDocx, docx, eml, odt, pptx, truncated, xlsx } from "./office-files";

const FILES = {
  docx: docx("Quarterly report", ["The turbine output rose by nine percent in the third quarter."]),
  pptx: pptx([
    ["Roadmap", "Ship the harbour crane"],
    ["Risks", "The storm season delays welding"],
  ]),
  xlsx: xlsx("Budget", [
    ["Item", "Cost"],
    ["Propeller shaft", "4200"],
  ]),
  odt: odt("Minutes", ["The board approved the lighthouse repair."]),
  eml: eml("Crane inspection", "The gantry crane passed its annual inspection.", [
    {
      name: "torque.docx",
      type: CONTENT_TYPES.docx,
      bytes: docx("Torque log", ["Every anchor bolt was torqued to spec."]),
    },
    { name: "photo.png", type: "image/png", bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]) },
  ]),
} satisfies Partial<Record<DocumentKind, Uint8Array>>;
type Format = keyof typeof FILES;
const FORMATS = Object.keys(FILES) as Format[];

describe("detecting office documents and e-mail", () => {
  it.each(FORMATS)("takes %s by its content type or its extension", (kind) => {
    expect(detectKind(CONTENT_TYPES[kind], "upload", FILES[kind])).toBe(kind);
    expect(
      detectKind("application/octet-stream", `Report.${kind.toUpperCase()}`, FILES[kind]),
    ).toBe(kind);
  });
});

describe("parsing office documents and e-mail", () => {
  it("keeps a Word or OpenDocument heading as a Markdown heading, with the text", async () => {
    expect(await parseDocument("docx", FILES.docx)).toBe(
      "# Quarterly report\n\nThe turbine output rose by nine percent in the third quarter.",
    );
    expect(await parseDocument("odt", FILES.odt)).toBe(
      "# Minutes\n\nThe board approved the lighthouse repair.",
    );
  });

  it("reads every slide of a deck and every cell of a sheet", async () => {
    const deck = await parseDocument("pptx", FILES.pptx);
    for (const line of [
      "Roadmap",
      "Ship the harbour crane",
      "Risks",
      "The storm season delays welding",
    ])
      expect(deck).toContain(line);
    expect(deck.indexOf("Roadmap")).toBeLessThan(deck.indexOf("Risks"));
    expect(await parseDocument("xlsx", FILES.xlsx)).toContain("| Propeller shaft | 4200 |");
  });

  it("reads an e-mail's headers and body, parses a supported attachment and lists the rest", async () => {
    const text = await parseDocument("eml", FILES.eml);
    expect(text).toContain("# Crane inspection");
    expect(text).toContain('From: "Ada Lovelace" <ada@example.org>');
    expect(text).toContain("Date: 2026-12-01T09:30:00.000Z");
    expect(text).toContain("The gantry crane passed its annual inspection.");
    expect(text).toContain(
      "## Attachment: torque.docx\n\n# Torque log\n\nEvery anchor bolt was torqued to spec.",
    );
    expect(text).toContain("## Attachments not indexed\n\n- photo.png (image/png)");
  });

  it("names what is wrong with a corrupt file", async () => {
    const cases: [DocumentKind, Uint8Array, string][] = [
      ["docx", truncated(FILES.docx), "not a readable Word (DOCX) file ("],
      [
        "pptx",
        new TextEncoder().encode("slides, honestly"),
        "not a readable PowerPoint (PPTX) file: it is not a zip archive",
      ],
      ["xlsx", truncated(FILES.xlsx, 400), "not a readable Excel (XLSX) file ("],
      [
        "odt",
        new Uint8Array([0x50, 0x4b, 3, 4, 0, 0]),
        "not a readable OpenDocument text (ODT) file (",
      ],
      [
        "eml",
        new TextEncoder().encode("no headers at all\njust words"),
        "not an e-mail (RFC 822): the file has no header lines",
      ],
    ];
    for (const [kind, bytes, message] of cases) {
      const error = await parseDocument(kind, bytes).catch((e: unknown) => e);
      expect(error, kind).toBeInstanceOf(ParseError);
      expect((error as Error).message, kind).toContain(message);
    }
  });

  it("refuses a zip bomb in the parsing thread, by what it inflates to", async () => {
    // 64 MiB of zeros in a 64 KB zip; the limit is 8 MiB.
    const bomb = bombDocx(64);
    expect(bomb.length).toBeLessThan(200_000);
    await expect(
      parseAndChunk(
        "docx",
        bomb,
        { sizeWords: 200, overlapWords: 20 },
        {
          ...DEFAULT_PARSE_LIMITS,
          maxDecompressedMb: 8,
        },
      ),
    ).rejects.toThrow(
      new ParseError(
        "the document's zip archive expands past the limit of 8 MiB (PARSE_MAX_DECOMPRESSED_MB), or holds too many parts or XML elements",
      ),
    );
  });
});

describe.each(MODES)("uploading office documents and e-mail (%s)", (mode) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime(mode, { PARSE_MAX_DECOMPRESSED_MB: "8" });
  }, 60_000);
  afterAll(async () => {
    await rt?.close();
  });

  const upload = (name: string, type: string, bytes: Uint8Array) => {
    const body = multipart({ name, type, bytes });
    return rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: { ...auth(), ...body.headers },
      payload: body.payload,
    });
  };

  it("indexes each format, and retrieval finds its text", { timeout: 120_000 }, async () => {
    const probes: Record<Format, string> = {
      docx: "turbine output",
      pptx: "storm season welding",
      xlsx: "propeller shaft",
      odt: "lighthouse repair",
      eml: "anchor bolt torqued",
    };
    for (const kind of FORMATS) {
      const res = await upload(`file.${kind}`, "application/octet-stream", FILES[kind]);
      expect(res.statusCode, kind).toBe(202);
      expect(res.json().contentType).toBe(CONTENT_TYPES[kind]);
      await rt.waitReady(res.json().id);
      const found = await rt.app.inject({
        method: "POST",
        url: "/v1/retrieve",
        headers: auth(),
        payload: { question: probes[kind], topK: 1 },
      });
      expect(found.json().retrieved[0]?.documentId, kind).toBe(res.json().id);
    }
  });

  it("refuses a corrupt file or a bomb with 422 and its reason, and stores nothing", async () => {
    const count = async () =>
      (await rt.services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM documents"))[0]!.n;
    const before = await count();
    for (const [name, bytes, reason] of [
      ["cut.docx", truncated(FILES.docx), "not a readable Word (DOCX) file"],
      ["bomb.docx", bombDocx(32), "zip archive expands past the limit of 8 MiB"],
      ["empty.eml", new TextEncoder().encode("words\nand more words"), "not an e-mail"],
    ] as const) {
      const res = await upload(name, "application/octet-stream", bytes);
      expect(res.statusCode, name).toBe(422);
      expect(res.json()).toMatchObject({ error: "unprocessable_document" });
      expect(res.json().message).toContain(reason);
    }
    expect(await count()).toBe(before);
    const ready = await rt.services.db.query<{ status: string }>(
      "SELECT DISTINCT status FROM documents",
    );
    expect(ready).toEqual([{ status: "ready" }]);
  });
});
