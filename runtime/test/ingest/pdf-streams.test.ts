import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { largestStreamBytes } from "../../src/ingest/pdf-streams";
import { paper } from "../support";
import { flateBombPdf, pdfOf } from "./bombs";

const MIB = 1024 * 1024;

/** A PDF holding one stream object with `dict` and the bytes `stream`, besides a catalog. */
const withStream = (dict: string, stream: Uint8Array) =>
  pdfOf(["<< /Type /Catalog /Pages 2 0 R >>", { dict, stream }]);

describe("how far a PDF's compressed streams expand", () => {
  it("measures a real paper's largest stream, far below the default limit", async () => {
    const largest = await largestStreamBytes(paper("bert.pdf"), 256 * MIB);
    expect(largest).toBeGreaterThan(10_000);
    expect(largest).toBeLessThan(MIB);
  });

  it("stops a stream of zeros at the limit, and gives its size under a higher one", async () => {
    const bomb = flateBombPdf(64 * MIB);
    expect(bomb.length).toBeLessThan(MIB / 4);
    expect(await largestStreamBytes(bomb, 8 * MIB)).toBe(Infinity);
    expect(await largestStreamBytes(bomb, 65 * MIB)).toBe(64 * MIB);
  });

  it("follows zlib inside zlib, as PDF.js follows a chain of FlateDecode filters", async () => {
    const twice = deflateSync(deflateSync(Buffer.alloc(32 * MIB)));
    expect(twice.length).toBeLessThan(1000);
    const pdf = withStream("<< /Filter [/FlateDecode /FlateDecode] >>", twice);
    expect(await largestStreamBytes(pdf, 8 * MIB)).toBe(Infinity);
  });

  it("reads a stream whatever its dictionary says: a filter behind a reference, a lying length", async () => {
    const zeros = deflateSync(Buffer.alloc(16 * MIB));
    const hidden = withStream("<< /Filter 9 0 R >>", zeros);
    expect(await largestStreamBytes(hidden, 8 * MIB)).toBe(Infinity);
    const lying = Buffer.from(withStream("<< >>", zeros)).toString("latin1");
    const cut = lying.replace(`/Length ${zeros.length}`, "/Length 10");
    expect(await largestStreamBytes(Buffer.from(cut, "latin1"), 8 * MIB)).toBe(Infinity);
  });

  it("counts what a stream cut short gives, as PDF.js decodes it", async () => {
    const zeros = deflateSync(Buffer.alloc(16 * MIB));
    const truncated = withStream("<< /Filter /FlateDecode >>", zeros.subarray(0, zeros.length / 2));
    expect(await largestStreamBytes(truncated, 16 * MIB)).toBeGreaterThan(7 * MIB);
    expect(await largestStreamBytes(truncated, 4 * MIB)).toBe(Infinity);
  });

  it("takes streams that are not zlib data for what PDF.js makes of them: nothing to inflate", async () => {
    const plain = withStream("<< >>", Buffer.from("BT /F1 12 Tf (stream of text) Tj ET"));
    expect(await largestStreamBytes(plain, MIB)).toBe(0);
  });
});
