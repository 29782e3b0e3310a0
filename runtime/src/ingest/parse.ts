/**
 * Document parsing: PDF (text layer, per page), HTML (to text with headings kept as Markdown
 * headings), Markdown and plain text. Output is Markdown-flavoured text the chunker splits on
 * structure. Bad input raises ParseError with a message a client can act on.
 */

export const CONTENT_TYPES = {
  pdf: "application/pdf",
  html: "text/html",
  markdown: "text/markdown",
  text: "text/plain",
} as const;
export type DocumentKind = keyof typeof CONTENT_TYPES;

export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParseError";
  }
}

/** Decides the kind from the declared content type, the file name and the leading bytes. */
export function detectKind(
  contentType: string | undefined,
  fileName: string | undefined,
  bytes: Uint8Array,
): DocumentKind {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const ext = (fileName ?? "").toLowerCase().split(".").pop() ?? "";
  const head = Buffer.from(bytes.subarray(0, 5)).toString("latin1");
  if (type === "application/pdf" || ext === "pdf" || head === "%PDF-") return "pdf";
  if (type === "text/html" || type === "application/xhtml+xml" || ext === "html" || ext === "htm")
    return "html";
  if (type === "text/markdown" || type === "text/x-markdown" || ext === "md" || ext === "markdown")
    return "markdown";
  if (
    type === "text/plain" ||
    ext === "txt" ||
    ((type === "" || type === "application/octet-stream") && isText(bytes))
  )
    return "text";
  throw new ParseError(
    `unsupported content type "${type || "unknown"}"${fileName ? ` for ${fileName}` : ""}: send PDF, HTML, Markdown or plain text`,
  );
}

/** The encoding a byte-order mark announces (Windows tools write UTF-16 with one); else UTF-8. */
function encodingOf(bytes: Uint8Array): "utf-8" | "utf-16le" | "utf-16be" {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  return "utf-8";
}

function isText(bytes: Uint8Array): boolean {
  // Streaming, so a character cut at the sample's end is not taken for a bad byte.
  const sample = new TextDecoder(encodingOf(bytes)).decode(bytes.subarray(0, 4096), {
    stream: true,
  });
  return !sample.includes("\u0000") && !sample.includes("\uFFFD");
}

/** Text in UTF-8, or in UTF-16 after its byte-order mark; the decoder drops any byte-order mark. */
function decodeText(bytes: Uint8Array): string {
  const text = new TextDecoder(encodingOf(bytes)).decode(bytes);
  if (text.includes("\u0000"))
    throw new ParseError("the file contains binary data; it is not text");
  return text;
}

/** Joins words hyphenated across line breaks and collapses layout whitespace. */
export function cleanPdfText(page: string): string {
  return page
    .normalize("NFKC")
    .replace(/(\p{Ll})-\n(\p{Ll})/gu, "$1$2")
    .replace(/[ \t]+\n/g, "\n")
    .replace(/[ \t]{2,}/g, " ");
}

async function parsePdf(bytes: Uint8Array): Promise<string> {
  const { extractText, getDocumentProxy } = await import("unpdf");
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
  } catch (error) {
    throw new ParseError(`not a readable PDF (${(error as Error).message})`);
  }
  const { text } = await extractText(pdf, { mergePages: false });
  const pages = text.map(cleanPdfText);
  if (pages.join("").trim().length === 0)
    throw new ParseError("the PDF has no text layer (scanned images need OCR first)");
  return pages.join("\n\n");
}

async function parseHtml(bytes: Uint8Array): Promise<string> {
  const { convert } = await import("html-to-text");
  const level = (tag: string | undefined) => Number((tag ?? "h1").slice(1));
  return convert(decodeText(bytes), {
    wordwrap: false,
    // Headings become Markdown headings so the chunker keeps the document's structure.
    formatters: {
      markdownHeading: (elem, walk, builder) => {
        builder.openBlock({ leadingLineBreaks: 2 });
        builder.addInline(`${"#".repeat(level(elem.name))} `);
        walk(elem.children, builder);
        builder.closeBlock({ trailingLineBreaks: 2 });
      },
    },
    selectors: [
      ...["h1", "h2", "h3", "h4", "h5", "h6"].map((selector) => ({
        selector,
        format: "markdownHeading",
      })),
      { selector: "a", options: { ignoreHref: true } },
      { selector: "img", format: "skip" },
      { selector: "nav", format: "skip" },
    ],
  });
}

/** Parses a document into text; throws ParseError when it cannot. */
export async function parseDocument(kind: DocumentKind, bytes: Uint8Array): Promise<string> {
  if (bytes.length === 0) throw new ParseError("the file is empty");
  let text: string;
  switch (kind) {
    case "pdf":
      text = await parsePdf(bytes);
      break;
    case "html":
      text = await parseHtml(bytes);
      break;
    case "markdown":
    case "text":
      text = decodeText(bytes);
      break;
    default: {
      const unreachable: never = kind;
      throw new ParseError(`unsupported kind ${String(unreachable)}`);
    }
  }
  if (text.trim().length === 0) throw new ParseError("the document contains no text");
  return text;
}

/**
 * A quick check at upload, so a client learns at once that a file cannot be read (a corrupt
 * PDF, binary data posing as text) instead of finding a failed document later.
 */
export async function validateDocument(kind: DocumentKind, bytes: Uint8Array): Promise<void> {
  if (bytes.length === 0) throw new ParseError("the file is empty");
  if (kind !== "pdf") {
    if (decodeText(bytes).trim().length === 0)
      throw new ParseError("the document contains no text");
    return;
  }
  if (Buffer.from(bytes.subarray(0, 5)).toString("latin1") !== "%PDF-")
    throw new ParseError("not a PDF: the file does not start with %PDF-");
  const { getDocumentProxy } = await import("unpdf");
  try {
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    if (pdf.numPages === 0) throw new ParseError("the PDF has no pages");
    await pdf.destroy();
  } catch (error) {
    if (error instanceof ParseError) throw error;
    throw new ParseError(`not a readable PDF (${(error as Error).message})`);
  }
}
