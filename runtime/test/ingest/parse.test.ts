import { describe, expect, it } from "vitest";
import {
  cleanPdfText,
  detectKind,
  ParseError,
  parseDocument,
  validateDocument,
} from "../../src/ingest/parse";
import { blankPdf, paper } from "../support";

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
        'unsupported content type "image/png" for a.png: send PDF, HTML, Markdown or plain text',
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
      await expect(validateDocument("text", utf16(note, order))).resolves.toBeUndefined();
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
    await expect(validateDocument("pdf", bytes("%PDF-1.4 nonsense"))).rejects.toThrow(
      /not a readable PDF/,
    );
    await expect(validateDocument("pdf", bytes("hello"))).rejects.toThrow(
      "not a PDF: the file does not start with %PDF-",
    );
    await expect(validateDocument("pdf", blankPdf())).resolves.toBeUndefined();
  });
});
