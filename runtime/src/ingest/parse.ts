/**
 * Document parsing: PDF (text layer, per page), HTML (to text with headings kept as Markdown
 * headings), Markdown, plain text, office documents (DOCX, PPTX, XLSX, ODT: office.ts) and e-mail
 * (EML: email.ts). Output is Markdown-flavoured text the chunker splits on
 * structure. Bad input raises ParseError with a message a client can act on, and so does a
 * document past a limit (parse-limits.ts). This runs in a parsing thread (parse-thread.ts).
 */
import { parseEmail } from "./email";
import { type OfficeKind, parseOffice } from "./office";
import { ParseError } from "./parse-error";
import { DEFAULT_PARSE_LIMITS, exceeded, type ParseLimits } from "./parse-limits";
import { largestStreamBytes } from "./pdf-streams";

export { ParseError };

export const CONTENT_TYPES = {
  pdf: "application/pdf",
  html: "text/html",
  markdown: "text/markdown",
  text: "text/plain",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  odt: "application/vnd.oasis.opendocument.text",
  eml: "message/rfc822",
} as const;
export type DocumentKind = keyof typeof CONTENT_TYPES;

/** What an upload may be, for messages. */
export const SUPPORTED = "PDF, HTML, Markdown, plain text, DOCX, PPTX, XLSX, ODT or EML";

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
  for (const kind of ["docx", "pptx", "xlsx", "odt"] as const)
    if (type === CONTENT_TYPES[kind] || ext === kind) return kind;
  if (type === "message/rfc822" || ext === "eml") return "eml";
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
    `unsupported content type "${type || "unknown"}"${fileName ? ` for ${fileName}` : ""}: send ${SUPPORTED}`,
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

type Pdf = Awaited<ReturnType<(typeof import("unpdf"))["getDocumentProxy"]>>;

const MIB = 1024 * 1024;

/** Opens a PDF with PDF.js, once none of its streams expands past the limit. */
async function openPdf(bytes: Uint8Array, limits: ParseLimits): Promise<Pdf> {
  if ((await largestStreamBytes(bytes, limits.maxDecompressedMb * MIB)) === Infinity)
    throw exceeded.decompressed(limits);
  const { getDocumentProxy } = await import("unpdf");
  try {
    return await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
  } catch (error) {
    throw new ParseError(`not a readable PDF (${(error as Error).message})`);
  }
}

async function pageText(pdf: Pdf, number: number): Promise<string> {
  try {
    const page = await pdf.getPage(number);
    const content = await page.getTextContent();
    page.cleanup();
    return content.items
      .map((item) => ("str" in item ? item.str + (item.hasEOL ? "\n" : "") : ""))
      .join("");
  } catch (error) {
    throw new ParseError(`page ${number} of the PDF cannot be read (${(error as Error).message})`);
  }
}

async function parsePdf(bytes: Uint8Array, limits: ParseLimits): Promise<string> {
  const pdf = await openPdf(bytes, limits);
  try {
    if (pdf.numPages > limits.maxPages) throw exceeded.pages(pdf.numPages, limits);
    // Page after page, each let go once read: all pages at once (unpdf's extractText) held every
    // page's text items together, 4 GB for a PDF of 20 000 pages.
    const pages: string[] = [];
    let chars = 0;
    for (let number = 1; number <= pdf.numPages; number++) {
      const text = cleanPdfText(await pageText(pdf, number));
      chars += text.length;
      if (chars > limits.maxChars) throw exceeded.chars(limits);
      pages.push(text);
    }
    if (pages.every((page) => page.trim().length === 0))
      throw new ParseError("the PDF has no text layer (scanned images need OCR first)");
    return pages.join("\n\n");
  } finally {
    await pdf.destroy();
  }
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

/**
 * An e-mail attachment's text when it is a kind the service parses (an e-mail inside an e-mail is
 * not opened: named as not indexed); undefined otherwise.
 */
function attachmentParser(limits: ParseLimits) {
  return async (fileName: string | undefined, contentType: string, bytes: Uint8Array) => {
    let kind: DocumentKind;
    try {
      kind = detectKind(contentType, fileName, bytes);
    } catch {
      return undefined;
    }
    return kind === "eml" ? undefined : parseDocument(kind, bytes, limits);
  };
}

/** Parses a document into text; throws ParseError when it cannot, or when it is past a limit. */
export async function parseDocument(
  kind: DocumentKind,
  bytes: Uint8Array,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): Promise<string> {
  if (bytes.length === 0) throw new ParseError("the file is empty");
  let text: string;
  switch (kind) {
    case "pdf":
      text = await parsePdf(bytes, limits);
      break;
    case "html":
      text = await parseHtml(bytes);
      break;
    case "markdown":
    case "text":
      text = decodeText(bytes);
      break;
    case "docx":
    case "pptx":
    case "xlsx":
    case "odt":
      text = await parseOffice(kind satisfies OfficeKind, bytes, limits);
      break;
    case "eml":
      text = await parseEmail(bytes, attachmentParser(limits));
      break;
    default: {
      const unreachable: never = kind;
      throw new ParseError(`unsupported kind ${String(unreachable)}`);
    }
  }
  if (text.length > limits.maxChars) throw exceeded.chars(limits);
  if (!/\S/.test(text)) throw new ParseError("the document contains no text");
  return text;
}

/** The upload's check of text: it decodes, and holds some. */
export function checkText(bytes: Uint8Array): void {
  if (bytes.length === 0) throw new ParseError("the file is empty");
  if (!/\S/.test(decodeText(bytes))) throw new ParseError("the document contains no text");
}

/** The upload's check of a PDF: it opens within the limits, and has pages, not too many. */
export async function checkPdf(
  bytes: Uint8Array,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): Promise<void> {
  if (bytes.length === 0) throw new ParseError("the file is empty");
  if (Buffer.from(bytes.subarray(0, 5)).toString("latin1") !== "%PDF-")
    throw new ParseError("not a PDF: the file does not start with %PDF-");
  const pdf = await openPdf(bytes, limits);
  try {
    if (pdf.numPages === 0) throw new ParseError("the PDF has no pages");
    if (pdf.numPages > limits.maxPages) throw exceeded.pages(pdf.numPages, limits);
  } finally {
    await pdf.destroy();
  }
}
