import { describe, expect, it } from "vitest";
import {
  checkPdf,
  checkText,
  cleanPdfText,
  detectKind,
  ParseError,
  parseDocument,
} from "../../src/ingest/parse";
import { DEFAULT_PARSE_LIMITS } from "../../src/ingest/parse-limits";
import { blankPdf, paper } from "../support";
import { flateBombPdf, largeText, manyPagePdf } from "./bombs";

const bytes = (s: string) => new TextEncoder().encode(s);
/** `s` in UTF-16 after its byte-order mark, as Windows tools save text. */
const utf16 = (s: string, order: "le" | "be") => {
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, "utf16le")]);
  return new Uint8Array(order === "le" ? le : Buffer.from(le).swap16());
};

describe("detecting the kind", () => {
  it("uses the declared type, the extension, then the bytes", () => {
    expect(detectKind("application/pdf", "x", bytes("a"))).toBe("pdf");
    expect(detectKind(undefined, "notes.md", bytes("a"))).toBe("markdown");
    expect(detectKind("application/octet-stream", "blob", bytes("%PDF-1.7"))).toBe("pdf");
    expect(detectKind("text/html; charset=utf-8", undefined, bytes("<p>x</p>"))).toBe("html");
    expect(detectKind("application/octet-stream", "data", bytes("plain words"))).toBe("text");
  });

  it("names what it cannot take", () => {
    expect(() => detectKind("image/png", "a.png", new Uint8Array([0x89, 0x50, 0, 0]))).toThrow(
      new ParseError(
        'unsupported content type "image/png" for a.png: send PDF, HTML, Markdown, plain text, DOCX, PPTX, XLSX, ODT or EML',
      ),
    );
  });
});

describe("text encodings", () => {
  const note = "Grüße aus Köln: 10 µm, naïve café — ünïcödé ✓ 😀";

  it("reads UTF-16 after its byte-order mark, little- or big-endian", async () => {
    for (const order of ["le", "be"] as const) {
      expect(detectKind("application/octet-stream", "note", utf16(note, order))).toBe("text");
      expect(detectKind(undefined, undefined, utf16(note, order))).toBe("text");
      expect(await parseDocument("text", utf16(note, order))).toBe(note);
      expect(await parseDocument("markdown", utf16(`# Title\n\n${note}`, order))).toBe(
        `# Title\n\n${note}`,
      );
      expect(() => checkText(utf16(note, order))).not.toThrow();
    }
    const html = await parseDocument("html", utf16(`<h1>Title</h1><p>${note}</p>`, "le"));
    expect(html).toContain("# Title");
    expect(html).toContain(note);
  });

  it("drops a UTF-8 byte-order mark", async () => {
    const marked = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes(note)]);
    expect(detectKind("application/octet-stream", "note", marked)).toBe("text");
    expect(await parseDocument("text", marked)).toBe(note);
  });

  it("takes a character cut at the sniffed sample's end for text", () => {
    // "ü" is two bytes in UTF-8; its first byte is the 4096th of the file.
    const cut = bytes(`${"a".repeat(4095)}ü and more`);
    expect(detectKind("application/octet-stream", "data", cut)).toBe("text");
  });

  it("still refuses UTF-16 without a byte-order mark, and binary data, as not text", async () => {
    const unmarked = new Uint8Array(Buffer.from(note, "utf16le"));
    expect(() => detectKind("application/octet-stream", "note", unmarked)).toThrow(ParseError);
    await expect(parseDocument("text", unmarked)).rejects.toThrow("binary data");
  });
});

describe("parsing", () => {
  it("extracts a real paper's text layer, joining hyphenated line breaks", async () => {
    const text = await parseDocument("pdf", paper("bert.pdf"));
    expect(text).toContain("BERT: Pre-training of Deep Bidirectional Transformers");
    expect(text).toContain("Masked LM");
    expect(cleanPdfText("representa-\ntion and ﬁne-tuning")).toBe("representation and fine-tuning");
  });

  it("turns HTML headings into Markdown headings and drops scripts", async () => {
    const text = await parseDocument(
      "html",
      bytes(
        "<html><head><script>alert(1)</script></head><body><h2>Results</h2><p>It <b>works</b>.</p></body></html>",
      ),
    );
    expect(text).toContain("## Results");
    expect(text).toContain("It works.");
    expect(text).not.toContain("alert");
  });

  it("refuses empty, binary and text-less documents with a clear reason", async () => {
    await expect(parseDocument("text", new Uint8Array())).rejects.toThrow("the file is empty");
    await expect(parseDocument("text", bytes("a\u0000b"))).rejects.toThrow("binary data");
    await expect(parseDocument("pdf", blankPdf())).rejects.toThrow("the PDF has no text layer");
    await expect(checkPdf(bytes("%PDF-1.4 nonsense"))).rejects.toThrow(/not a readable PDF/);
    await expect(checkPdf(bytes("hello"))).rejects.toThrow(
      "not a PDF: the file does not start with %PDF-",
    );
    await expect(checkPdf(blankPdf())).resolves.toBeUndefined();
  });
});

describe("limits, each failing with the variable that sets it", () => {
  const limits = DEFAULT_PARSE_LIMITS;

  it("reads every page of a long PDF, and refuses more pages than PARSE_MAX_PAGES", async () => {
    const pdf = manyPagePdf(301);
    const text = await parseDocument("pdf", pdf, { ...limits, maxPages: 301 });
    expect(text).toContain("Page 1 of the bomb");
    expect(text).toContain("Page 301 of the bomb");
    const over = new ParseError("the PDF has 301 pages, over the limit of 300 (PARSE_MAX_PAGES)");
    await expect(checkPdf(pdf, { ...limits, maxPages: 300 })).rejects.toThrow(over);
    await expect(parseDocument("pdf", pdf, { ...limits, maxPages: 300 })).rejects.toThrow(over);
  });

  it("refuses text longer than PARSE_MAX_CHARS, from any kind of document", async () => {
    const over = new ParseError(
      "the document's text runs past the limit of 5000 characters (PARSE_MAX_CHARS)",
    );
    const tight = { ...limits, maxChars: 5000 };
    const prose = new TextDecoder().decode(largeText(6000));
    await expect(parseDocument("text", bytes(prose), tight)).rejects.toThrow(over);
    await expect(parseDocument("markdown", bytes(prose), tight)).rejects.toThrow(over);
    await expect(parseDocument("html", bytes(`<p>${prose}</p>`), tight)).rejects.toThrow(over);
    await expect(parseDocument("pdf", manyPagePdf(100), tight)).rejects.toThrow(over);
    await expect(parseDocument("text", bytes(prose.slice(0, 5000)), tight)).resolves.toHaveLength(
      5000,
    );
  });

  it("refuses a PDF whose stream expands past PARSE_MAX_DECOMPRESSED_MB before PDF.js reads it", async () => {
    const bomb = flateBombPdf(16 * 1024 * 1024);
    const over = new ParseError(
      "a compressed stream of the PDF expands past the limit of 8 MiB (PARSE_MAX_DECOMPRESSED_MB)",
    );
    const tight = { ...limits, maxDecompressedMb: 8 };
    await expect(checkPdf(bomb, tight)).rejects.toThrow(over);
    await expect(parseDocument("pdf", bomb, tight)).rejects.toThrow(over);
    expect(await parseDocument("pdf", bomb, { ...limits, maxDecompressedMb: 16 })).toContain(
      "mostly zeros",
    );
  });
});
