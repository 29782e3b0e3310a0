/**
 * Hostile documents made on the spot: a PDF of many pages, a PDF whose compressed stream expands
 * to a flood of zeros, a large text. Built from bytes, so no file is kept in the repository.
 */
import { deflateSync } from "node:zlib";

/** A PDF object's body: a dictionary, or a dictionary with a stream's (already encoded) bytes. */
type PdfObject = string | { readonly dict: string; readonly stream: Uint8Array };

/** Numbers the objects from 1 (the first is the catalog) and writes the cross-reference table. */
export function pdfOf(objects: readonly PdfObject[]): Uint8Array {
  const parts: Buffer[] = [Buffer.from("%PDF-1.4\n")];
  let length = parts[0]!.length;
  const offsets: number[] = [];
  const push = (b: Buffer) => {
    parts.push(b);
    length += b.length;
  };
  objects.forEach((object, i) => {
    offsets.push(length);
    if (typeof object === "string") {
      push(Buffer.from(`${i + 1} 0 obj\n${object}\nendobj\n`));
    } else {
      const dict = object.dict.replace(/>>\s*$/, ` /Length ${object.stream.length} >>`);
      push(Buffer.from(`${i + 1} 0 obj\n${dict}\nstream\n`));
      push(Buffer.from(object.stream));
      push(Buffer.from("\nendstream\nendobj\n"));
    }
  });
  const xref = length;
  const entries = offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("");
  push(
    Buffer.from(
      `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${entries}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`,
    ),
  );
  return new Uint8Array(Buffer.concat(parts));
}

/** A page's content stream that shows `line` in Helvetica. */
function showText(line: string): Uint8Array {
  const escaped = line.replace(/[\\()]/g, (c) => `\\${c}`);
  return Buffer.from(`BT /F1 12 Tf 72 720 Td (${escaped}) Tj ET`);
}

/**
 * A PDF of `pages` pages under one flat page tree, each with a sentence of its own (about 300
 * bytes a page: 20 000 pages make the 6.6 MB of issue 21's bomb).
 */
export function manyPagePdf(pages: number): Uint8Array {
  // Objects: 1 catalog, 2 page tree, 3 font, then per page its dictionary and its content.
  const pageRef = (i: number) => `${4 + 2 * i} 0 R`;
  const objects: PdfObject[] = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    `<< /Type /Pages /Kids [${Array.from({ length: pages }, (_, i) => pageRef(i)).join(" ")}] /Count ${pages} >>`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  for (let i = 0; i < pages; i++) {
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + 2 * i} 0 R >>`,
      {
        dict: "<< >>",
        stream: showText(`Page ${i + 1} of the bomb says something about carbon monoxide.`),
      },
    );
  }
  return pdfOf(objects);
}

/**
 * A one-page PDF whose content stream, a few hundred kilobytes compressed (FlateDecode), expands
 * to `expandedBytes` of zeros after a line of text.
 */
export function flateBombPdf(expandedBytes: number): Uint8Array {
  const text = Buffer.from(showText("A page whose content stream is mostly zeros."));
  const zeros = Buffer.alloc(expandedBytes - text.length - 1);
  return pdfOf([
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
    {
      dict: "<< /Filter /FlateDecode >>",
      stream: deflateSync(Buffer.concat([text, Buffer.from("\n"), zeros]), { level: 9 }),
    },
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ]);
}

/** About `bytes` of plain prose: sentences in paragraphs, as a long report would be. */
export function largeText(bytes: number): Uint8Array {
  const sentence = (i: number) =>
    `Sentence ${i} of a very long report mentions carbon monoxide and miners' canaries. `;
  const paragraphs: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const paragraph = Array.from({ length: 8 }, (_, j) => sentence(i * 8 + j)).join("");
    paragraphs.push(paragraph);
    size += paragraph.length + 2;
  }
  return new TextEncoder().encode(paragraphs.join("\n\n"));
}
