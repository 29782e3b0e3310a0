/**
 * Office documents (DOCX, PPTX, XLSX, ODT) through officeparser, and e-mail (EML) through
 * mailparser. Both run in the parsing thread (parse-thread.ts) under its heap and time limits.
 *
 * Office files are zip archives: officeparser counts the bytes it actually inflates (not the sizes
 * the archive declares) and stops past PARSE_MAX_DECOMPRESSED_MB, so a zip bomb fails its
 * document; it also bounds the entries, XML elements and table cells one archive may yield.
 */
import { ParseError } from "./parse-error";
import { exceeded, type ParseLimits } from "./parse-limits";

export const OFFICE_KINDS = ["docx", "pptx", "xlsx", "odt"] as const;
export type OfficeKind = (typeof OFFICE_KINDS)[number];

const MIB = 1024 * 1024;

/** officeparser's errors that say the archive would expand past its limits. */
const BOMB_CODES = new Set([
  "ZIP_SIZE_LIMIT_EXCEEDED",
  "ZIP_ENTRY_COUNT_LIMIT_EXCEEDED",
  "XML_ELEMENT_LIMIT_EXCEEDED",
  "MAX_NESTING_DEPTH_EXCEEDED",
]);

const NAMES: Record<OfficeKind, string> = {
  docx: "Word (DOCX)",
  pptx: "PowerPoint (PPTX)",
  xlsx: "Excel (XLSX)",
  odt: "OpenDocument text (ODT)",
};

/** The officeparser message without its "[OfficeParser]: " header. */
const reasonOf = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).replace(/^\[OfficeParser\]:\s*/, "");

/** An office document's text, as Markdown (headings kept, for the chunker). */
export async function parseOffice(
  kind: OfficeKind,
  bytes: Uint8Array,
  limits: ParseLimits,
): Promise<string> {
  if (bytes[0] !== 0x50 || bytes[1] !== 0x4b)
    throw new ParseError(`not a readable ${NAMES[kind]} file: it is not a zip archive`);
  const { parseOffice: parse } = await import("officeparser");
  let ast: Awaited<ReturnType<typeof parse>>;
  try {
    ast = await parse(Buffer.from(bytes), {
      fileType: kind,
      decompressionLimits: { maxUncompressedBytes: limits.maxDecompressedMb * MIB },
      extractAttachments: false,
      ocr: false,
      onWarning: () => undefined,
    });
  } catch (error) {
    const code = (error as { officeIssue?: { code?: string } }).officeIssue?.code;
    if (code && BOMB_CODES.has(code)) throw exceeded.archive(limits);
    throw new ParseError(`not a readable ${NAMES[kind]} file (${reasonOf(error)})`);
  }
  // CommonMark without HTML: no heading ids, no tags, for the chunker and BM25.
  const markdown = await ast.to("md", {
    generateIds: false,
    ignoreInternalLinks: true,
    includeFormatting: false,
    mdConfig: { dialect: "github", fallbackToHtml: false },
  });
  return String(markdown.value);
}
