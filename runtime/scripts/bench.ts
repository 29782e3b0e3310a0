/**
 * npm run bench -w runtime -- --bus kafka,bullmq [--docs 1000] [--rounds 1]: distributed ingest (bench-ingest.ts)
 * npm run bench -w runtime [-- --sizes 10000,100000 --backends embedded,postgres --queries 50 --vector-weight 1 --vector-index hnsw|exact]
 *   [--part all|retrieval|bm25 --bm25-sizes 10000,100000 --million --bm25-vocabulary 300000 --bm25-s 1.05 --bm25-chunk-tokens 50 --keep]
 *
 * Two parts. Retrieval, below. BM25 (bench-bm25.ts): the exhaustive query beside the pruned
 * plan on a Zipf corpus loaded in SQL, at --bm25-sizes (--million adds 1,000,000 chunks,
 * server only), with the top-10 overlap, a filtered run and the ingest cost before/after.
 *
 * Ingest throughput (chunks/s through the real pipeline: queue, parse, chunk, embed, index) and
 * query latency p50/p95 (hybrid retrieval, top 5) at each corpus size, embedded (PGlite with
 * pgvector) and on PostgreSQL (BENCH_PG_URL, default the local server; without pgvector the
 * vectors are scanned exactly). Documents are synthetic text drawn from the ARAGOG papers'
 * vocabulary, so term statistics look like real prose. Queries start once the index is
 * maintained: embedded mode waits for its own VACUUM (ANALYZE); on the server the bench runs it,
 * standing in for autovacuum (which this machine's PostgreSQL has switched off). Per-stage means
 * (BM25, vector) come from the service's own retrieval metrics. Prints a table; asserts nothing.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadRuntimeConfig } from "../src/config";
import { vacuumSearchTables } from "../src/db/maintenance";
import { HNSW_INDEX } from "../src/db/schema";
import { parseDocument } from "../src/ingest/parse";
import { waitFor } from "../src/queue/queue";
import { createServices } from "../src/services";
import { benchIngest, type Bus } from "./bench-ingest";
import { benchBm25 } from "./bench-bm25";
import { freshPgDatabase } from "./bench-db";

const ARAGOG = resolve(
  process.env.ARAGOG_DIR ?? join(__dirname, "..", "..", "..", "shared", "data", "aragog"),
);
const WORDS_PER_CHUNK = 256;
const CHUNKS_PER_DOC = 50;

/** A deterministic pseudo-random generator, so runs compare. */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1664525 + 1013904223) % 4294967296) / 4294967296;
}

async function vocabulary(): Promise<string[]> {
  const words: string[] = [];
  for (const f of readdirSync(join(ARAGOG, "papers")).slice(0, 6)) {
    const text = await parseDocument(
      "pdf",
      new Uint8Array(readFileSync(join(ARAGOG, "papers", f))),
    );
    words.push(...text.split(/\s+/).filter((w) => /^[A-Za-z][A-Za-z-]{1,20}[.,]?$/.test(w)));
  }
  return words;
}

function document(words: string[], next: () => number): string {
  const sections: string[] = [];
  for (let c = 0; c < CHUNKS_PER_DOC; c++) {
    const sentences: string[] = [];
    for (let n = 0; n < WORDS_PER_CHUNK; n += 16)
      sentences.push(
        `${Array.from({ length: 16 }, () => words[Math.floor(next() * words.length)]!.replace(/[.,]$/, "")).join(" ")}.`,
      );
    sections.push(`## Section ${c + 1}\n\n${sentences.join(" ")}`);
  }
  return sections.join("\n\n");
}

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

interface Result {
  backend: string;
  chunks: number;
  ingestSeconds: number;
  chunksPerSecond: number;
  p50: number;
  p95: number;
  bm25Ms: number | undefined;
  vectorMs: number | undefined;
  vectors: string;
}

async function run(
  backend: "embedded" | "postgres",
  chunks: number,
  words: string[],
  questions: string[],
  vectorWeight: string,
  vectorIndex: string | undefined,
): Promise<Result> {
  const dataDir = mkdtempSync(join(tmpdir(), "rag-bench-"));
  const db = backend === "postgres" ? await freshPgDatabase() : undefined;
  const config = loadRuntimeConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: "error",
    WORKER_CONCURRENCY: "4",
    FUSION_VECTOR_WEIGHT: vectorWeight,
    MAX_UPLOAD_BYTES: String(64 * 1024 * 1024),
    ...(vectorIndex ? { VECTOR_INDEX: vectorIndex } : {}),
    ...(db ? { DATABASE_URL: db.url } : {}),
  });
  const services = await createServices(config);
  try {
    await services.startWorker();
    const next = rng(42);
    const docs = Math.ceil(chunks / CHUNKS_PER_DOC);
    const started = performance.now();
    for (let d = 0; d < docs; d++) {
      await services.documents.create({
        name: `doc-${d}.md`,
        contentType: "text/markdown",
        bytes: new TextEncoder().encode(document(words, next)),
      });
    }
    await waitFor(
      async () =>
        (await services.documents.list({ limit: 1, offset: 0, status: "ready" })).total === docs,
      4 * 3600_000,
      "the corpus to be indexed",
    );
    const ingestSeconds = (performance.now() - started) / 1000;
    if (services.maintenance) await services.maintenance.settled();
    else await vacuumSearchTables(services.db);
    const [{ n }] = (await services.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM chunks",
    )) as [{ n: number }];
    for (const q of questions.slice(0, 5))
      await services.retriever.retrieve({ question: q, topK: 5 });
    services.metrics.retrievalStage.reset();
    const latencies: number[] = [];
    for (const q of questions) {
      const t = performance.now();
      await services.retriever.retrieve({ question: q, topK: 5 });
      latencies.push(performance.now() - t);
    }
    const stages = (await services.metrics.retrievalStage.get()).values;
    const meanMs = (stage: string) => {
      const of = (suffix: string) =>
        stages.find(
          (v) =>
            v.metricName === `rag_retrieval_stage_duration_seconds_${suffix}` &&
            v.labels.stage === stage,
        )?.value ?? 0;
      return of("count") > 0 ? (1000 * of("sum")) / of("count") : undefined;
    };
    return {
      backend,
      chunks: n,
      ingestSeconds,
      chunksPerSecond: n / ingestSeconds,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      bm25Ms: meanMs("bm25"),
      vectorMs: meanMs("vector"),
      vectors:
        services.vectors.kind === "pgvector"
          ? `pgvector ${(await services.db.query("SELECT 1 FROM pg_indexes WHERE indexname = $1", [HNSW_INDEX])).length > 0 ? "hnsw" : "exact"}`
          : services.vectors.kind,
    };
  } finally {
    await services.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: "string", default: "10000,100000" },
      backends: { type: "string", default: "embedded,postgres" },
      queries: { type: "string", default: "50" },
      // 1 exercises the vector path (pgvector HNSW or the exact scan) on every query.
      "vector-weight": { type: "string", default: "1" },
      // pgvector's access path (VECTOR_INDEX); unset, each backend takes the service's default.
      "vector-index": { type: "string" },
      part: { type: "string", default: "all" },
      "bm25-sizes": { type: "string", default: "10000,100000" },
      million: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      "bm25-vocabulary": { type: "string", default: "300000" },
      "bm25-s": { type: "string", default: "1.05" },
      "bm25-chunk-tokens": { type: "string", default: "50" },
      // Distributed ingest (scripts/bench-ingest.ts): kafka, bullmq, or both.
      bus: { type: "string" },
      docs: { type: "string", default: "1000" },
      rounds: { type: "string", default: "1" },
    },
  });
  if (values.bus)
    return benchIngest({
      buses: values.bus.split(",") as Bus[],
      docs: Number(values.docs),
      rounds: Number(values.rounds),
    });
  if (!["all", "retrieval", "bm25"].includes(values.part))
    throw new Error(`--part: got ${values.part}; expected all, retrieval or bm25`);
  const bm25 = () =>
    benchBm25({
      sizes: [
        ...values["bm25-sizes"].split(",").map(Number),
        ...(values.million ? [1_000_000] : []),
      ],
      backends: values.backends.split(",") as ("embedded" | "postgres")[],
      queries: Number(values.queries),
      vocabulary: Number(values["bm25-vocabulary"]),
      s: Number(values["bm25-s"]),
      chunkTokens: Number(values["bm25-chunk-tokens"]),
      keep: values.keep,
    });
  if (values.part === "bm25") return bm25();
  const sizes = values.sizes.split(",").map(Number);
  const backends = values.backends.split(",") as ("embedded" | "postgres")[];
  const words = await vocabulary();
  const dev = JSON.parse(readFileSync(join(ARAGOG, "dev.json"), "utf8")) as { question: string }[];
  const questions = Array.from(
    { length: Number(values.queries) },
    (_, i) => dev[i % dev.length]!.question,
  );
  // Rows print as they complete: a long run is readable before it ends.
  const widths = [8, 14, 7, 9, 9, 13, 13, 13, 15];
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(
    [
      fmt([
        "backend",
        "vectors",
        "chunks",
        "ingest s",
        "chunks/s",
        "query p50 ms",
        "query p95 ms",
        "bm25 mean ms",
        "vector mean ms",
      ]),
      `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ].join("\n"),
  );
  for (const backend of backends) {
    for (const size of sizes) {
      process.stderr.write(`bench: ${backend}, ${size} chunks...\n`);
      const r = await run(
        backend,
        size,
        words,
        questions,
        values["vector-weight"],
        values["vector-index"],
      );
      console.log(
        fmt([
          r.backend,
          r.vectors,
          String(r.chunks),
          r.ingestSeconds.toFixed(1),
          r.chunksPerSecond.toFixed(0),
          r.p50.toFixed(1),
          r.p95.toFixed(1),
          r.bm25Ms?.toFixed(1) ?? "-",
          r.vectorMs?.toFixed(1) ?? "-",
        ]),
      );
    }
  }
  console.log(
    `\n${questions.length} queries per row (retrieval top 5: BM25 + document prior + vectors at fusion weight ${values["vector-weight"]}, offline embedder), ${CHUNKS_PER_DOC} chunks of ${WORDS_PER_CHUNK} words per document, worker concurrency 4.`,
  );
  if (values.part === "all") await bm25();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
