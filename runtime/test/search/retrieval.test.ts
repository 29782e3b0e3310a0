import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HashedNgramEmbedder } from "../../src/models/embedder";
import { BM25, bm25Search } from "../../src/search/bm25";
import { HttpReranker } from "../../src/search/rerank";
import { fuse, Retriever, RRF_K } from "../../src/search/retrieve";
import type { VectorIndex } from "../../src/search/vector-index";
import { loadTokenizer, MAX_TERM_CHARS, tokenize } from "../../src/search/tokenize";
import { auth, freePorts, type Runtime, startRuntime } from "../support";

beforeAll(loadTokenizer);

describe("tokenizing", () => {
  it("normalises ligatures, drops stop words and stems", () => {
    expect(tokenize("The ﬁne-tuning of Transformers is trained")).toEqual([
      "fine",
      "tune",
      "transform",
      "train",
    ]);
  });

  it("cuts a word longer than a term may be into pieces, by characters, as a query cuts it too", () => {
    const long = `${"𠀀".repeat(MAX_TERM_CHARS)}${"b".repeat(MAX_TERM_CHARS + 10)}`;
    const tokens = tokenize(`prefix ${"x".repeat(3000)} ${long}`);
    expect(tokens[0]).toBe("prefix");
    expect(tokens.every((t) => [...t].length <= MAX_TERM_CHARS)).toBe(true);
    expect(tokens.filter((t) => /^x+$/.test(t)).join("")).toBe("x".repeat(3000));
    expect(
      tokens.every((t) => !/\p{Cs}/u.test(t)),
      "no surrogate pair split",
    ).toBe(true);
    expect(tokenize(`${"x".repeat(3000)}`)).toEqual(tokens.filter((t) => /^x+$/.test(t)));
  });
});

describe("reciprocal-rank fusion", () => {
  it("sums weighted reciprocal ranks", () => {
    const fused = fuse([
      {
        weight: 1,
        results: [
          { chunkId: "a", score: 9 },
          { chunkId: "b", score: 5 },
        ],
      },
      {
        weight: 1,
        results: [
          { chunkId: "b", score: 0.9 },
          { chunkId: "c", score: 0.5 },
        ],
      },
    ]);
    expect(fused.map((f) => f.chunkId)).toEqual(["b", "a", "c"]);
    expect(fused[0]!.score).toBeCloseTo(1 / (RRF_K + 2) + 1 / (RRF_K + 1));
  });

  it("ignores a list weighted 0", () => {
    expect(
      fuse([
        { weight: 1, results: [{ chunkId: "a", score: 1 }] },
        { weight: 0, results: [{ chunkId: "z", score: 1 }] },
      ]).map((f) => [f.chunkId, f.score > 0]),
    ).toEqual([
      ["a", true],
      ["z", false],
    ]);
  });
});

describe("the offline embedder (hashed n-grams)", () => {
  const e = new HashedNgramEmbedder();
  const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

  it("is deterministic and unit-length", async () => {
    const [a] = await e.embedDocuments(["masked language model"]);
    expect(a).toEqual(await e.embedQuery("masked language model"));
    expect(Math.hypot(...a!)).toBeCloseTo(1);
    expect(a).toHaveLength(512);
  });

  it("places shared wording closer than unrelated text", async () => {
    const [q, near, far] = await e.embedDocuments([
      "masked language modelling objective",
      "the masked language model objective predicts tokens",
      "zebras migrate across the savanna",
    ]);
    expect(cos(q!, near!)).toBeGreaterThan(cos(q!, far!) + 0.2);
  });
});

describe("BM25 in Postgres (embedded)", () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime("embedded");
    const docs = [
      ["cats.txt", "Cats purr. Cats sleep most of the day. A cat is a small feline."],
      ["dogs.txt", "Dogs bark at strangers. A dog is loyal."],
      ["mixed.txt", "Cats and dogs can live together, although a cat may hiss at a dog."],
    ];
    for (const [name, text] of docs) {
      const { document } = await rt.services.documents.create({
        name: name!,
        contentType: "text/plain",
        bytes: new TextEncoder().encode(text),
      });
      await rt.waitReady(document.id);
    }
  });
  afterAll(async () => rt?.close());

  it("goes on without a vector index or a reranker that fails, and says which stage it did without", async () => {
    const { db, embedder, vectors } = rt.services;
    const question = { question: "cat purr", topK: 3 };
    const lexicalOnly = await new Retriever(db, embedder, vectors, undefined, {
      bm25: 1,
      vector: 0,
    }).retrieve(question);
    const index = {
      ...vectors,
      kind: vectors.kind,
      search: () => Promise.reject(new Error("vector store unreachable")),
    } as VectorIndex;
    const nothingListens = `http://127.0.0.1:${(await freePorts(1))[0]}/rerank`;
    const service: string[] = [];
    const caller: string[] = [];
    const degraded = new Retriever(
      db,
      embedder,
      index,
      new HttpReranker(nothingListens, undefined),
      { bm25: 1, vector: 1 },
      undefined,
      (stage) => service.push(stage),
    );
    const hits = await degraded.retrieve(question, (stage, error) =>
      caller.push(`${stage}: ${(error as Error).message}`),
    );
    // BM25 alone, in the fused order, since the reranker's scores never came.
    expect(hits.map((h) => h.chunkId)).toEqual(lexicalOnly.map((h) => h.chunkId));
    expect(service).toEqual(["vector", "rerank"]);
    expect(caller).toEqual(["vector: vector store unreachable", "rerank: fetch failed"]);
  });

  it("answers through the API while the configured reranker is away, counting each query it did without", async () => {
    const away = await startRuntime("embedded", {
      RERANK_URL: `http://127.0.0.1:${(await freePorts(1))[0]}/rerank`,
    });
    try {
      for (const [name, text] of [
        ["cats.txt", "Cats purr. A cat is a small feline."],
        ["dogs.txt", "Dogs bark at strangers."],
      ] as const) {
        const { document } = await away.services.documents.create({
          name,
          contentType: "text/plain",
          bytes: new TextEncoder().encode(text),
        });
        await away.waitReady(document.id);
      }
      // Two candidates: the reranker is asked (one would need no reranking).
      const res = await away.app.inject({
        method: "POST",
        url: "/v1/retrieve",
        headers: auth(),
        payload: { question: "cats purr, dogs bark", topK: 2 },
      });
      expect(res.statusCode).toBe(200);
      expect(
        res
          .json()
          .retrieved.map((r: { documentName: string }) => r.documentName)
          .sort(),
      ).toEqual(["cats.txt", "dogs.txt"]);
      const metrics = await away.app.inject({ method: "GET", url: "/metrics" });
      expect(metrics.body).toMatch(/^rag_retrieval_degraded_total\{stage="rerank"\} 1$/m);
    } finally {
      await away.close();
    }
  });

  it("ranks by term frequency and rarity", async () => {
    const hits = await rt.services.retriever.retrieve({ question: "cat purr", topK: 3 });
    expect(hits[0]!.documentName).toBe("cats.txt");
    expect(hits.map((h) => h.documentName)).not.toContain("dogs.txt");
  });

  it("scores exactly as textbook Okapi BM25 over the chunks, filtered or not", async () => {
    // The reference reads the chunks table only: it checks the query's postings, their lengths
    // and the per-document totals against what was indexed.
    const chunks = await rt.services.db.query<{
      id: string;
      document_id: string;
      heading: string | null;
      text: string;
      token_count: number;
    }>("SELECT id, document_id, heading, text, token_count FROM chunks");
    const tokens = new Map(
      chunks.map((c) => [c.id, tokenize(c.heading ? `${c.heading}\n${c.text}` : c.text)]),
    );
    const avgdl = chunks.reduce((n, c) => n + c.token_count, 0) / chunks.length;
    const query = tokenize("cat purrs at a dog");
    const expected = new Map<string, number>();
    for (const term of new Set(query)) {
      const df = chunks.filter((c) => tokens.get(c.id)!.includes(term)).length;
      const idf = Math.log(1 + (chunks.length - df + 0.5) / (df + 0.5));
      for (const c of chunks) {
        const tf = tokens.get(c.id)!.filter((t) => t === term).length;
        if (tf === 0) continue;
        const s =
          (idf * tf * (BM25.k1 + 1)) /
          (tf + BM25.k1 * (1 - BM25.b + (BM25.b * c.token_count) / avgdl));
        expected.set(c.id, (expected.get(c.id) ?? 0) + s);
      }
    }
    const got = await bm25Search(rt.services.db, query, 10);
    expect(got.map((g) => g.chunkId).sort()).toEqual([...expected.keys()].sort());
    for (const g of got) expect(g.score).toBeCloseTo(expected.get(g.chunkId)!, 9);
    expect(got.map((g) => g.score)).toEqual([...got.map((g) => g.score)].sort((a, b) => b - a));

    // A filter narrows the candidates; the statistics stay the corpus's.
    const dogs = chunks.find((c) => c.text.startsWith("Dogs bark"))!;
    const filtered = await bm25Search(rt.services.db, query, 10, {
      documentIds: [dogs.document_id],
    });
    expect(filtered.map((f) => f.chunkId)).toEqual([dogs.id]);
    expect(filtered[0]!.score).toBeCloseTo(expected.get(dogs.id)!, 9);
  });

  it("counts a deleted document out of the statistics at once", async () => {
    const [before] = await rt.services.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM postings WHERE term = 'cat'",
    );
    const cats = (await rt.services.documents.list({ limit: 10, offset: 0 })).items.find(
      (d) => d.name === "cats.txt",
    )!;
    await rt.services.documents.delete(cats.id);
    const [after] = await rt.services.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM postings WHERE term = 'cat'",
    );
    expect(after!.n).toBeLessThan(before!.n);
    const hits = await rt.services.retriever.retrieve({ question: "cat purr", topK: 3 });
    expect(hits[0]!.documentName).toBe("mixed.txt");
  });
});

describe.each(["exact", "hnsw"])("vector search in fusion (weight 1, VECTOR_INDEX=%s)", (index) => {
  let rt: Runtime;
  let catsId: string;
  beforeAll(async () => {
    rt = await startRuntime("embedded", { FUSION_VECTOR_WEIGHT: "1", VECTOR_INDEX: index });
    for (const [name, text, team] of [
      ["cats.txt", "Cats purr and sleep. A cat is a small feline that purrs.", "pets"],
      ["stars.txt", "Stars fuse hydrogen into helium in their cores.", "space"],
    ]) {
      const { document } = await rt.services.documents.create({
        name: name!,
        contentType: "text/plain",
        bytes: new TextEncoder().encode(text),
        metadata: { team: team! },
      });
      if (name === "cats.txt") catsId = document.id;
      await rt.waitReady(document.id);
    }
  });
  afterAll(async () => rt?.close());

  it("answers unfiltered from pgvector, through the access path asked for", async () => {
    expect(rt.services.vectors.kind).toBe("pgvector");
    const [plan] = await rt.services.db.query<{ "QUERY PLAN": unknown }>(
      `EXPLAIN (FORMAT JSON) SELECT chunk_id FROM chunk_vectors ORDER BY embedding <=> '[${Array(512).fill(0.1).join(",")}]'::vector LIMIT 2`,
    );
    // The planner takes the HNSW index whenever it exists; without it, a scan.
    const hasIndex =
      (
        await rt.services.db.query(
          "SELECT 1 FROM pg_indexes WHERE indexname = 'chunk_vectors_hnsw'",
        )
      ).length === 1;
    expect(hasIndex).toBe(index === "hnsw");
    expect(JSON.stringify(plan!["QUERY PLAN"]).includes("chunk_vectors_hnsw")).toBe(
      index === "hnsw",
    );
    const hits = await rt.services.vectors.search(
      rt.services.db,
      await rt.services.embedder.embedQuery("feline purring"),
      2,
    );
    expect(hits[0]!.chunkId.startsWith(catsId)).toBe(true);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
  });

  it("honours filters", async () => {
    const hits = await rt.services.vectors.search(
      rt.services.db,
      await rt.services.embedder.embedQuery("feline purring"),
      5,
      { metadata: { team: "space" } },
    );
    expect(hits.map((h) => h.chunkId.startsWith(catsId))).toEqual([false]);
    const fused = await rt.services.retriever.retrieve({
      question: "hydrogen",
      topK: 2,
      filters: { documentIds: [catsId] },
    });
    expect(fused.every((r) => r.documentId === catsId)).toBe(true);
  });
});
