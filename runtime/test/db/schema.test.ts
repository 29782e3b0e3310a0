import { describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { openDb } from "../../src/db/db";
import {
  EmbeddingMismatchError,
  ensureVectorTable,
  migrate,
  MIGRATIONS,
  PgvectorMissingError,
} from "../../src/db/schema";
import { freshDatabase, modeEnv } from "../support";

/** CI names which kind of server it gives the suite, so the branch taken is not left to chance. */
const EXPECT_PGVECTOR = process.env.TEST_PG_EXPECT_PGVECTOR;

describe("migrations on the test PostgreSQL server", () => {
  it("use pgvector with its HNSW index when the server has it; else fall back to exact scans, or refuse in one line when pgvector is required", async () => {
    const { url, drop } = await freshDatabase();
    const db = await openDb(loadRuntimeConfig({ DATABASE_URL: url }));
    try {
      const available =
        (await db.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).length ===
        1;
      if (EXPECT_PGVECTOR !== undefined)
        expect(available, "TEST_PG_EXPECT_PGVECTOR").toBe(EXPECT_PGVECTOR === "true");
      const schema = await migrate(db, { requirePgvector: false });
      expect(schema.pgvector).toBe(available);
      await ensureVectorTable(db, schema, { id: "local-hashed-ngrams", dimensions: 4 }, "hnsw");
      const [column] = await db.query<{ data_type: string; udt_name: string }>(
        "SELECT data_type, udt_name FROM information_schema.columns WHERE table_name = 'chunk_vectors' AND column_name = 'embedding'",
      );
      const hnsw = await db.query(
        "SELECT 1 FROM pg_indexes WHERE indexname = 'chunk_vectors_hnsw'",
      );
      if (available) {
        // This machine's PostgreSQL 15 has no pgvector; GitHub CI runs this branch on pgvector/pgvector.
        expect(column).toEqual({ data_type: "USER-DEFINED", udt_name: "vector" });
        expect(hnsw).toHaveLength(1);
        expect(await migrate(db, { requirePgvector: true })).toEqual({ pgvector: true });
      } else {
        expect(column!.data_type).toBe("ARRAY");
        expect(hnsw).toEqual([]);
        const error = await migrate(db, { requirePgvector: true }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PgvectorMissingError);
        expect((error as Error).message.split("\n")).toHaveLength(1);
        expect((error as Error).message).toMatch(
          /^pgvector is required \(REQUIRE_PGVECTOR=true\) but this PostgreSQL server has no `vector` extension/,
        );
      }
    } finally {
      await db.close();
      await drop();
    }
  });
});

describe("upgrading a version-1 index", () => {
  it("backfills chunk lengths into postings and token totals into documents, keeping every row", async () => {
    const { url, drop } = await freshDatabase();
    const db = await openDb(loadRuntimeConfig({ DATABASE_URL: url }));
    try {
      await db.transaction(async (tx) => {
        await tx.query(
          "CREATE TABLE schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        );
        for (const statement of MIGRATIONS[0]!.split(/;\s*\n/).filter((x) => x.trim()))
          await tx.query(statement);
        await tx.query("INSERT INTO schema_migrations (version) VALUES (1)");
        await tx.query(
          "INSERT INTO documents (id, name, content_type, content_hash, size_bytes, object_key, status, chunk_count) VALUES ('00000000-0000-4000-8000-000000000001', 'a.txt', 'text/plain', 'h', 10, 'k', 'ready', 2)",
        );
        await tx.query(
          "INSERT INTO chunks (id, document_id, ordinal, text, token_count) VALUES ('c0', '00000000-0000-4000-8000-000000000001', 0, 'x', 7), ('c1', '00000000-0000-4000-8000-000000000001', 1, 'y', 5)",
        );
        await tx.query(
          "INSERT INTO postings (term, chunk_id, tf) VALUES ('cat', 'c0', 2), ('dog', 'c0', 1), ('cat', 'c1', 1)",
        );
      });
      await migrate(db, { requirePgvector: false });
      expect(
        await db.query("SELECT term, chunk_id, tf, dl FROM postings ORDER BY chunk_id, term"),
      ).toEqual([
        { term: "cat", chunk_id: "c0", tf: 2, dl: 7 },
        { term: "dog", chunk_id: "c0", tf: 1, dl: 7 },
        { term: "cat", chunk_id: "c1", tf: 1, dl: 5 },
      ]);
      expect(await db.query("SELECT token_count::int AS n FROM documents")).toEqual([{ n: 12 }]);
      const [pk] = await db.query<{ indexdef: string }>(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'postings_pkey'",
      );
      expect(pk!.indexdef).toContain("(term, chunk_id) INCLUDE (tf, dl)");
      expect(await db.query("SELECT max(version)::int AS v FROM schema_migrations")).toEqual([
        { v: MIGRATIONS.length },
      ]);
    } finally {
      await db.close();
      await drop();
    }
  });
});

describe("migrations on embedded PGlite", () => {
  it("use pgvector with the HNSW index VECTOR_INDEX asks for, are idempotent, and refuse a different embedding model", async () => {
    const { env, cleanup } = await modeEnv("embedded");
    const db = await openDb(loadRuntimeConfig(env));
    try {
      const schema = await migrate(db, { requirePgvector: true });
      expect(schema.pgvector).toBe(true);
      await migrate(db, { requirePgvector: true });
      await ensureVectorTable(
        db,
        schema,
        { id: "ollama:nomic-embed-text:v1.5", dimensions: 768 },
        "hnsw",
      );
      const hnsw = () =>
        db.query<{ indexdef: string }>(
          "SELECT indexdef FROM pg_indexes WHERE indexname = 'chunk_vectors_hnsw'",
        );
      expect((await hnsw())[0]!.indexdef).toContain("USING hnsw (embedding vector_cosine_ops)");
      // VECTOR_INDEX is declarative: exact drops the index, hnsw builds it again.
      await ensureVectorTable(
        db,
        schema,
        { id: "ollama:nomic-embed-text:v1.5", dimensions: 768 },
        "exact",
      );
      expect(await hnsw()).toEqual([]);
      await ensureVectorTable(
        db,
        schema,
        { id: "ollama:nomic-embed-text:v1.5", dimensions: 768 },
        "hnsw",
      );
      expect(await hnsw()).toHaveLength(1);
      await expect(
        ensureVectorTable(db, schema, { id: "openai:text-embedding-3-small", dimensions: 1536 }),
      ).rejects.toThrow(EmbeddingMismatchError);
      await expect(
        ensureVectorTable(db, schema, { id: "openai:text-embedding-3-small", dimensions: 1536 }),
      ).rejects.toThrow(
        'the index was built with embeddings "ollama:nomic-embed-text:v1.5/768" but the service is configured for "openai:text-embedding-3-small/1536"',
      );
    } finally {
      await db.close();
      await cleanup();
    }
  });
});
