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
