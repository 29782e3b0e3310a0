/**
 * The in-memory postings (search/bm25-postings.ts) against brute force, with no database: random
 * sequences of adds (a Zipf-like vocabulary, so common terms grow past a small array into blocks
 * of 64, tfs past 65535 now and then), removes, re-adds of the same chunk id, relabels,
 * compactions, bulk reloads and searches. Every search (1-8 terms, repeated or unknown, any
 * positive weights, filtered or not, through MaxScore with block bounds or the direct path) must
 * return what
 * scoring every live chunk with `termScore` returns: same chunks, same order (score descending,
 * then chunk id), same scores (to 1e-9 where the search may sum three or more terms in another
 * order).
 * bm25-exact.test.ts compares the copy with SQL on a corpus; this one explores operation
 * sequences (200 runs by default, about 15 s).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BLOCK,
  type Hit,
  MemoryPostings,
  type QueryTerm,
  termScore,
} from "../../src/search/bm25-postings";

const VOCABULARY = 24;
const DOCUMENTS = 40;
const ORDINALS = 16;
const LABELS = ["public", "internal", "confidential", "restricted"] as const;
const GROUPS = ["g0", "g1", "g2"] as const;
/** Relative tolerance on a score summed in another order than the reference's (three terms up). */
const EPS = 1e-9;
/** Property runs: BM25_PROPERTY_RUNS=3000 searches longer. */
const RUNS = Number(process.env.BM25_PROPERTY_RUNS ?? 200);

/** A term rank, 0 the most frequent: P(rank ≤ r) = ((r + 1) / VOCABULARY)^(1/4). */
const rank = fc.integer({ min: 0, max: 999 }).map((x) => Math.floor(VOCABULARY * (x / 1000) ** 4));
const tf = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 60 },
  { arbitrary: fc.integer({ min: 4, max: 400 }), weight: 6 },
  { arbitrary: fc.integer({ min: 0x10000, max: 5_000_000 }), weight: 1 },
);
/** Mostly short chunks of few lengths, so many chunks tie. */
const chunkLength = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 8 }), weight: 3 },
  { arbitrary: fc.integer({ min: 1, max: 300 }), weight: 1 },
);
const groups = fc.oneof(
  { arbitrary: fc.constant([] as string[]), weight: 3 },
  { arbitrary: fc.subarray([...GROUPS], { minLength: 1 }), weight: 1 },
);
const chunkRef = fc.record({
  document: fc.nat(DOCUMENTS - 1),
  ordinal: fc.nat(ORDINALS - 1),
});
/** A live chunk, by its position among the live ones (or a chunk id when none is live). */
const pick = fc.oneof({ arbitrary: fc.nat(), weight: 4 }, { arbitrary: chunkRef, weight: 1 });

const chunkSpec = fc.record({
  length: chunkLength,
  label: fc.constantFrom(...LABELS),
  groups,
  postings: fc.array(fc.tuple(rank, tf), { maxLength: 6 }),
});
type ChunkRef = typeof chunkRef extends fc.Arbitrary<infer T> ? T : never;
type ChunkSpec = typeof chunkSpec extends fc.Arbitrary<infer T> ? T : never;

const operation = fc.oneof(
  {
    weight: 50,
    arbitrary: fc.record({ kind: fc.constant("add" as const), chunk: chunkRef, spec: chunkSpec }),
  },
  {
    // Runs of alike chunks: blocks whose bounds differ (so some are passed over), and exact ties.
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("batch" as const),
      first: chunkRef,
      count: fc.integer({ min: 2, max: 48 }),
      spec: chunkSpec,
    }),
  },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant("remove" as const), target: pick }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("relabel" as const),
      target: pick,
      label: fc.constantFrom(...LABELS),
      groups,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("compact" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reload" as const) }) },
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant("search" as const),
      terms: fc.array(
        fc.record({
          term: fc.oneof(
            { arbitrary: rank.map((r) => `t${r}`), weight: 9 },
            { arbitrary: fc.nat(2).map((u) => `unknown${u}`), weight: 1 },
          ),
          weight: fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        }),
        { minLength: 1, maxLength: 8 },
      ),
      avgdl: fc.double({ min: 0.5, max: 300, noNaN: true }),
      // Small limits fill the top early, so the search starts skipping early.
      limit: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 60 })),
      classifications: fc.option(fc.subarray([...LABELS, "secret"]), { nil: undefined }),
      groups: fc.option(fc.subarray([...GROUPS]), { nil: undefined }),
      // Documents past DOCUMENTS have no chunk.
      documents: fc.option(
        fc.uniqueArray(
          fc.nat(DOCUMENTS + 1).map((d) => `doc${d}`),
          { maxLength: 8 },
        ),
        { nil: undefined },
      ),
      direct: fc.boolean(),
    }),
  },
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;
type Search = Extract<Operation, { kind: "search" }>;

interface Chunk {
  readonly document: string;
  readonly length: number;
  label: string;
  groups: readonly string[];
  readonly terms: ReadonlyMap<string, number>;
}

const idOf = (ref: ChunkRef) => `doc${ref.document}:${ref.ordinal}`;

/** A reference hit, with how many query terms it matched. */
interface Expected extends Hit {
  readonly matched: number;
}

/** What the reference needs of a search. */
interface Query {
  readonly terms: readonly QueryTerm[];
  readonly avgdl: number;
  readonly classifications?: readonly string[] | undefined;
  readonly groups?: readonly string[] | undefined;
  readonly documents?: readonly string[] | undefined;
}

/** Brute force: every live chunk the filter admits, scored term by term in query order. */
function reference(live: ReadonlyMap<string, Chunk>, search: Query): Expected[] {
  const hits: Expected[] = [];
  for (const [chunkId, chunk] of live) {
    if (search.classifications && !search.classifications.includes(chunk.label)) continue;
    const callerGroups = search.groups;
    if (
      callerGroups &&
      chunk.groups.length > 0 &&
      !chunk.groups.some((g) => callerGroups.includes(g))
    )
      continue;
    if (search.documents && !search.documents.includes(chunk.document)) continue;
    let score = 0;
    let matched = 0;
    for (const { term, weight } of search.terms) {
      const tf = chunk.terms.get(term);
      if (tf === undefined) continue;
      score += termScore(weight, tf, chunk.length, search.avgdl);
      matched++;
    }
    if (matched > 0) hits.push({ chunkId, score, matched });
  }
  return hits.sort((x, y) => y.score - x.score || (x.chunkId < y.chunkId ? -1 : 1));
}

/**
 * What is wrong with `actual` as the top `limit` of `expected`, or undefined.
 *
 * A search may sum a chunk's terms in another order than the reference, which can move its score
 * by a rounding: only where three or more terms are summed (two add up the same either way), and
 * never when `inOrder` (the direct path sums in query order). Such a score may be off by EPS, so
 * its rank among chunks within EPS of it is free. Everything else is exact: the right number of
 * hits, each a live admitted match at its score, ordered by score then chunk id, and no chunk left
 * out that surely ranks above one returned (a higher score, or the same exact score and a smaller
 * chunk id).
 */
function rankingProblem(
  actual: readonly Hit[],
  expected: readonly Expected[],
  limit: number,
  inOrder: boolean,
): string | undefined {
  if (actual.length !== Math.min(limit, expected.length))
    return `${actual.length} hits, ${Math.min(limit, expected.length)} expected`;
  const exact = (h: Expected) => inOrder || h.matched <= 2;
  const low = (h: Expected) => (exact(h) ? h.score : h.score * (1 - EPS));
  const high = (h: Expected) => (exact(h) ? h.score : h.score * (1 + EPS));
  const byId = new Map(expected.map((h) => [h.chunkId, h]));
  const returned = new Set<string>();
  for (const [i, hit] of actual.entries()) {
    const want = byId.get(hit.chunkId);
    if (!want) return `${hit.chunkId} is no live admitted match`;
    if (returned.has(hit.chunkId)) return `${hit.chunkId} returned twice`;
    returned.add(hit.chunkId);
    if (hit.score < low(want) || hit.score > high(want))
      return `${hit.chunkId} scored ${hit.score}, expected ${want.score}`;
    const before = actual[i - 1];
    if (
      before &&
      !(before.score > hit.score || (before.score === hit.score && before.chunkId < hit.chunkId))
    )
      return `${before.chunkId} (${before.score}) before ${hit.chunkId} (${hit.score})`;
  }
  const surelyAbove = (y: Expected, x: Expected) =>
    low(y) > high(x) || (exact(y) && exact(x) && y.score === x.score && y.chunkId < x.chunkId);
  for (const y of expected) {
    if (returned.has(y.chunkId)) continue;
    // From the lowest hit up, while a hit could still rank below y.
    for (let i = actual.length - 1; i >= 0 && actual[i]!.score <= high(y); i--) {
      const x = byId.get(actual[i]!.chunkId)!;
      if (surelyAbove(y, x))
        return `${y.chunkId} (${y.score}) left out, ${x.chunkId} (${x.score}) returned`;
    }
  }
  return undefined;
}

/** What the runs exercised, checked after them so a generator change cannot quietly weaken them. */
const seen = {
  searches: 0,
  direct: 0,
  longestList: 0,
  wideInBlocks: 0,
  reAdded: 0,
  pruned: 0,
  reordered: 0,
};

/** The postings under test beside a model of what they hold. */
class Run {
  postings = new MemoryPostings();
  readonly live = new Map<string, Chunk>();
  private readonly added = new Set<string>();
  private dead = 0;
  /** Postings held per term, dead chunks' included: how many, and the largest tf. */
  private held = new Map<string, { count: number; maxTf: number }>();

  apply(op: Operation): void {
    switch (op.kind) {
      case "add":
        return this.add(op.chunk, op.spec);
      case "batch":
        for (let i = 0; i < op.count; i++) {
          const ordinal = op.first.ordinal + i;
          const document = (op.first.document + Math.floor(ordinal / ORDINALS)) % DOCUMENTS;
          this.add({ document, ordinal: ordinal % ORDINALS }, op.spec);
        }
        return;
      case "remove": {
        const id = this.target(op.target);
        const live = this.live.delete(id);
        expect(this.postings.remove(id)).toBe(live);
        expect(this.postings.has(id)).toBe(false);
        if (live) this.dead++;
        return;
      }
      case "relabel": {
        const id = this.target(op.target);
        const chunk = this.live.get(id);
        expect(this.postings.relabel(id, op.label, op.groups)).toBe(chunk !== undefined);
        if (chunk) Object.assign(chunk, { label: op.label, groups: op.groups });
        return;
      }
      case "compact":
        this.postings.compact();
        return this.rebuilt();
      case "reload":
        this.postings = this.bulkLoaded();
        return this.rebuilt();
      case "search":
        return this.search(op);
      default: {
        const never: never = op;
        throw new Error(`unknown operation ${JSON.stringify(never)}`);
      }
    }
  }

  /** The index's own counters agree with the model. */
  check(): void {
    expect(this.postings.size).toBe(this.live.size);
    expect(this.postings.dead).toBe(this.dead);
    let held = 0;
    for (const { count } of this.held.values()) held += count;
    expect(this.postings.postings()).toBe(held);
  }

  private target(target: Extract<Operation, { kind: "remove" }>["target"]): string {
    if (typeof target !== "number") return idOf(target);
    const ids = [...this.live.keys()];
    return ids.length > 0 ? ids[target % ids.length]! : "doc0:0";
  }

  private add(ref: ChunkRef, spec: ChunkSpec): void {
    const chunkId = idOf(ref);
    const terms = new Map<string, number>();
    for (const [r, n] of spec.postings) terms.set(`t${r}`, (terms.get(`t${r}`) ?? 0) + n);
    const chunk: Chunk = {
      document: `doc${ref.document}`,
      length: spec.length,
      label: spec.label,
      groups: spec.groups,
      terms,
    };
    if (this.live.has(chunkId)) this.dead++;
    if (this.added.has(chunkId)) seen.reAdded++;
    const numbered = this.postings.numbered;
    const n = this.postings.add({ chunkId, documentId: chunk.document, ...facts(chunk) }, terms);
    // A re-added chunk gets a new number.
    expect(n).toBe(numbered);
    this.live.delete(chunkId);
    this.live.set(chunkId, chunk);
    this.added.add(chunkId);
    for (const [term, n] of terms) {
      const held = this.held.get(term) ?? { count: 0, maxTf: 0 };
      this.held.set(term, { count: held.count + 1, maxTf: Math.max(held.maxTf, n) });
    }
  }

  /** As Bm25MemoryIndex loads: every chunk in id order with no postings, then term by term. */
  private bulkLoaded(): MemoryPostings {
    const postings = new MemoryPostings();
    const byTerm = new Map<string, [number, number][]>();
    for (const id of [...this.live.keys()].sort()) {
      const chunk = this.live.get(id)!;
      const n = postings.add({ chunkId: id, documentId: chunk.document, ...facts(chunk) }, []);
      for (const [term, tf] of chunk.terms) {
        if (!byTerm.has(term)) byTerm.set(term, []);
        byTerm.get(term)!.push([n, tf]);
      }
    }
    for (const [term, list] of byTerm)
      for (const [n, tf] of list) postings.append(term, n, tf, list.length);
    return postings;
  }

  /** After a compaction or a reload the index holds the live chunks' postings only. */
  private rebuilt(): void {
    this.dead = 0;
    this.held = new Map();
    for (const chunk of this.live.values())
      for (const [term, tf] of chunk.terms) {
        const held = this.held.get(term) ?? { count: 0, maxTf: 0 };
        this.held.set(term, { count: held.count + 1, maxTf: Math.max(held.maxTf, tf) });
      }
  }

  private search(op: Search): void {
    const documents = op.documents && new Set(op.documents);
    const accept = this.postings.acceptor(op.classifications, op.groups, documents);
    const only = documents && op.direct ? this.postings.chunksOf(documents) : undefined;
    if (documents) {
      const held = [...this.live.values()].filter((c) => documents.has(c.document)).length;
      expect(this.postings.chunkCount(documents)).toBe(held);
      if (only) expect(new Set(only).size).toBe(held);
      // A document named twice is counted and listed once.
      const twice = [...documents, ...documents];
      expect(this.postings.chunkCount(twice)).toBe(held);
      expect(this.postings.chunksOf(twice)).toHaveLength(held);
    }
    let scored = 0;
    const actual = this.postings.search(
      op.terms,
      op.avgdl,
      op.limit,
      (n) => {
        scored++;
        return accept(n);
      },
      only,
    );
    const expected = reference(this.live, op);
    expect(rankingProblem(actual, expected, op.limit, only !== undefined)).toBeUndefined();
    if (actual.some((h, i) => h.chunkId !== expected[i]!.chunkId)) seen.reordered++;
    seen.searches++;
    if (only) seen.direct++;
    for (const { term } of op.terms) {
      const held = this.held.get(term);
      if (!held) continue;
      seen.longestList = Math.max(seen.longestList, held.count);
      if (held.count > BLOCK && held.maxTf > 0xffff) seen.wideInBlocks++;
    }
    // The search asks the filter only of the chunks it scores: fewer than match means it skipped
    // some.
    const matching = reference(this.live, { terms: op.terms, avgdl: op.avgdl });
    if (!only && scored < matching.length) seen.pruned++;
  }
}

const facts = (chunk: Chunk) => ({
  length: chunk.length,
  classification: chunk.label,
  groups: chunk.groups,
});

describe("MemoryPostings against brute force", () => {
  it(
    "answers every search as scoring every live chunk would, whatever came before",
    () => {
      fc.assert(
        fc.property(fc.array(operation, { maxLength: 1400, size: "max" }), (ops) => {
          const run = new Run();
          for (const op of ops) {
            run.apply(op);
            run.check();
          }
        }),
        // A failure on a long sequence can take minutes to shrink: report the smallest found by then.
        {
          numRuns: RUNS,
          interruptAfterTimeLimit: Math.max(60_000, RUNS * 300),
          markInterruptAsFailure: true,
        },
      );
      expect(seen.searches).toBeGreaterThan(1000);
      expect(seen.direct).toBeGreaterThan(100);
      // Several blocks, a Uint32 tf inside a block list, ids numbered anew, blocks skipped.
      expect(seen.longestList).toBeGreaterThan(4 * BLOCK);
      expect(seen.wideInBlocks).toBeGreaterThan(0);
      expect(seen.reAdded).toBeGreaterThan(0);
      expect(seen.pruned).toBeGreaterThan(0);
    },
    Math.max(120_000, RUNS * 600),
  );

  it("scores no chunk of a block whose bound cannot reach the top k, and every other", () => {
    // One term in 10 blocks of chunks of one length: tf 5 for the first three, tf 9 for the
    // first chunk of block 5 and the last of block 6, tf 1 elsewhere. The list's own bound (tf 9)
    // always reaches the top 3's least score: only the blocks' bounds spare their chunks.
    const tfAt = (i: number) => (i < 3 ? 5 : i === 5 * BLOCK || i === 7 * BLOCK - 1 ? 9 : 1);
    const { postings, live } = corpus(10 * BLOCK, (i) => [["common", tfAt(i)]]);
    const search = { terms: [{ term: "common", weight: 2 }], avgdl: 5, limit: 3 };
    const { hits, scored } = counted(postings, search);
    expect(hits).toEqual(hitsOf(reference(live, search).slice(0, 3)));
    expect(hits.map((h) => h.chunkId)).toEqual(["c0320", "c0447", "c0000"]);
    // Blocks 0, 5 and 6 hold chunks that can enter the top 3; the other seven are not scored.
    expect(scored).toBeLessThanOrEqual(3 * BLOCK);
  });

  it("stops scoring a frequent term's chunks once that term alone cannot reach the top k", () => {
    // "common" in all 640 chunks (tf 1), "rare" in three (tf 3). Once the top 2 hold two chunks
    // with both, "common" alone falls short: only the chunks with "rare" are candidates.
    const rareAt = new Set([0, 1, 9 * BLOCK]);
    const { postings, live } = corpus(10 * BLOCK, (i) =>
      rareAt.has(i)
        ? [
            ["common", 1],
            ["rare", 3],
          ]
        : [["common", 1]],
    );
    const search = {
      terms: [
        { term: "common", weight: 1 },
        { term: "rare", weight: 5 },
      ],
      avgdl: 5,
      limit: 2,
    };
    const { hits, scored } = counted(postings, search);
    expect(hits).toEqual(hitsOf(reference(live, search).slice(0, 2)));
    expect(hits.map((h) => h.chunkId)).toEqual(["c0000", "c0001"]);
    expect(scored).toBeLessThanOrEqual(rareAt.size);
  });
});

/** `count` chunks c0000, c0001, ... of one document and length 5, with the postings given. */
function corpus(
  count: number,
  postingsAt: (i: number) => [string, number][],
): { postings: MemoryPostings; live: Map<string, Chunk> } {
  const postings = new MemoryPostings();
  const live = new Map<string, Chunk>();
  for (let i = 0; i < count; i++) {
    const chunkId = `c${String(i).padStart(4, "0")}`;
    const chunk: Chunk = {
      document: "d",
      length: 5,
      label: "internal",
      groups: [],
      terms: new Map(postingsAt(i)),
    };
    postings.add({ chunkId, documentId: chunk.document, ...facts(chunk) }, chunk.terms);
    live.set(chunkId, chunk);
  }
  return { postings, live };
}

/** An unfiltered search, with how many chunks it scored (asked the filter about). */
function counted(postings: MemoryPostings, search: Query & { limit: number }) {
  const accept = postings.acceptor(undefined, undefined, undefined);
  let scored = 0;
  const hits = postings.search(search.terms, search.avgdl, search.limit, (n) => {
    scored++;
    return accept(n);
  });
  return { hits, scored };
}

const hitsOf = (expected: readonly Expected[]): Hit[] =>
  expected.map(({ chunkId, score }) => ({ chunkId, score }));
