/**
 * How far a PDF's compressed streams expand, measured before PDF.js reads them. PDF.js inflates a
 * stream whole into typed arrays, which live outside the JavaScript heap and so outside any heap
 * limit: a megabyte of FlateDecode zeros becomes a gigabyte. PDF.js's FlateDecode takes zlib data
 * only (it checks the header), so that is what is looked for. Inflated bytes are counted as they
 * come and dropped, so measuring holds little memory itself.
 */
import { Readable } from "node:stream";
import { constants, createInflate } from "node:zlib";

const STREAM = Buffer.from("stream");
const END = Buffer.from("end");
/** zlib inside zlib this deep is a bomb, not a document: PDF writers compress once. */
const MAX_LAYERS = 8;

/** The two bytes that open zlib data, as PDF.js checks them: deflate, a valid check, no preset dictionary. */
function opensZlib(data: Uint8Array): boolean {
  const [cmf, flg] = [data[0], data[1]];
  if (cmf === undefined || flg === undefined) return false;
  return (cmf & 0x0f) === 8 && ((cmf << 8) | flg) % 31 === 0 && (flg & 0x20) === 0;
}

/**
 * What `input` inflates to, chunk by chunk. Input cut short gives what it holds, and so does
 * input that turns bad further on (PDF.js has decoded that much by then); data after the end
 * of the zlib data is left alone.
 */
async function* inflated(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const source = Readable.from(input);
  const inflate = createInflate({ finishFlush: constants.Z_SYNC_FLUSH, chunkSize: 256 * 1024 });
  source.on("error", (error) => inflate.destroy(error));
  source.pipe(inflate);
  try {
    for await (const chunk of inflate) yield chunk as Buffer;
  } catch {
    // Not zlib data, or bad further on: what came out before counts.
  } finally {
    source.destroy();
    inflate.destroy();
  }
}

async function* once(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

/**
 * The largest of `data`'s zlib layers, in bytes (PDF.js follows a chain of FlateDecode filters),
 * or `Infinity` once one passes `limitBytes`. Each layer is inflated again from the stream's
 * bytes, so no layer is ever held whole.
 */
async function inflatedBytes(data: Buffer, limitBytes: number): Promise<number> {
  if (!opensZlib(data)) return 0;
  let largest = 0;
  for (let layers = 1; layers <= MAX_LAYERS; layers++) {
    let output: AsyncIterable<Buffer> = once(data);
    for (let i = 0; i < layers; i++) output = inflated(output);
    let bytes = 0;
    let nested = false;
    for await (const chunk of output) {
      if (bytes === 0) nested = opensZlib(chunk);
      bytes += chunk.length;
      if (bytes > limitBytes) return Infinity;
    }
    largest = Math.max(largest, bytes);
    if (!nested) return largest;
  }
  return Infinity;
}

/**
 * The most one stream of `pdf` expands to, in bytes (`Infinity` past `limitBytes`). Each
 * `stream` keyword is tried, whatever its dictionary says (a /Filter can hide behind an indirect
 * reference, a /Length can lie), from its data to the end of its zlib data.
 */
export async function largestStreamBytes(pdf: Uint8Array, limitBytes: number): Promise<number> {
  const bytes = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength);
  let largest = 0;
  for (let at = bytes.indexOf(STREAM); at >= 0; at = bytes.indexOf(STREAM, at + STREAM.length)) {
    if (at >= END.length && bytes.subarray(at - END.length, at).equals(END)) continue;
    let start = at + STREAM.length;
    if (bytes[start] === 0x0d) start++;
    if (bytes[start] === 0x0a) start++;
    largest = Math.max(largest, await inflatedBytes(bytes.subarray(start), limitBytes));
    if (largest === Infinity) break;
  }
  return largest;
}
