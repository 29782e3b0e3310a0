/**
 * Re-embedding: moves the index to the embedding model the configuration names, from the chunk
 * text already stored (nothing is re-uploaded or re-parsed). The service refuses to start on an
 * index built with another model (EmbeddingMismatchError); this is the way forward:
 *
 *   node dist/reembed.js            (in the image: a Kubernetes Job, an ECS run-task)
 *   npm run reembed -w runtime      (from a checkout)
 *
 * with the new EMBEDDING_* settings, while the API and workers are stopped. When the model
 * changed it drops the old vectors and builds the index for the new one; in any case it embeds
 * every chunk that has no vector yet, one document per transaction, so an interrupted run is
 * finished by running it again (on Qdrant, whose points cannot be listed as cheaply, a rerun
 * embeds every chunk again).
 */
import { Classification } from "../auth/access";
import type { RuntimeConfig } from "../config";
import { openDb } from "../db/db";
import { migrate } from "../db/schema";
import { createEmbedder } from "../models/embedder";
import { indexedDocument, outsideDatabase } from "../search/vector-index";
import { loadTokenizer, tokenize } from "../search/tokenize";
import { openVectorIndex } from "../services";
import { embeddingText } from "./pipeline";

export interface ReembedResult {
  /** The model the index was built with, when there was one. */
  readonly from?: string;
  readonly to: string;
  /** The old vectors were dropped (the model changed). */
  readonly rebuilt: boolean;
  readonly documents: number;
  readonly chunks: number;
}

interface ChunkRow {
  id: string;
  ordinal: number;
  heading: string | null;
  text: string;
}

export async function reembed(
  config: RuntimeConfig,
  log: (line: string) => void = () => undefined,
): Promise<ReembedResult> {
  await loadTokenizer();
  const db = await openDb(config);
  try {
    const schema = await migrate(db, {
      requirePgvector: config.REQUIRE_PGVECTOR,
      classificationDefault: Classification.of(config).defaultLabel,
    });
    const embedder = await createEmbedder(config);
    const to = `${embedder.id}/${embedder.dimensions}`;
    const {
      index: vectors,
      previous: from,
      rebuilt,
    } = await openVectorIndex(config, db, schema, embedder, { rebuild: true });
    if (rebuilt) log(`the index was built with embeddings "${from}"; rebuilding it for "${to}"`);
    const outside = outsideDatabase(vectors);
    const documents = await db.query<Parameters<typeof indexedDocument>[0]>(
      "SELECT * FROM documents WHERE status = 'ready' ORDER BY created_at, id",
    );
    let done = 0;
    let chunks = 0;
    for (const doc of documents) {
      const rows = await db.query<ChunkRow>(
        outside
          ? "SELECT id, ordinal, heading, text FROM chunks WHERE document_id = $1 ORDER BY ordinal"
          : "SELECT c.id, c.ordinal, c.heading, c.text FROM chunks c WHERE c.document_id = $1 AND NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id) ORDER BY c.ordinal",
        [doc.id],
      );
      if (rows.length === 0) continue;
      const texts = rows.map(embeddingText);
      const embedded = await embedder.embedDocuments(texts);
      await db.transaction((tx) =>
        vectors.upsert(
          tx,
          indexedDocument(doc),
          rows.map((r, i) => ({
            id: r.id,
            ordinal: r.ordinal,
            tokens: tokenize(texts[i]!),
            vector: embedded[i]!,
          })),
        ),
      );
      done++;
      chunks += rows.length;
      if (done % 25 === 0) log(`${done} documents, ${chunks} chunks embedded`);
    }
    log(`${done} of ${documents.length} ready documents embedded (${chunks} chunks) with "${to}"`);
    return { ...(from ? { from } : {}), to, rebuilt, documents: done, chunks };
  } finally {
    await db.close();
  }
}
