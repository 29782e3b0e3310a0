/**
 * Parsing in a thread of its own: the same chunks as in the process, a ParseError still a
 * ParseError, and a thread that runs out of heap or time stopped with the limit named.
 */
import { describe, expect, it } from "vitest";
import { chunkText } from "../../src/ingest/chunk";
import { ParseError, parseDocument } from "../../src/ingest/parse";
import { DEFAULT_PARSE_LIMITS } from "../../src/ingest/parse-limits";
import { parseAndChunk, validateDocument } from "../../src/ingest/parse-thread";
import { blankPdf, paper } from "../support";
import { manyPagePdf } from "./bombs";

const chunking = { sizeWords: 256, overlapWords: 40 };
const limits = DEFAULT_PARSE_LIMITS;

describe("parsing in a thread", () => {
  it("gives the chunks parsing in the process gives", async () => {
    const bert = paper("bert.pdf");
    const inProcess = chunkText(await parseDocument("pdf", bert), chunking);
    expect(await parseAndChunk("pdf", bert, chunking)).toEqual(inProcess);
  });

  it("hands back a document's reason as a ParseError, at upload and when parsed", async () => {
    const noText = parseAndChunk("pdf", blankPdf(), chunking);
    await expect(noText).rejects.toBeInstanceOf(ParseError);
    await expect(noText).rejects.toThrow("the PDF has no text layer");
    const corrupt = validateDocument("pdf", new TextEncoder().encode("%PDF-1.4 nonsense"));
    await expect(corrupt).rejects.toBeInstanceOf(ParseError);
    await expect(corrupt).rejects.toThrow(/^not a readable PDF/);
    await expect(validateDocument("pdf", paper("bert.pdf"))).resolves.toBeUndefined();
    await expect(validateDocument("text", new Uint8Array([0x20, 0x0a]))).rejects.toThrow(
      "the document contains no text",
    );
  });

  it("stops a thread past PARSE_MAX_MEMORY_MB", async () => {
    // 12.6 MB of two-byte text: its string alone is about 25 MB, and chunking copies it.
    const umlauts = new TextEncoder().encode("Grüße über Köln. ".repeat(600_000));
    const tight = { ...limits, maxChars: 100_000_000, maxMemoryMb: 64 };
    const parsing = parseAndChunk("text", umlauts, chunking, tight);
    await expect(parsing).rejects.toBeInstanceOf(ParseError);
    await expect(parsing).rejects.toThrow(
      "parsing the document needed more memory than the limit of 64 MiB (PARSE_MAX_MEMORY_MB)",
    );
    expect(await parseAndChunk("text", umlauts, chunking, { ...tight, maxMemoryMb: 512 })).toEqual(
      expect.arrayContaining([expect.objectContaining({ ordinal: 0 })]),
    );
  });

  it("stops a thread past PARSE_TIMEOUT_SECONDS", async () => {
    // PDF.js looks each page up from the first of a flat page tree: 6 000 pages take seconds.
    const parsing = parseAndChunk("pdf", manyPagePdf(6000), chunking, {
      ...limits,
      maxPages: 6000,
      timeoutSeconds: 1,
    });
    await expect(parsing).rejects.toBeInstanceOf(ParseError);
    await expect(parsing).rejects.toThrow(
      "parsing the document took longer than the limit of 1 s (PARSE_TIMEOUT_SECONDS)",
    );
  });
});
