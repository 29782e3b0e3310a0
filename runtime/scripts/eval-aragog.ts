/**
 * npm run eval:aragog: ingests the ARAGOG papers through the real pipeline (upload -> object
 * store -> queue -> parse -> chunk -> embed -> index, embedded PGlite) and prints mean recall and
 * hit rate of the top 3 retrieved chunks on dev.json, per the dataset's README. Then the answers:
 * the configured generator (LLM_PROVIDER; the offline extractive answerer by default) answers
 * each question from the top 5 chunks, as POST /v1/query does by default, scored with the same
 * token recall against the reference answer, so generators can be compared on one figure.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadRuntimeConfig } from "../src/config";
import { contextsOf } from "../src/routes/query";
import { waitFor } from "../src/queue/queue";
import { createServices } from "../src/services";
import { recall, summarize } from "./aragog-metric";

const DATA = resolve(
  process.env.ARAGOG_DIR ?? join(__dirname, "..", "..", "..", "shared", "data", "aragog"),
);

interface Entry {
  question: string;
  answer: string;
  file: string;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "aragog-"));
  const config = loadRuntimeConfig({
    ...process.env,
    DATA_DIR: dataDir,
    DATABASE_URL: undefined,
    PGHOST: undefined,
    REDIS_URL: undefined,
    REDIS_HOST: undefined,
  });
  const services = await createServices(config);
  try {
    await services.startWorker();
    const started = performance.now();
    const papers = readdirSync(join(DATA, "papers")).filter((f) => f.endsWith(".pdf"));
    for (const file of papers) {
      await services.documents.create({
        name: file,
        contentType: "application/pdf",
        bytes: readFileSync(join(DATA, "papers", file)),
      });
    }
    await waitFor(
      async () =>
        (await services.documents.list({ limit: 1, offset: 0, status: "ready" })).total ===
        papers.length,
      600_000,
      "every paper to be indexed",
    );
    const chunks = (
      await services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM chunks")
    )[0]!.n;
    console.log(
      `indexed ${papers.length} papers into ${chunks} chunks in ${((performance.now() - started) / 1000).toFixed(1)} s (embedder ${services.embedder.id}, vectors ${services.vectors.kind})`,
    );

    const entries = JSON.parse(readFileSync(join(DATA, "dev.json"), "utf8")) as Entry[];
    const recalls: number[] = [];
    let fileHits = 0;
    for (const e of entries) {
      const top = await services.retriever.retrieve({ question: e.question, topK: 3 });
      recalls.push(
        recall(
          e.answer,
          top.map((t) => t.text),
        ),
      );
      if (top.some((t) => t.documentName === e.file)) fileHits++;
      if (process.env.VERBOSE)
        console.log(
          `${recalls.at(-1)!.toFixed(2)}  ${e.file.padEnd(22)} ${e.question.slice(0, 90)}`,
        );
    }
    const { meanRecall, hitRate } = summarize(recalls);
    console.log(
      `\nARAGOG dev.json, ${entries.length} questions, top 3 chunks (first 256 words each):`,
    );
    console.log(`  mean recall  ${meanRecall.toFixed(3)}`);
    console.log(
      `  hit rate     ${hitRate.toFixed(3)}   (recall >= 0.5; best dense reference pipeline: 0.735)`,
    );
    console.log(`  right paper in top 3: ${fileHits}/${entries.length}`);

    const answerRecalls: number[] = [];
    let words = 0;
    for (const e of entries) {
      const answer = await services.generator.generate(
        e.question,
        contextsOf(await services.retriever.retrieve({ question: e.question, topK: 5 })),
      );
      answerRecalls.push(recall(e.answer, [answer]));
      words += answer.split(/\s+/).filter(Boolean).length;
    }
    const answers = summarize(answerRecalls);
    console.log(
      `\nanswers by ${services.generator.id} from the top 5 chunks (reference answer's tokens found in the answer):`,
    );
    console.log(`  mean recall  ${answers.meanRecall.toFixed(3)}`);
    console.log(`  hit rate     ${answers.hitRate.toFixed(3)}   (recall >= 0.5)`);
    console.log(`  mean length  ${(words / entries.length).toFixed(0)} words`);
  } finally {
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
