/**
 * The tokenizer BM25 and the local embedder share: Unicode-normalized (ligatures such as "ﬁ"
 * become "fi"), lowercased, split on anything not a letter or digit, English stop words
 * dropped, words longer than MAX_TERM_CHARS cut into pieces, Porter-stemmed.
 */

/** English function words: frequent, uninformative for ranking. */
export const STOP_WORDS = new Set(
  (
    "a about above after again against all am an and any are as at be because been before being below between both but by can could did do does doing " +
    "down during each few for from further had has have having he her here hers herself him himself his how i if in into is it its itself just me more " +
    "most my myself no nor not now of off on once only or other our ours ourselves out over own same she should so some such than that the their theirs " +
    "them themselves then there these they this those through to too under until up very was we were what when where which while who whom why will with " +
    "would you your yours yourself yourselves also using used use based via"
  ).split(" "),
);

let stem: ((word: string) => string) | undefined;

/** Loads the (ESM-only) stemmer once; call before tokenize(). */
export async function loadTokenizer(): Promise<void> {
  if (!stem) stem = (await import("stemmer")).stemmer;
}

export function normalizeText(text: string): string {
  return text.normalize("NFKC").toLowerCase();
}

/**
 * The longest term, in characters: a longer word (a hash, a base64 blob, a run of text without
 * spaces) is cut into pieces of this length, as Lucene's standard tokenizer cuts at 255. A term
 * is a key of PostgreSQL's postings index, whose rows cannot exceed about 2.7 KB; 255 characters
 * are at most 1,020 bytes of UTF-8. Queries are cut the same way, so such a word is still found.
 */
export const MAX_TERM_CHARS = 255;

function pieces(word: string): string[] {
  if (word.length <= MAX_TERM_CHARS) return [word];
  const characters = Array.from(word); // by code point: a surrogate pair is never split
  const cut: string[] = [];
  for (let i = 0; i < characters.length; i += MAX_TERM_CHARS)
    cut.push(characters.slice(i, i + MAX_TERM_CHARS).join(""));
  return cut;
}

/** Words before stemming: what the tokenizer splits, without stop words. */
export function words(text: string): string[] {
  return normalizeText(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0 && !STOP_WORDS.has(w))
    .flatMap(pieces);
}

export function tokenize(text: string): string[] {
  if (!stem) throw new Error("tokenizer not loaded: await loadTokenizer() first");
  const s = stem;
  return words(text).map((w) => (/^\d+$/.test(w) || w.length <= 3 ? w : s(w)));
}

/** Term frequencies of a token list. */
export function termFrequencies(tokens: readonly string[]): Map<string, number> {
  const tf = new Map<string, number>();
  for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);
  return tf;
}

/** FNV-1a, 32 bit: the hashed embedder's features and the sparse vectors' term ids. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
