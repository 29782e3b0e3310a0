/**
 * Structure-aware chunking: the text is split into sections at headings, sections into
 * paragraphs, paragraphs into sentences; sentences are packed into chunks of at most
 * `sizeWords` words, each starting with `overlapWords` words of the previous chunk's tail
 * (whole sentences), and each knowing its heading.
 */

export interface ChunkOptions {
  /** Most words in a chunk (whitespace words). */
  readonly sizeWords: number;
  /** Words of context repeated from the previous chunk, as whole sentences. */
  readonly overlapWords: number;
}

export interface Chunk {
  readonly ordinal: number;
  readonly text: string;
  /** The nearest heading above the chunk, if any. */
  readonly heading: string | undefined;
}

interface Section {
  heading: string | undefined;
  paragraphs: string[];
}

const HEADING = /^(#{1,6})\s+(.+?)\s*#*$/;
/** Numbered section titles of papers: "3 Experiments", "4.2 Ablation Studies". */
const NUMBERED_TITLE = /^(\d+(\.\d+)*\.?|[A-Z]\.)\s+[A-Z][\w\- ,:&()]{2,80}$/;

const wordCount = (s: string) => (s.match(/\S+/g) ?? []).length;

function isHeadingLine(line: string): string | undefined {
  const md = HEADING.exec(line);
  if (md) return md[2];
  const trimmed = line.trim();
  if (NUMBERED_TITLE.test(trimmed) && !/[.!?:;,]$/.test(trimmed) && wordCount(trimmed) <= 10)
    return trimmed;
  return undefined;
}

function sections(text: string): Section[] {
  const out: Section[] = [{ heading: undefined, paragraphs: [] }];
  let paragraph: string[] = [];
  const flush = () => {
    const p = paragraph.join(" ").replace(/\s+/g, " ").trim();
    if (p) out[out.length - 1]!.paragraphs.push(p);
    paragraph = [];
  };
  for (const line of text.replace(/\r\n?/g, "\n").split("\n")) {
    const heading = isHeadingLine(line);
    if (heading) {
      flush();
      out.push({ heading, paragraphs: [] });
    } else if (line.trim() === "") {
      flush();
    } else {
      paragraph.push(line.trim());
    }
  }
  flush();
  return out.filter((s) => s.paragraphs.length > 0);
}

const ABBREVIATIONS = /\b(e\.g|i\.e|et al|etc|vs|fig|figs|eq|eqs|sec|tab|no|dr|mr|ms|al)\.$/i;

/** Sentence split on terminal punctuation, keeping abbreviations and decimals together. */
export function sentences(paragraph: string): string[] {
  const parts = paragraph.split(/(?<=[.!?])\s+(?=[\p{Lu}\p{N}("[])/u);
  const out: string[] = [];
  for (const part of parts) {
    if (out.length > 0 && ABBREVIATIONS.test(out[out.length - 1]!))
      out[out.length - 1] += ` ${part}`;
    else out.push(part);
  }
  return out;
}

/** Splits a sentence longer than the chunk size at word boundaries. */
function bounded(sentence: string, size: number): string[] {
  const ws = sentence.split(/\s+/);
  if (ws.length <= size) return [sentence];
  const out: string[] = [];
  for (let i = 0; i < ws.length; i += size) out.push(ws.slice(i, i + size).join(" "));
  return out;
}

export function chunkText(text: string, options: ChunkOptions): Chunk[] {
  if (options.overlapWords >= options.sizeWords)
    throw new Error("chunk overlap must be smaller than the chunk size");
  const chunks: Chunk[] = [];
  for (const section of sections(text)) {
    const units = section.paragraphs.flatMap((p) =>
      sentences(p).flatMap((s) => bounded(s, options.sizeWords)),
    );
    let current: string[] = [];
    let fresh = 0; // units added since the last chunk was emitted
    const total = () => current.reduce((n, u) => n + wordCount(u), 0);
    const emit = () => {
      chunks.push({ ordinal: chunks.length, text: current.join(" "), heading: section.heading });
      // The next chunk starts with the trailing whole sentences that fit in the overlap.
      const carried: string[] = [];
      for (let i = current.length - 1, words = 0; i >= 0; i--) {
        words += wordCount(current[i]!);
        if (words > options.overlapWords) break;
        carried.unshift(current[i]!);
      }
      current = carried;
      fresh = 0;
    };
    for (const unit of units) {
      if (fresh > 0 && total() + wordCount(unit) > options.sizeWords) emit();
      while (current.length > 0 && total() + wordCount(unit) > options.sizeWords) current.shift();
      current.push(unit);
      fresh++;
    }
    if (fresh > 0) emit();
  }
  return chunks;
}
