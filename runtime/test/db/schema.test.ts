import { describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { openDb } from "../../src/db/db";
import { EmbeddingMismatchError, ensureVectorTable, migrate, PgvectorMissingError } from "../../src/db/schema";
import { freshDatabase, modeEnv } from "../support";

describe("migrations on this machine's PostgreSQL (no pgvector)", () => {
  it("fall back to exact vector scans, or refuse in one line when pgvector is required", async () => {
    const { url, drop } = await freshDatabase();
    const db = await openDb(loadRuntimeConfig({ DATABASE_URL: url }));
    try {
      const schema = await migrate(db, { requirePgvector: false });
      expect(schema.pgvector).toBe(false);
      await ensureVectorTable(db, schema, { id: "local-hashed-ngrams", dimensions: 4 });
      const [column] = await db.query<{ data_type: string }>("SELECT data_type FROM information_schema.columns WHERE table_name = 'chunk_vectors' AND column_name = 'embedding'");
      expect(column!.data_type).toBe("ARRAY");
      const error = await migrate(db, { requirePgvector: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PgvectorMissingError);
      expect((error as Error).message.split("\n")).toHaveLength(1);
      expect((error as Error).message).toMatch(/^pgvector is required \(REQUIRE_PGVECTOR=true\) but this PostgreSQL server has no `vector` extension/);
    } finally {
      await db.close();
      await drop();
    }
  });
});

describe("migrations on embedded PGlite", () => {
  it("use pgvector with an HNSW index, are idempotent, and refuse a different embedding model", async () => {
    const { env, cleanup } = await modeEnv("embedded");
    const db = await openDb(loadRuntimeConfig(env));
    try {
      const schema = await migrate(db, { requirePgvector: true });
      expect(schema.pgvector).toBe(true);
      await migrate(db, { requirePgvector: true });
      await ensureVectorTable(db, schema, { id: "ollama:nomic-embed-text:v1.5", dimensions: 768 });
      const [index] = await db.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname = 'chunk_vectors_hnsw'");
      expect(index!.indexdef).toContain("hnsw");
      await expect(ensureVectorTable(db, schema, { id: "openai:text-embedding-3-small", dimensions: 1536 })).rejects.toThrow(EmbeddingMismatchError);
      await expect(ensureVectorTable(db, schema, { id: "openai:text-embedding-3-small", dimensions: 1536 })).rejects.toThrow(
        'the index was built with embeddings "ollama:nomic-embed-text:v1.5/768" but the service is configured for "openai:text-embedding-3-small/1536"',
      );
    } finally {
      await db.close();
      await cleanup();
    }
  });
});
