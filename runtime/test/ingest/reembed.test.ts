/**
 * Re-embedding (src/ingest/reembed.ts): an index built with one embedding model is refused at
 * start under another, and re-embedding moves it over from the stored chunks, in both modes
 * (pgvector in PGlite; real[] on this machine's PostgreSQL), finishing an interrupted run.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { openDb } from "../../src/db/db";
import { EmbeddingMismatchError } from "../../src/db/schema";
import { reembed } from "../../src/ingest/reembed";
import { createServices } from "../../src/services";
import { MODES, modeEnv, runEntry } from "../support";
import { qdrantStandIn } from "../search/qdrant-stand-in";

const DOCS = [
  [
    "lighthouse.txt",
    "The lighthouse keeper lit the lamp at dusk and wound the clockwork that turned the lens.",
  ],
  [
    "bakery.txt",
    "The baker kneads sourdough before dawn and bakes rye loaves in a wood-fired oven.",
  ],
] as const;

describe.each(MODES)("re-embedding (%s)", (mode) => {
  it("moves an index built with another model to the configured one, from the stored chunks, and finishes an interrupted run", async () => {
    const { env, cleanup } = await modeEnv(mode);
    try {
      // Built with 256-dimensional vectors.
      const before = await createServices(
        loadRuntimeConfig({ ...env, EMBEDDING_DIMENSIONS: "256" }),
      );
      await before.startWorker();
      for (const [name, text] of DOCS) {
        const { document } = await before.documents.create({
          name,
          contentType: "text/plain",
          bytes: new TextEncoder().encode(text),
        });
        await expect
          .poll(async () => (await before.documents.get(document.id))?.status, { timeout: 30_000 })
          .toBe("ready");
      }
      const [{ n: chunkCount }] = (await before.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM chunks",
      )) as [{ n: number }];
      await before.close();

      // The default model (512 dimensions) is refused, with the way forward.
      const refused = await createServices(loadRuntimeConfig(env)).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(EmbeddingMismatchError);
      expect((refused as Error).message).toContain("node dist/reembed.js");

      const lines: string[] = [];
      expect(await reembed(loadRuntimeConfig(env), (l) => lines.push(l))).toEqual({
        from: "local-hashed-ngrams/256",
        to: "local-hashed-ngrams/512",
        rebuilt: true,
        documents: 2,
        chunks: chunkCount,
      });
      expect(lines[0]).toBe(
        'the index was built with embeddings "local-hashed-ngrams/256"; rebuilding it for "local-hashed-ngrams/512"',
      );

      // It starts, every chunk has a 512-dimensional vector, and vector search (BM25 off) finds by meaning of the words.
      const after = await createServices(
        loadRuntimeConfig({ ...env, FUSION_BM25_WEIGHT: "0", FUSION_VECTOR_WEIGHT: "1" }),
      );
      try {
        const dims =
          after.vectors.kind === "pgvector"
            ? "vector_dims(embedding)"
            : "array_length(embedding, 1)";
        expect(
          await after.db.query(
            `SELECT ${dims}::int AS d, count(*)::int AS n FROM chunk_vectors GROUP BY 1`,
          ),
        ).toEqual([{ d: 512, n: chunkCount }]);
        const [top] = await after.retriever.retrieve({
          question: "who kneads the sourdough loaves",
          topK: 1,
        });
        expect(top?.documentName).toBe("bakery.txt");
      } finally {
        await after.close();
      }

      // Nothing left to do; then an interrupted run (vectors missing) is finished by running again.
      expect(await reembed(loadRuntimeConfig(env))).toMatchObject({
        rebuilt: false,
        documents: 0,
        chunks: 0,
      });
      const db = await openDb(loadRuntimeConfig(env));
      try {
        await db.query(
          "DELETE FROM chunk_vectors WHERE chunk_id IN (SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.name = 'lighthouse.txt')",
        );
      } finally {
        await db.close();
      }
      expect(await reembed(loadRuntimeConfig(env))).toMatchObject({ rebuilt: false, documents: 1 });
    } finally {
      await cleanup();
    }
  }, 120_000);
});

describe("the reembed command", () => {
  const command = (env: Record<string, string>) => runEntry("reembed", [], env);

  it("reports what it did, and refuses a bad setting in plain words", async () => {
    const ok = await command({ DATA_DIR: mkdtempSync(join(tmpdir(), "rag-reembed-")) });
    expect(ok).toMatchObject({
      code: 0,
      stdout:
        'reembed: 0 of 0 ready documents embedded (0 chunks) with "local-hashed-ngrams/512"\n',
    });
    const bad = await command({
      DATA_DIR: mkdtempSync(join(tmpdir(), "rag-reembed-")),
      EMBEDDING_PROVIDER: "word2vec",
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^reembed: invalid runtime configuration:\n {2}EMBEDDING_PROVIDER: got "word2vec"; /,
    );
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe("moving to SEARCH_BACKEND=qdrant", () => {
  it("fills the hybrid collection from the chunks the catalogue holds: dense and sparse vectors, one point per chunk", async () => {
    const { env, cleanup } = await modeEnv("embedded");
    const standIn = await qdrantStandIn();
    try {
      const before = await createServices(loadRuntimeConfig(env));
      await before.startWorker();
      for (const [name, text] of DOCS) {
        const { document } = await before.documents.create({
          name,
          contentType: "text/plain",
          bytes: new TextEncoder().encode(text),
        });
        await expect
          .poll(async () => (await before.documents.get(document.id))?.status, { timeout: 30_000 })
          .toBe("ready");
      }
      const chunks = await before.db.query<{ id: string }>("SELECT id FROM chunks ORDER BY id");
      await before.close();

      const qdrant = { ...env, SEARCH_BACKEND: "qdrant", QDRANT_URL: standIn.url };
      const result = await reembed(loadRuntimeConfig(qdrant));
      expect(result).toMatchObject({ rebuilt: false, documents: 2, chunks: chunks.length });
      const points = standIn.points("chunks");
      expect(points.map((p) => p.payload.chunk_id).sort()).toEqual(chunks.map((c) => c.id));
      expect(points.every((p) => p.vector.dense.length === 512)).toBe(true);
      expect(points.every((p) => p.vector.bm25.indices.length > 0)).toBe(true);
    } finally {
      await standIn.close();
      await cleanup();
    }
  });
});
