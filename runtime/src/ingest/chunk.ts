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
/** Longer than the longest abbreviation ("et al.") and the character before it. */
const ABBREVIATION_TAIL = 12;

/** Sentence split on terminal punctuation, keeping abbreviations and decimals together. */
export function sentences(paragraph: string): string[] {
  const parts = paragraph.split(/(?<=[.!?])\s+(?=[\p{Lu}\p{N}("[])/u);
  // Each sentence as its parts, joined at the end: a run of abbreviations ("Fig. A Fig. B ...")
  // grew one string and matched it whole at every part, quadratic in the run's length.
  const out: string[][] = [];
  for (const part of parts) {
    const last = out.at(-1);
    if (last && ABBREVIATIONS.test(last.at(-1)!.slice(-ABBREVIATION_TAIL))) last.push(part);
    else out.push([part]);
  }
  return out.map((sentence) => sentence.join(" "));
}

/** A sentence, or a cut of one, with its word count. */
interface Unit {
  readonly text: string;
  readonly words: number;
}

const unitOf = (text: string): Unit => ({ text, words: wordCount(text) });

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
      sentences(p).flatMap((s) => bounded(s, options.sizeWords).map(unitOf)),
    );
    let current: Unit[] = [];
    let words = 0; // in current, kept as units come and go rather than counted again per unit
    let fresh = 0; // units added since the last chunk was emitted
    const emit = () => {
      chunks.push({
        ordinal: chunks.length,
        text: current.map((u) => u.text).join(" "),
        heading: section.heading,
      });
      // The next chunk starts with the trailing whole sentences that fit in the overlap.
      const carried: Unit[] = [];
      let carriedWords = 0;
      for (let i = current.length - 1; i >= 0; i--) {
        if (carriedWords + current[i]!.words > options.overlapWords) break;
        carriedWords += current[i]!.words;
        carried.push(current[i]!);
      }
      current = carried.reverse();
      words = carriedWords;
      fresh = 0;
    };
    for (const unit of units) {
      if (fresh > 0 && words + unit.words > options.sizeWords) emit();
      while (current.length > 0 && words + unit.words > options.sizeWords)
        words -= current.shift()!.words;
      current.push(unit);
      words += unit.words;
      fresh++;
    }
    if (fresh > 0) emit();
  }
  return chunks;
}
