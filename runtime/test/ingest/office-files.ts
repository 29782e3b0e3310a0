/**
 * Small office documents and e-mails made on the spot (zip archives written with fflate, the
 * smallest set of parts each format's readers need), and broken ones: no file kept in the repository.
 */
import { strToU8, zipSync, type Zippable } from "fflate";

const XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';
const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships";

function zip(files: Record<string, string | Uint8Array>): Uint8Array {
  const entries: Zippable = {};
  for (const [name, content] of Object.entries(files))
    entries[name] = typeof content === "string" ? strToU8(content) : content;
  return zipSync(entries);
}

function contentTypes(overrides: Record<string, string>): string {
  return `${XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>${Object.entries(
    overrides,
  )
    .map(([part, type]) => `<Override PartName="${part}" ContentType="${type}"/>`)
    .join("")}</Types>`;
}

function rels(targets: Record<string, [type: string, target: string]>): string {
  return `${XML}<Relationships xmlns="${PKG_REL}">${Object.entries(targets)
    .map(
      ([id, [type, target]]) =>
        `<Relationship Id="${id}" Type="${REL}/${type}" Target="${target}"/>`,
    )
    .join("")}</Relationships>`;
}

/** A Word document: a Heading 1, then one paragraph per entry of `paragraphs`. */
export function docx(heading: string, paragraphs: readonly string[]): Uint8Array {
  const p = (text: string, style?: string) =>
    `<w:p>${style ? `<w:pPr><w:pStyle w:val="${style}"/></w:pPr>` : ""}<w:r><w:t xml:space="preserve">${escape(text)}</w:t></w:r></w:p>`;
  return zip({
    "[Content_Types].xml": contentTypes({
      "/word/document.xml":
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    }),
    "_rels/.rels": rels({ rId1: ["officeDocument", "word/document.xml"] }),
    "word/document.xml": `${XML}<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${p(heading, "Heading1")}${paragraphs.map((t) => p(t)).join("")}</w:body></w:document>`,
  });
}

/** An Excel workbook of one sheet named `sheet`, its rows of inline strings. */
export function xlsx(sheet: string, rows: readonly (readonly string[])[]): Uint8Array {
  const column = (i: number) => String.fromCharCode(65 + i);
  const sheetData = rows
    .map(
      (row, r) =>
        `<row r="${r + 1}">${row.map((v, c) => `<c r="${column(c)}${r + 1}" t="inlineStr"><is><t>${escape(v)}</t></is></c>`).join("")}</row>`,
    )
    .join("");
  return zip({
    "[Content_Types].xml": contentTypes({
      "/xl/workbook.xml":
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
      "/xl/worksheets/sheet1.xml":
        "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
    }),
    "_rels/.rels": rels({ rId1: ["officeDocument", "xl/workbook.xml"] }),
    "xl/workbook.xml": `${XML}<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="${REL}"><sheets><sheet name="${escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    "xl/_rels/workbook.xml.rels": rels({ rId1: ["worksheet", "worksheets/sheet1.xml"] }),
    "xl/worksheets/sheet1.xml": `${XML}<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${sheetData}</sheetData></worksheet>`,
  });
}

/** A PowerPoint deck, one slide per entry, each slide one text box of its lines. */
export function pptx(slides: readonly (readonly string[])[]): Uint8Array {
  const files: Record<string, string> = {
    "_rels/.rels": rels({ rId1: ["officeDocument", "ppt/presentation.xml"] }),
  };
  const overrides: Record<string, string> = {
    "/ppt/presentation.xml":
      "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
  };
  const slideRels: Record<string, [string, string]> = {};
  slides.forEach((lines, i) => {
    const n = i + 1;
    overrides[`/ppt/slides/slide${n}.xml`] =
      "application/vnd.openxmlformats-officedocument.presentationml.slide+xml";
    slideRels[`rId${n + 1}`] = ["slide", `slides/slide${n}.xml`];
    files[`ppt/slides/slide${n}.xml`] =
      `${XML}<p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree><p:sp><p:txBody><a:bodyPr/>${lines.map((l) => `<a:p><a:r><a:t>${escape(l)}</a:t></a:r></a:p>`).join("")}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>`;
  });
  files["[Content_Types].xml"] = contentTypes(overrides);
  files["ppt/presentation.xml"] =
    `${XML}<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:r="${REL}"><p:sldIdLst>${slides.map((_, i) => `<p:sldId id="${256 + i}" r:id="rId${i + 2}"/>`).join("")}</p:sldIdLst></p:presentation>`;
  files["ppt/_rels/presentation.xml.rels"] = rels(slideRels);
  return zip(files);
}

/** An OpenDocument text: a heading, then paragraphs. */
export function odt(heading: string, paragraphs: readonly string[]): Uint8Array {
  return zip({
    mimetype: "application/vnd.oasis.opendocument.text",
    "META-INF/manifest.xml": `${XML}<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>`,
    "content.xml": `${XML}<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:text><text:h text:outline-level="1">${escape(heading)}</text:h>${paragraphs.map((p) => `<text:p>${escape(p)}</text:p>`).join("")}</office:text></office:body></office:document-content>`,
  });
}

/** A zip whose one part inflates to `mib` MiB of zeros (a zip bomb, in a DOCX's clothes). */
export function bombDocx(mib: number): Uint8Array {
  return zip({
    "[Content_Types].xml": contentTypes({}),
    "_rels/.rels": rels({ rId1: ["officeDocument", "word/document.xml"] }),
    "word/document.xml": new Uint8Array(mib * 1024 * 1024),
  });
}

/** A document cut short: its first `bytes` bytes. */
export const truncated = (file: Uint8Array, bytes = 200) => file.subarray(0, bytes);

/** An e-mail: text body, and attachments (name, type, bytes) as base64 MIME parts. */
export function eml(
  subject: string,
  body: string,
  attachments: readonly { name: string; type: string; bytes: Uint8Array }[] = [],
): Uint8Array {
  const boundary = "=_rag_test_boundary";
  const head = [
    "From: Ada Lovelace <ada@example.org>",
    "To: Charles Babbage <charles@example.org>",
    `Subject: ${subject}`,
    "Date: Tue, 01 Dec 2026 09:30:00 +0000",
    "MIME-Version: 1.0",
  ];
  if (attachments.length === 0)
    return strToU8([...head, "Content-Type: text/plain; charset=utf-8", "", body, ""].join("\r\n"));
  const parts = [
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "",
    body,
    ...attachments.flatMap((a) => [
      `--${boundary}`,
      `Content-Type: ${a.type}; name="${a.name}"`,
      `Content-Disposition: attachment; filename="${a.name}"`,
      "Content-Transfer-Encoding: base64",
      "",
      Buffer.from(a.bytes).toString("base64").replace(/.{76}/g, "$&\r\n"),
    ]),
    `--${boundary}--`,
    "",
  ];
  return strToU8(
    [...head, `Content-Type: multipart/mixed; boundary="${boundary}"`, "", ...parts].join("\r\n"),
  );
}
