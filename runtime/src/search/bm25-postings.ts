/**
 * BM25 postings held in memory, searched document at a time with MaxScore (Turtle and Flood,
 * "Query evaluation: strategies and optimizations", 1995) and per-block score bounds (as Ding and
 * Suel's block-max indexes keep them, SIGIR 2011): exact top-k.
 *
 * Each chunk gets a number when it arrives; numbers only grow, so every term's postings stay in
 * chunk order by appending. A term's postings are cut into blocks of BLOCK; each block keeps its
 * last chunk number, its largest tf and its shortest chunk, which bound the term's score in it
 * whatever the corpus statistics are at query time.
 *
 * A query orders its terms by their bound. The terms whose bounds together stay below θ (the
 * k-th best score so far) are non-essential: a chunk only they hold cannot enter the top k. So
 * candidates come from the other terms' postings alone; a candidate whose essential terms' block
 * bounds cannot lift it to θ is not scored, and the non-essential terms are looked up (a gallop
 * over their blocks) only while they still could. As θ rises, more terms become non-essential:
 * the frequent terms' long lists are then probed, not walked.
 *
 * A removed chunk is marked dead (its postings stay until `compact`); a changed one is removed and
 * added again under a new number. Scores use the very expression `bm25SearchExact` computes in
 * SQL, so the two agree up to the order floating-point terms are summed in.
 */
import { BM25 } from "./bm25";

/** Postings per block: the unit a query skips. */
export const BLOCK = 64;
/** Terms with at most this many postings are kept as plain arrays (most of a vocabulary). */
const SMALL = BLOCK;
const END = 0x7fffffff;
/** Bounds compare with this relative slack, so float rounding never prunes a winner. */
const SLACK = 1e-9;
const { k1, b } = BM25;
const K1_PLUS_1 = k1 + 1;
const ONE_MINUS_B = 1 - b;

/** Okapi BM25 of one term in one chunk, as bm25.ts's SQL computes it (float8, same order). */
export function termScore(idf: number, tf: number, dl: number, avgdl: number): number {
  return (idf * (tf * K1_PLUS_1)) / (tf + k1 * (ONE_MINUS_B + (b * dl) / avgdl));
}

/** tf storage of at least `length`: 16 bits unless a tf needs more. */
function withCapacity(
  a: Uint16Array | Uint32Array,
  length: number,
  wide: boolean,
): Uint16Array | Uint32Array {
  const next = wide ? new Uint32Array(length) : new Uint16Array(length);
  next.set(a);
  return next;
}

function grownInt32(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const next = new Int32Array(Math.max(need, Math.ceil(a.length * 1.5) + 8));
  next.set(a);
  return next;
}

/** One term's postings in chunk order, with per-block bounds. */
class PostingList {
  docs: Int32Array<ArrayBuffer>;
  tfs: Uint16Array | Uint32Array;
  length = 0;
  blockLast: Int32Array<ArrayBuffer>;
  blockMaxTf: Int32Array<ArrayBuffer>;
  blockMinDl: Int32Array<ArrayBuffer>;
  /** Largest tf and shortest chunk over the whole list (dead chunks included: a loose bound). */
  maxTf = 0;
  minDl = END;

  constructor(capacity: number) {
    this.docs = new Int32Array(capacity);
    this.tfs = new Uint16Array(capacity);
    const blocks = Math.ceil(capacity / BLOCK) || 1;
    this.blockLast = new Int32Array(blocks);
    this.blockMaxTf = new Int32Array(blocks);
    this.blockMinDl = new Int32Array(blocks);
  }

  get blocks(): number {
    return Math.ceil(this.length / BLOCK);
  }

  add(doc: number, tf: number, dl: number): void {
    const i = this.length;
    if (i === this.docs.length) {
      this.docs = grownInt32(this.docs, i + 1);
      this.tfs = withCapacity(this.tfs, this.docs.length, this.tfs instanceof Uint32Array);
    }
    if (tf > 0xffff && this.tfs instanceof Uint16Array)
      this.tfs = withCapacity(this.tfs, this.docs.length, true);
    this.docs[i] = doc;
    this.tfs[i] = tf;
    this.length = i + 1;
    const block = Math.floor(i / BLOCK);
    if (block >= this.blockLast.length) {
      this.blockLast = grownInt32(this.blockLast, block + 1);
      this.blockMaxTf = grownInt32(this.blockMaxTf, block + 1);
      this.blockMinDl = grownInt32(this.blockMinDl, block + 1);
    }
    const first = i % BLOCK === 0;
    this.blockLast[block] = doc;
    this.blockMaxTf[block] = first ? tf : Math.max(this.blockMaxTf[block]!, tf);
    this.blockMinDl[block] = first ? dl : Math.min(this.blockMinDl[block]!, dl);
    this.maxTf = Math.max(this.maxTf, tf);
    this.minDl = Math.min(this.minDl, dl);
  }
}

/** A query term: its postings, its weight (query tf times IDF) and its bounds. */
interface Cursor {
  readonly list: PostingList;
  readonly idf: number;
  /** Bound of the term's score over the whole list. */
  readonly bound: number;
  /** Position in the list, and the chunk there (END past the last). */
  pos: number;
  doc: number;
  /** The block the cursor was last checked in, and that block's score bound. */
  block: number;
  blockBound: number;
}

/** One scored chunk of a search. */
export interface Hit {
  readonly chunkId: string;
  readonly score: number;
}

/** What a search needs of the corpus statistics, from the catalogue. */
export interface QueryTerm {
  readonly term: string;
  /** Query tf times IDF. */
  readonly weight: number;
}

/** Per chunk number: who it is and what a filter asks of it. */
export interface ChunkFacts {
  readonly chunkId: string;
  readonly documentId: string;
  readonly length: number;
  readonly classification: string;
  readonly groups: readonly string[];
}

/** The in-memory postings: add, remove, relabel, search. */
export class MemoryPostings {
  /**
   * Each term's postings: a PostingList, or for the many rare terms (at most SMALL postings) a
   * plain array of chunk numbers and tfs, interleaved, which costs a tenth of the memory.
   */
  private readonly terms = new Map<string, PostingList | number[]>();
  private dl: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private document: Int32Array<ArrayBuffer> = new Int32Array(1024);
  private label: Int32Array<ArrayBuffer> = new Int32Array(1024);
  /** 1 for a live chunk number: what every candidate is checked against, a byte each. */
  private alive: Uint8Array<ArrayBuffer> = new Uint8Array(1024);
  private groups: (readonly string[] | undefined)[] = [];
  private chunkIds: (string | undefined)[] = [];
  private readonly numberOf = new Map<string, number>();
  /** Document ids and labels as small integers (filters compare integers). */
  private readonly documentNumbers = new Map<string, number>();
  private readonly documentChunks: number[][] = [];
  private readonly labels = new Map<string, number>();
  private next = 0;
  private deadChunks = 0;

  /** Chunks live now. */
  get size(): number {
    return this.numberOf.size;
  }

  /** Chunk numbers given out, dead ones included (compaction keeps numbers). */
  get numbered(): number {
    return this.next;
  }

  get dead(): number {
    return this.deadChunks;
  }

  has(chunkId: string): boolean {
    return this.numberOf.has(chunkId);
  }

  private labelNumber(label: string): number {
    let n = this.labels.get(label);
    if (n === undefined) this.labels.set(label, (n = this.labels.size));
    return n;
  }

  /**
   * Adds a chunk with its postings (term → tf). A chunk already present is replaced. Postings of
   * one term must arrive in chunk order: `add` numbers chunks in the order it sees them, so a
   * bulk load may pass `capacity` per term for its first posting to size the list exactly.
   */
  add(facts: ChunkFacts, postings: Iterable<readonly [string, number]>): number {
    if (this.numberOf.has(facts.chunkId)) this.remove(facts.chunkId);
    const n = this.next++;
    if (n >= this.dl.length) {
      this.dl = grownInt32(this.dl, n + 1);
      this.document = grownInt32(this.document, n + 1);
      this.label = grownInt32(this.label, n + 1);
      const alive = new Uint8Array(this.dl.length);
      alive.set(this.alive);
      this.alive = alive;
    }
    this.alive[n] = 1;
    this.dl[n] = facts.length;
    let doc = this.documentNumbers.get(facts.documentId);
    if (doc === undefined) {
      this.documentNumbers.set(facts.documentId, (doc = this.documentNumbers.size));
      this.documentChunks.push([]);
    }
    this.document[n] = doc;
    this.documentChunks[doc]!.push(n);
    this.label[n] = this.labelNumber(facts.classification);
    this.groups[n] = facts.groups.length > 0 ? facts.groups : undefined;
    this.chunkIds[n] = facts.chunkId;
    this.numberOf.set(facts.chunkId, n);
    for (const [term, tf] of postings) this.append(term, n, tf);
    return n;
  }

  /** Appends one posting of chunk `n` (numbered by `add` with no postings), for a bulk load. */
  append(term: string, n: number, tf: number, capacity = 4): void {
    let list = this.terms.get(term);
    if (!list) this.terms.set(term, (list = capacity > SMALL ? new PostingList(capacity) : []));
    const last = Array.isArray(list)
      ? list.length > 0
        ? list[list.length - 2]!
        : -1
      : list.length > 0
        ? list.docs[list.length - 1]!
        : -1;
    if (last >= n) throw new Error(`postings of "${term}" out of chunk order: ${n} after ${last}`);
    if (!Array.isArray(list)) return list.add(n, tf, this.dl[n]!);
    list.push(n, tf);
    if (list.length / 2 > SMALL) this.terms.set(term, this.listOf(list));
  }

  /** A small term's postings as a PostingList. */
  private listOf(pairs: readonly number[]): PostingList {
    const list = new PostingList(pairs.length / 2);
    for (let i = 0; i < pairs.length; i += 2)
      list.add(pairs[i]!, pairs[i + 1]!, this.dl[pairs[i]!]!);
    return list;
  }

  /** Marks a chunk dead: it is never returned again; its postings go at the next compaction. */
  remove(chunkId: string): boolean {
    const n = this.numberOf.get(chunkId);
    if (n === undefined) return false;
    this.numberOf.delete(chunkId);
    this.chunkIds[n] = undefined;
    this.alive[n] = 0;
    this.groups[n] = undefined;
    const chunks = this.documentChunks[this.document[n]!]!;
    const at = chunks.indexOf(n);
    if (at >= 0) chunks.splice(at, 1);
    this.deadChunks++;
    return true;
  }

  /** A chunk's label and groups changed (its postings did not). */
  relabel(chunkId: string, classification: string, groups: readonly string[]): boolean {
    const n = this.numberOf.get(chunkId);
    if (n === undefined) return false;
    this.label[n] = this.labelNumber(classification);
    this.groups[n] = groups.length > 0 ? groups : undefined;
    return true;
  }

  /** Drops dead chunks' postings (numbers stay: they only grow). */
  compact(): void {
    for (const [term, list] of this.terms) {
      const kept: number[] = [];
      const at = (i: number): [number, number] =>
        Array.isArray(list) ? [list[2 * i]!, list[2 * i + 1]!] : [list.docs[i]!, list.tfs[i]!];
      const length = Array.isArray(list) ? list.length / 2 : list.length;
      for (let i = 0; i < length; i++) {
        const [n, tf] = at(i);
        if (this.chunkIds[n] !== undefined) kept.push(n, tf);
      }
      if (kept.length === 0) this.terms.delete(term);
      else this.terms.set(term, kept.length / 2 > SMALL ? this.listOf(kept) : kept);
    }
    this.deadChunks = 0;
  }

  /** Postings held, dead chunks' included. */
  postings(): number {
    let n = 0;
    for (const list of this.terms.values())
      n += Array.isArray(list) ? list.length / 2 : list.length;
    return n;
  }

  /** How many live chunks the given documents have. */
  chunkCount(documentIds: Iterable<string>): number {
    let n = 0;
    for (const id of new Set(documentIds)) {
      const doc = this.documentNumbers.get(id);
      if (doc !== undefined) n += this.documentChunks[doc]!.length;
    }
    return n;
  }

  /** Live chunks of the given documents (each once, a document named twice or not). */
  chunksOf(documentIds: Iterable<string>): number[] {
    const out: number[] = [];
    for (const id of new Set(documentIds)) {
      const doc = this.documentNumbers.get(id);
      if (doc !== undefined) out.push(...this.documentChunks[doc]!);
    }
    return out;
  }

  /**
   * Which chunk numbers a filter lets through: classification labels and groups (undefined: no
   * check, as in filters.ts) and, when `documents` is given, only those documents' chunks.
   */
  acceptor(
    classifications: readonly string[] | undefined,
    groups: readonly string[] | undefined,
    documents: Set<string> | undefined,
  ): (n: number) => boolean {
    const labels =
      classifications === undefined
        ? undefined
        : new Set(classifications.map((l) => this.labels.get(l)).filter((l) => l !== undefined));
    const callerGroups = groups === undefined ? undefined : new Set(groups);
    const docs =
      documents === undefined
        ? undefined
        : new Set(
            [...documents].map((id) => this.documentNumbers.get(id)).filter((d) => d !== undefined),
          );
    const alive = this.alive;
    if (!labels && !callerGroups && !docs) return (n) => alive[n] === 1;
    return (n) => {
      if (alive[n] !== 1) return false;
      if (labels && !labels.has(this.label[n]!)) return false;
      if (callerGroups) {
        const own = this.groups[n];
        if (own && !own.some((g) => callerGroups.has(g))) return false;
      }
      return !docs || docs.has(this.document[n]!);
    };
  }

  /**
   * The top `limit` chunks by BM25 over `terms`, best first (ties by chunk id), among those
   * `accept` lets through. `only`, when given, lists every chunk that may answer: they are scored
   * one by one instead (a filter that leaves few chunks).
   */
  search(
    terms: readonly QueryTerm[],
    avgdl: number,
    limit: number,
    accept: (n: number) => boolean,
    only?: readonly number[],
  ): Hit[] {
    if (limit <= 0) return [];
    const top = new TopK(limit, this.chunkIds);
    const lists = terms.flatMap((t) => {
      const held = this.terms.get(t.term);
      const list = Array.isArray(held) ? this.listOf(held) : held;
      return list && list.length > 0 ? [{ list, weight: t.weight }] : [];
    });
    if (lists.length === 0) return [];
    if (only) {
      // Each chunk looked up in each term's postings: a gallop over the blocks, then one block.
      for (const n of only) {
        if (!accept(n)) continue;
        let score = 0;
        let found = false;
        for (let t = 0; t < lists.length; t++) {
          const { list, weight } = lists[t]!;
          const i = seek(list, 0, n);
          if (i < list.length && list.docs[i] === n) {
            score += termScore(weight, list.tfs[i]!, this.dl[n]!, avgdl);
            found = true;
          }
        }
        if (found) top.offer(n, score);
      }
      return top.sorted();
    }
    const tfPart = (tf: number, dl: number) => termScore(1, tf, dl, avgdl) * (1 + SLACK);
    const cursors: Cursor[] = lists.map(({ list, weight }) => {
      const bound = weight * tfPart(list.maxTf, list.minDl);
      return { list, idf: weight, bound, pos: 0, doc: list.docs[0]!, block: -1, blockBound: 0 };
    });
    return this.maxScore(cursors, avgdl, top, accept, tfPart);
  }

  /**
   * MaxScore (Turtle and Flood) with block bounds: the terms whose bounds together stay below θ
   * are "non-essential"; chunks come only from the others' postings, and the non-essential terms
   * are looked up for a chunk only while they could still lift it to θ.
   */
  private maxScore(
    cursors: Cursor[],
    avgdl: number,
    top: TopK,
    accept: (n: number) => boolean,
    tfPart: (tf: number, dl: number) => number,
  ): Hit[] {
    const cs = [...cursors].sort((x, y) => x.bound - y.bound);
    const m = cs.length;
    // prefix[i]: the bounds of cs[0..i-1] together.
    const prefix = new Float64Array(m + 1);
    for (let i = 0; i < m; i++) prefix[i + 1] = prefix[i]! + cs[i]!.bound;
    let first = 0;
    const dl = this.dl;
    for (;;) {
      const theta = top.threshold;
      while (first < m && prefix[first + 1]! < theta) first++;
      if (first === m) break;
      // An essential term's block whose bound, with every other term's whole bound, stays below
      // θ holds no chunk that can reach it: skip to the next block. (A chunk there that another
      // term brings is then scored without this term: it stays below θ either way.)
      const all = prefix[m]!;
      let d = END;
      for (let i = first; i < m; i++) {
        const c = cs[i]!;
        const list = c.list;
        for (let j = Math.floor(c.pos / BLOCK); c.doc !== END && j !== c.block;) {
          c.block = j;
          c.blockBound = c.idf * tfPart(list.blockMaxTf[j]!, list.blockMinDl[j]!);
          if (c.blockBound + all - c.bound >= theta) break;
          j++;
          c.pos = j * BLOCK;
          c.doc = c.pos < list.length ? list.docs[c.pos]! : END;
        }
        if (c.doc < d) d = c.doc;
      }
      if (d === END) break;
      // The essential terms at d, by their current blocks' bounds first.
      let bound = prefix[first]!;
      for (let i = first; i < m; i++) {
        const c = cs[i]!;
        if (c.doc === d) bound += c.blockBound;
      }
      if (bound >= theta && accept(d)) {
        const length = dl[d]!;
        let score = 0;
        for (let i = first; i < m; i++) {
          const c = cs[i]!;
          if (c.doc === d) score += termScore(c.idf, c.list.tfs[c.pos]!, length, avgdl);
        }
        let i = first - 1;
        for (; i >= 0; i--) {
          if (score + prefix[i + 1]! < theta) break;
          const c = cs[i]!;
          c.pos = seek(c.list, c.pos, d);
          c.doc = c.pos < c.list.length ? c.list.docs[c.pos]! : END;
          if (c.doc === d) score += termScore(c.idf, c.list.tfs[c.pos]!, length, avgdl);
        }
        if (i < 0) top.offer(d, score);
      }
      for (let i = first; i < m; i++) {
        const c = cs[i]!;
        if (c.doc === d) {
          c.pos++;
          c.doc = c.pos < c.list.length ? c.list.docs[c.pos]! : END;
        }
      }
    }
    return top.sorted();
  }
}

/** The first position at or after `from` whose chunk number is at least `target`. */
function seek(list: PostingList, from: number, target: number): number {
  const docs = list.docs;
  if (from >= list.length || docs[from]! >= target) return from;
  // Galloping over the blocks' last chunks, then binary search: a far jump costs a logarithm.
  const last = list.blockLast;
  const blocks = list.blocks;
  let j = Math.floor(from / BLOCK);
  let step = 1;
  let bound = j;
  while (bound < blocks && last[bound]! < target) {
    j = bound + 1;
    bound += step;
    step *= 2;
  }
  if (bound >= blocks) bound = blocks - 1;
  if (j > bound) return list.length;
  while (j < bound) {
    const mid = (j + bound) >>> 1;
    if (last[mid]! < target) j = mid + 1;
    else bound = mid;
  }
  if (last[j]! < target) return list.length;
  let lo = Math.max(from, j * BLOCK);
  let hi = Math.min(list.length - 1, (j + 1) * BLOCK - 1);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (docs[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The best `k` chunks so far: a heap whose root is the worst (lowest score; of equal scores, the
 * larger chunk id, as `ORDER BY score DESC, chunk_id` puts last).
 */
class TopK {
  private readonly scores: Float64Array;
  private readonly ns: Int32Array;
  private size = 0;

  constructor(
    private readonly k: number,
    private readonly ids: readonly (string | undefined)[],
  ) {
    this.scores = new Float64Array(k);
    this.ns = new Int32Array(k);
  }

  get full(): boolean {
    return this.size === this.k;
  }

  /** A score a chunk must reach (ties by id decide among equals). */
  get threshold(): number {
    return this.full ? this.scores[0]! : -Infinity;
  }

  /** Whether (s1, n1) ranks below (s2, n2). */
  private worse(s1: number, n1: number, s2: number, n2: number): boolean {
    return s1 < s2 || (s1 === s2 && this.ids[n1]! > this.ids[n2]!);
  }

  offer(n: number, score: number): void {
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(score, n, this.scores[parent]!, this.ns[parent]!)) break;
        this.scores[i] = this.scores[parent]!;
        this.ns[i] = this.ns[parent]!;
        i = parent;
      }
      this.scores[i] = score;
      this.ns[i] = n;
      return;
    }
    if (!this.worse(this.scores[0]!, this.ns[0]!, score, n)) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) break;
      const r = l + 1;
      const c =
        r < this.size && this.worse(this.scores[r]!, this.ns[r]!, this.scores[l]!, this.ns[l]!)
          ? r
          : l;
      if (!this.worse(this.scores[c]!, this.ns[c]!, score, n)) break;
      this.scores[i] = this.scores[c]!;
      this.ns[i] = this.ns[c]!;
      i = c;
    }
    this.scores[i] = score;
    this.ns[i] = n;
  }

  sorted(): Hit[] {
    const out: { n: number; score: number }[] = [];
    for (let i = 0; i < this.size; i++) out.push({ n: this.ns[i]!, score: this.scores[i]! });
    out.sort((x, y) =>
      x.score !== y.score ? y.score - x.score : this.ids[x.n]! < this.ids[y.n]! ? -1 : 1,
    );
    return out.map((x) => ({ chunkId: this.ids[x.n]!, score: x.score }));
  }
}
