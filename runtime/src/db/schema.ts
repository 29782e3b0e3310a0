/**
 * Migrations, run at start. Vectors live in pgvector when the database has it (HNSW-indexed or
 * scanned exactly, per VECTOR_INDEX); on a server without it they are `real[]` scanned exactly
 * (correct, slower: see the README).
 */
import type { VECTOR_INDEXES } from "../config";
import type { Db } from "./db";

export type VectorIndexKind = (typeof VECTOR_INDEXES)[number];

/** The HNSW index on chunk_vectors, present exactly when VECTOR_INDEX is hnsw (pgvector only). */
export const HNSW_INDEX = "chunk_vectors_hnsw";

export class PgvectorMissingError extends Error {
  constructor() {
    super(
      "pgvector is required (REQUIRE_PGVECTOR=true) but this PostgreSQL server has no `vector` extension: install pgvector or use a server that has it (RDS, Azure and Cloud SQL do)",
    );
    this.name = "PgvectorMissingError";
  }
}

export class EmbeddingMismatchError extends Error {
  constructor(stored: string, current: string) {
    super(
      `the index was built with embeddings "${stored}" but the service is configured for "${current}": re-embed the stored chunks with the new settings (node dist/reembed.js; npm run reembed -w runtime) while the service is stopped, or restore the previous EMBEDDING_* settings`,
    );
    this.name = "EmbeddingMismatchError";
  }
}

/**
 * The label rows existing before classification get: CLASSIFICATION_DEFAULT, which `migrate`
 * binds to this setting for its transaction (a migration is plain SQL, so it reads it from there).
 */
const DEFAULT_LABEL_SETTING = "rag.classification_default";
const DEFAULT_LABEL_SQL = `coalesce(current_setting('${DEFAULT_LABEL_SETTING}', true), 'internal')`;

/** Schema versions in order; version n is MIGRATIONS[n - 1]. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE documents (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     name text NOT NULL,
     content_type text NOT NULL,
     content_hash text NOT NULL UNIQUE,
     size_bytes bigint NOT NULL,
     object_key text NOT NULL,
     metadata jsonb NOT NULL DEFAULT '{}',
     status text NOT NULL CHECK (status IN ('queued', 'indexing', 'ready', 'failed')),
     error text,
     chunk_count int NOT NULL DEFAULT 0,
     attempts int NOT NULL DEFAULT 0,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   );
   CREATE INDEX documents_status ON documents (status);
   CREATE INDEX documents_metadata ON documents USING gin (metadata jsonb_path_ops);
   CREATE TABLE chunks (
     id text PRIMARY KEY,
     document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
     ordinal int NOT NULL,
     heading text,
     text text NOT NULL,
     token_count int NOT NULL,
     UNIQUE (document_id, ordinal)
   );
   CREATE TABLE postings (
     term text NOT NULL,
     chunk_id text NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
     tf int NOT NULL,
     PRIMARY KEY (term, chunk_id)
   );
   CREATE INDEX postings_chunk ON postings (chunk_id);
   CREATE TABLE api_keys (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     name text NOT NULL,
     role text NOT NULL CHECK (role IN ('reader', 'ingester', 'admin')),
     key_hash text NOT NULL UNIQUE,
     created_at timestamptz NOT NULL DEFAULT now(),
     revoked_at timestamptz
   );
   CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);`,
  // 2: BM25 without scanning the corpus. Postings carry their chunk's length and the primary key
  // covers (tf, dl), so a query term's postings and document frequency are index-only reads;
  // documents carry their token total, so the corpus size and mean length are a sum over documents.
  `ALTER TABLE postings ADD COLUMN dl int;
   UPDATE postings p SET dl = c.token_count FROM chunks c WHERE c.id = p.chunk_id;
   ALTER TABLE postings ALTER COLUMN dl SET NOT NULL;
   ALTER TABLE postings DROP CONSTRAINT postings_pkey;
   ALTER TABLE postings ADD CONSTRAINT postings_pkey PRIMARY KEY (term, chunk_id) INCLUDE (tf, dl);
   ALTER TABLE documents ADD COLUMN token_count bigint NOT NULL DEFAULT 0;
   UPDATE documents d SET token_count = coalesce((SELECT sum(c.token_count) FROM chunks c WHERE c.document_id = d.id), 0);`,
  // 3: browser sessions of single sign-on, server-side (auth/session.ts): the cookie holds a
  // random id, stored hashed; the provider's refresh token is kept encrypted.
  `CREATE TABLE browser_sessions (
     id_hash text PRIMARY KEY,
     sub text NOT NULL,
     role text NOT NULL CHECK (role IN ('reader', 'ingester', 'admin')),
     name text,
     refresh_token text,
     created_at timestamptz NOT NULL DEFAULT now(),
     checked_at timestamptz NOT NULL DEFAULT now(),
     expires_at timestamptz NOT NULL
   );
   CREATE INDEX browser_sessions_expires ON browser_sessions (expires_at);`,
  // 4: when a browser session was last used, for the idle timeout (SESSION_IDLE_SECONDS).
  `ALTER TABLE browser_sessions ADD COLUMN seen_at timestamptz NOT NULL DEFAULT now();`,
  // 5: the orphan sweep asks which stored originals a document names (storage/sweeper.ts).
  `CREATE INDEX documents_object_key ON documents (object_key);`,
  // 6: the request that uploaded (or retried) a document, in the worker's log lines about it.
  `ALTER TABLE documents ADD COLUMN request_id text;`,
  // 7: BM25 at scale (search/bm25.ts). Per term: document frequency, largest tf and shortest
  // chunk (the score's upper bound), so a query need not count postings nor read a frequent
  // term's. Triggers on postings append each statement's per-term change in its own transaction
  // (append-only: concurrent indexing never waits on a hot term's row); foldTermStats() sums
  // them into bm25_terms. Each trigger function is one line: migrations split at ";" + newline.
  `CREATE TABLE bm25_terms (term text PRIMARY KEY, df bigint NOT NULL, max_tf int NOT NULL, min_dl int NOT NULL);
   CREATE TABLE bm25_term_changes (term text NOT NULL, df bigint NOT NULL, max_tf int NOT NULL, min_dl int NOT NULL);
   CREATE INDEX bm25_term_changes_term ON bm25_term_changes (term) INCLUDE (df, max_tf, min_dl);
   CREATE FUNCTION bm25_postings_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO bm25_term_changes SELECT term, count(*), max(tf), min(dl) FROM added GROUP BY term; RETURN NULL; END $$;
   CREATE FUNCTION bm25_postings_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO bm25_term_changes SELECT term, -count(*), 0, 2147483647 FROM removed GROUP BY term; RETURN NULL; END $$;
   CREATE FUNCTION bm25_postings_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO bm25_term_changes SELECT term, -count(*), 0, 2147483647 FROM removed GROUP BY term; INSERT INTO bm25_term_changes SELECT term, count(*), max(tf), min(dl) FROM added GROUP BY term; RETURN NULL; END $$;
   CREATE FUNCTION bm25_postings_truncated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM bm25_terms; DELETE FROM bm25_term_changes; RETURN NULL; END $$;
   CREATE TRIGGER bm25_postings_added AFTER INSERT ON postings REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bm25_postings_added();
   CREATE TRIGGER bm25_postings_removed AFTER DELETE ON postings REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION bm25_postings_removed();
   CREATE TRIGGER bm25_postings_changed AFTER UPDATE ON postings REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION bm25_postings_changed();
   CREATE TRIGGER bm25_postings_truncated AFTER TRUNCATE ON postings FOR EACH STATEMENT EXECUTE FUNCTION bm25_postings_truncated();
   INSERT INTO bm25_terms SELECT term, count(*), max(tf), min(dl) FROM postings GROUP BY term;`,
  // 8: legal holds (retention/holds.ts), on a document or on a collection (metadata.collection),
  // which block delete and the retention purge; the purge finds a collection's documents by index.
  `CREATE TABLE legal_holds (
     scope text NOT NULL CHECK (scope IN ('document', 'collection')),
     target text NOT NULL,
     reason text NOT NULL,
     set_by text NOT NULL,
     set_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (scope, target)
   );
   CREATE INDEX documents_collection ON documents ((metadata ->> 'collection'), created_at);`,
  // 9: classification and access groups (auth/access.ts). Each document has a label and the
  // groups it is restricted to (empty: none); its chunks carry both, so searches filter on them
  // without the documents table. Keys and browser sessions carry a clearance and groups; existing
  // rows get the configured default label (see migrate) and no groups. Admin keys are unrestricted
  // whatever these say.
  `ALTER TABLE documents ADD COLUMN classification text;
   UPDATE documents SET classification = ${DEFAULT_LABEL_SQL};
   ALTER TABLE documents ALTER COLUMN classification SET NOT NULL;
   ALTER TABLE documents ADD COLUMN access_groups text[] NOT NULL DEFAULT '{}';
   CREATE INDEX documents_classification ON documents (classification);
   ALTER TABLE chunks ADD COLUMN classification text;
   UPDATE chunks c SET classification = d.classification FROM documents d WHERE d.id = c.document_id;
   ALTER TABLE chunks ALTER COLUMN classification SET NOT NULL;
   ALTER TABLE chunks ADD COLUMN access_groups text[] NOT NULL DEFAULT '{}';
   ALTER TABLE api_keys ADD COLUMN clearance text;
   UPDATE api_keys SET clearance = ${DEFAULT_LABEL_SQL};
   ALTER TABLE api_keys ALTER COLUMN clearance SET NOT NULL;
   ALTER TABLE api_keys ADD COLUMN groups text[] NOT NULL DEFAULT '{}';
   ALTER TABLE browser_sessions ADD COLUMN clearance text;
   ALTER TABLE browser_sessions ADD COLUMN groups text[] NOT NULL DEFAULT '{}';`,
  // 10: what the PII scan at ingest found in a document (ingest/pii.ts): {findings: {type: count},
  // redacted}, never a value; null when no scan ran.
  `ALTER TABLE documents ADD COLUMN pii jsonb;`,
  // 11: conversations per user (routes/conversations.ts) and feedback on answers, kept with what
  // the answer was made from so it can be exported as an evaluation set.
  `CREATE TABLE conversations (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     owner text NOT NULL,
     title text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now()
   );
   CREATE INDEX conversations_owner ON conversations (owner, updated_at DESC);
   CREATE TABLE conversation_messages (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
     ordinal int NOT NULL,
     role text NOT NULL CHECK (role IN ('user', 'assistant')),
     content text NOT NULL,
     standalone text,
     retrieved jsonb,
     citations jsonb,
     model text,
     created_at timestamptz NOT NULL DEFAULT now(),
     UNIQUE (conversation_id, ordinal)
   );
   CREATE TABLE feedback (
     id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
     owner text NOT NULL,
     message_id uuid REFERENCES conversation_messages (id) ON DELETE SET NULL,
     rating text NOT NULL CHECK (rating IN ('up', 'down')),
     comment text,
     question text NOT NULL,
     answer text NOT NULL,
     chunk_ids jsonb NOT NULL,
     cited_chunk_ids jsonb NOT NULL,
     model text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now()
   );
   CREATE INDEX feedback_owner ON feedback (owner);
   CREATE UNIQUE INDEX feedback_message ON feedback (message_id);`,
  // 12: a document whose delete has begun (retention/holds.ts claimForDelete): no legal hold may
  // be set on it, and indexing writes nothing more for it. Null: not being deleted.
  `ALTER TABLE documents ADD COLUMN deleting_since timestamptz;`,
  // 13: the change log the in-memory BM25 copies catch up from (search/bm25-memory.ts), one row
  // per chunk a statement changes, with its transaction's id: 'p' postings inserted, carrying all
  // the chunk then has; 'd' all its postings deleted; 'u' changed otherwise (a copy reads the
  // chunk's postings again); 'a' its label or groups changed; 'r' the postings truncated (copies
  // load afresh). Rows older than BM25_LOG_KEEP_MINUTES go at the statistics' fold.
  `CREATE TABLE bm25_log (seq bigserial PRIMARY KEY, xid xid8 NOT NULL DEFAULT pg_current_xact_id(), at timestamptz NOT NULL DEFAULT clock_timestamp(), chunk_id text NOT NULL, kind "char" NOT NULL CHECK (kind IN ('p', 'd', 'u', 'a', 'r')), terms text[], tfs int[], dl int);
   CREATE INDEX bm25_log_xid ON bm25_log (xid);
   CREATE INDEX bm25_log_at ON bm25_log (at);
   CREATE OR REPLACE FUNCTION bm25_postings_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO bm25_term_changes SELECT term, count(*), max(tf), min(dl) FROM added GROUP BY term; INSERT INTO bm25_log (chunk_id, kind, terms, tfs, dl) SELECT chunk_id, kind, CASE WHEN kind = 'p' THEN terms END, CASE WHEN kind = 'p' THEN tfs END, dl FROM (SELECT a.chunk_id, (CASE WHEN (SELECT count(*) FROM postings p WHERE p.chunk_id = a.chunk_id) = a.n THEN 'p' ELSE 'u' END)::"char" AS kind, a.terms, a.tfs, a.dl FROM (SELECT chunk_id, count(*) AS n, array_agg(term) AS terms, array_agg(tf) AS tfs, max(dl) AS dl FROM added GROUP BY chunk_id) a) x; RETURN NULL; END $$;
   CREATE OR REPLACE FUNCTION bm25_postings_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO bm25_term_changes SELECT term, -count(*), 0, 2147483647 FROM removed GROUP BY term; INSERT INTO bm25_log (chunk_id, kind) SELECT r.chunk_id, (CASE WHEN EXISTS (SELECT 1 FROM postings p WHERE p.chunk_id = r.chunk_id) THEN 'u' ELSE 'd' END)::"char" FROM (SELECT DISTINCT chunk_id FROM removed) r; RETURN NULL; END $$;
   CREATE OR REPLACE FUNCTION bm25_postings_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO bm25_term_changes SELECT term, -count(*), 0, 2147483647 FROM removed GROUP BY term; INSERT INTO bm25_term_changes SELECT term, count(*), max(tf), min(dl) FROM added GROUP BY term; INSERT INTO bm25_log (chunk_id, kind) SELECT chunk_id, 'u' FROM removed UNION SELECT chunk_id, 'u' FROM added; RETURN NULL; END $$;
   CREATE OR REPLACE FUNCTION bm25_postings_truncated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM bm25_terms; DELETE FROM bm25_term_changes; INSERT INTO bm25_log (chunk_id, kind) VALUES ('', 'r'); RETURN NULL; END $$;
   CREATE FUNCTION bm25_chunks_relabelled() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO bm25_log (chunk_id, kind) SELECT n.id, 'a' FROM relabelled_new n JOIN relabelled_old o ON o.id = n.id WHERE n.classification IS DISTINCT FROM o.classification OR n.access_groups IS DISTINCT FROM o.access_groups; RETURN NULL; END $$;
   CREATE TRIGGER bm25_chunks_relabelled AFTER UPDATE ON chunks REFERENCING OLD TABLE AS relabelled_old NEW TABLE AS relabelled_new FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_relabelled();`,
];

export interface SchemaInfo {
  readonly pgvector: boolean;
}

/**
 * Applies pending migrations under an advisory lock (several replicas may start at once).
 * `classificationDefault` labels the rows that predate classification (default "internal").
 */
export async function migrate(
  db: Db,
  options: { requirePgvector: boolean; classificationDefault?: string },
): Promise<SchemaInfo> {
  const pgvector = await db.enablePgvector().catch(() => false);
  if (!pgvector && options.requirePgvector) throw new PgvectorMissingError();
  await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(727274)");
    await tx.query("SELECT set_config($1, $2, true)", [
      DEFAULT_LABEL_SETTING,
      options.classificationDefault ?? "internal",
    ]);
    await tx.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const done = new Set(
      (await tx.query<{ version: number }>("SELECT version FROM schema_migrations")).map(
        (r) => r.version,
      ),
    );
    for (const [i, sql] of MIGRATIONS.entries()) {
      if (done.has(i + 1)) continue;
      for (const statement of sql.split(/;\s*\n/).filter((s) => s.trim()))
        await tx.query(statement);
      await tx.query("INSERT INTO schema_migrations (version) VALUES ($1)", [i + 1]);
    }
  });
  return { pgvector };
}

/**
 * Creates the vector table for the embedder's dimensions on first start; afterwards refuses a
 * different embedding model (vectors of two models cannot be compared), unless asked to
 * `rebuild`: then the other model's vectors are dropped and the table made afresh, for
 * re-embedding (ingest/reembed.ts). With pgvector, the HNSW index is made to match `index` on
 * every start: created (over the rows already there) for "hnsw", dropped for "exact", where
 * queries scan with pgvector's own distance instead. Says which model the index held before.
 */
export async function ensureVectorTable(
  db: Db,
  schema: SchemaInfo,
  embedding: { id: string; dimensions: number },
  index: VectorIndexKind = "hnsw",
  options: { rebuild?: boolean } = {},
): Promise<{ previous?: string; rebuilt: boolean }> {
  const fingerprint = `${embedding.id}/${embedding.dimensions}`;
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(727275)");
    const stored = (
      await tx.query<{ value: string }>("SELECT value FROM settings WHERE key = 'embedding'")
    )[0]?.value;
    const rebuilt = stored !== undefined && stored !== fingerprint;
    if (rebuilt && !options.rebuild) throw new EmbeddingMismatchError(stored, fingerprint);
    if (rebuilt) {
      await tx.query("DROP TABLE IF EXISTS chunk_vectors");
      await tx.query("DELETE FROM settings WHERE key = 'embedding'");
    }
    if (!stored || rebuilt) {
      const column = schema.pgvector ? `vector(${embedding.dimensions})` : "real[]";
      await tx.query(
        `CREATE TABLE IF NOT EXISTS chunk_vectors (chunk_id text PRIMARY KEY REFERENCES chunks (id) ON DELETE CASCADE, embedding ${column} NOT NULL)`,
      );
      await tx.query("INSERT INTO settings (key, value) VALUES ('embedding', $1)", [fingerprint]);
    }
    if (schema.pgvector) {
      await tx.query(
        index === "hnsw"
          ? `CREATE INDEX IF NOT EXISTS ${HNSW_INDEX} ON chunk_vectors USING hnsw (embedding vector_cosine_ops)`
          : `DROP INDEX IF EXISTS ${HNSW_INDEX}`,
      );
    }
    return { ...(stored !== undefined ? { previous: stored } : {}), rebuilt };
  });
}
