/**
 * Indexing one document: read the original, parse, chunk, embed, then write chunks, postings and
 * vectors and mark the document ready in one transaction. A worker killed part-way leaves no
 * partial index; the retry starts over and replaces whatever a previous attempt committed.
 */
import type { Db } from "../db/db";
import { traced } from "../tracing";
import type { Embedder } from "../models/embedder";
import type { ObjectStore } from "../storage/object-store";
import { foldPendingTermStats, insertPostings, postingsOf } from "../search/bm25";
import { tokenize } from "../search/tokenize";
import {
  type IndexedDocument,
  indexedDocument,
  outsideDatabase,
  type VectorIndex,
} from "../search/vector-index";
import type { Chunk, ChunkOptions } from "./chunk";
import { detectKind, ParseError } from "./parse";
import type { ParseLimits } from "./parse-limits";
import type { Classification } from "../auth/access";
import { type Parsed, parseForIndex } from "./parse-thread";
import { piiCount, type PiiFindings, type PiiOptions } from "./pii";

/** What a chunk is embedded as: its heading (the section it sits in) and its text. */
export function embeddingText(chunk: { heading?: string | null; text: string }): string {
  return chunk.heading ? `${chunk.heading}\n${chunk.text}` : chunk.text;
}

/** How documents are parsed and chunked. */
export interface IngestOptions extends ChunkOptions {
  /** What parsing one document may take. @default the env contract's defaults (PARSE_*) */
  readonly parseLimits?: ParseLimits;
  /**
   * PII detection (pii.ts): what to look for, whether to redact it, and the label a document
   * with any gets at least (`raiseTo`, compared by `classification`). Unset: no scan.
   */
  readonly pii?: PiiOptions & {
    readonly raiseTo?: string;
    readonly classification: Classification;
  };
}

/** What a document records of its PII scan: the types found and their counts, never a value. */
export interface PiiRecord {
  readonly findings: PiiFindings;
  readonly redacted: boolean;
}

/** Chunks written per statement (with their postings and vectors): a few hundred milliseconds each. */
export const WRITE_BATCH_CHUNKS = 200;

export interface IndexResult {
  readonly status: "ready" | "failed" | "skipped";
  readonly chunks: number;
}

/** Hears how long each stage took. */
export type StageObserver = (stage: "parse" | "embed" | "index", ms: number) => void;

/** Runs a stage in its span, and tells `observe` how long it took. */
async function timed<T>(
  observe: StageObserver | undefined,
  stage: "parse" | "embed" | "index",
  fn: () => Promise<T>,
): Promise<T> {
  const start = performance.now();
  try {
    return await traced(`ingest.${stage}`, {}, fn);
  } finally {
    observe?.(stage, performance.now() - start);
  }
}

/**
 * The parse stage alone: the object store and the parser, no database, embedder or vector store
 * (the Kafka bus's parse role holds only this).
 */
export class ParseStage {
  constructor(
    private readonly store: ObjectStore,
    private readonly options: IngestOptions,
    private readonly observe?: StageObserver,
  ) {}

  /**
   * Reads the original and parses it into chunks, scanning the text for PII first when
   * configured (in the parsing thread; with redaction the chunks hold none of the values). A
   * ParseError is the document's own fault, as is a document with no text (a ParseError too).
   */
  async parse(doc: { name: string; content_type: string; object_key: string }): Promise<Parsed> {
    const bytes = await this.store.get(doc.object_key);
    const { parseLimits, pii, ...chunking } = this.options;
    const parsed = await timed(this.observe, "parse", () =>
      parseForIndex(
        detectKind(doc.content_type, doc.name, bytes),
        bytes,
        chunking,
        parseLimits,
        pii ? { entities: pii.entities, redact: pii.redact } : undefined,
      ),
    );
    if (parsed.chunks.length === 0) throw new ParseError("the document contains no text to index");
    return parsed;
  }
}

/** The embed stage alone: the embedder, nothing else (the Kafka bus's embed role holds only this). */
export class EmbedStage {
  constructor(
    readonly embedder: Embedder,
    private readonly observe?: StageObserver,
  ) {}

  /** Embeds the chunks (each with its heading). */
  embed(chunks: readonly Chunk[]): Promise<number[][]> {
    return timed(this.observe, "embed", () =>
      this.embedder.embedDocuments(chunks.map(embeddingText)),
    );
  }
}

export class IngestPipeline {
  readonly parser: ParseStage;
  readonly embedding: EmbedStage;

  constructor(
    private readonly db: Db,
    store: ObjectStore,
    embedder: Embedder,
    private readonly vectors: VectorIndex,
    private readonly options: IngestOptions,
    private readonly observe?: StageObserver,
  ) {
    this.parser = new ParseStage(store, options, observe);
    this.embedding = new EmbedStage(embedder, observe);
  }

  /** Indexes a document; a ParseError fails it for good, other errors are retried by the queue. */
  process(documentId: string, attempt: number): Promise<IndexResult> {
    return traced(
      "ingest.document",
      { "rag.document_id": documentId, "rag.attempt": attempt },
      () => this.index(documentId, attempt),
    );
  }

  private async index(documentId: string, attempt: number): Promise<IndexResult> {
    const [doc] = await this.db.query<{
      name: string;
      content_type: string;
      object_key: string;
      status: string;
      metadata: Record<string, unknown>;
    }>(
      "UPDATE documents SET status = 'indexing', attempts = $2, updated_at = now() WHERE id = $1 AND status <> 'ready' RETURNING name, content_type, object_key, status, metadata",
      [documentId, attempt],
    );
    if (!doc) return { status: "skipped", chunks: 0 };
    let parsed: Parsed;
    try {
      parsed = await this.parse(doc);
    } catch (error) {
      if (error instanceof ParseError) {
        await this.markFailed(documentId, error.message);
        return { status: "failed", chunks: 0 };
      }
      throw error;
    }
    const { chunks, pii } = parsed;
    const vectors = await this.embed(chunks);
    const status = await this.write(documentId, chunks, vectors, pii);
    return { status, chunks: status === "ready" ? chunks.length : 0 };
  }

  /** ParseStage.parse. */
  parse(doc: { name: string; content_type: string; object_key: string }): Promise<Parsed> {
    return this.parser.parse(doc);
  }

  /** EmbedStage.embed. */
  embed(chunks: readonly Chunk[]): Promise<number[][]> {
    return this.embedding.embed(chunks);
  }

  /**
   * Replaces the document's chunks, postings and vectors and marks it ready, in one transaction.
   * Chunk ids are the document's id and the chunk's ordinal: a write repeated (a redelivered job
   * or record) replaces the same rows and points. "skipped" when the document is gone.
   */
  async write(
    documentId: string,
    chunks: readonly Chunk[],
    vectors: readonly number[][],
    findings?: PiiFindings,
  ): Promise<"ready" | "skipped"> {
    const pii = this.options.pii;
    const piiRecord: PiiRecord | null = findings
      ? { findings, redacted: Boolean(pii?.redact) && piiCount(findings) > 0 }
      : null;
    const { ids, tokens } = await this.tokenized(documentId, chunks);
    const postings = ids.map((id, i) => postingsOf(id, tokens[i]!));
    return timed(this.observe, "index", () =>
      this.db
        .transaction(async (tx) => {
          // Held until commit: a delete of the document waits for this transaction, or went first
          // and then nothing is written (not even to an index outside the database).
          // The held row is what the index keeps beside each chunk (metadata, labels).
          const [held] = await tx.query<
            Parameters<typeof indexedDocument>[0] & { deleting_since: Date | null }
          >("SELECT * FROM documents WHERE id = $1 FOR UPDATE", [documentId]);
          // A document whose delete has begun takes no new index entries.
          if (!held || held.deleting_since) throw new DocumentGoneError(documentId);
          // Its label and groups go with every chunk (read under the lock: a relabel waits for
          // this commit, then updates the chunks written here).
          const document = this.labelled(held, findings);
          await tx.query("DELETE FROM chunks WHERE document_id = $1", [documentId]);
          // In batches: embedded, PGlite runs each statement on the event loop, and one statement
          // of a large document's every posting held the API (and /healthz) for seconds.
          for (let from = 0; from < chunks.length; from += WRITE_BATCH_CHUNKS) {
            const to = Math.min(from + WRITE_BATCH_CHUNKS, chunks.length);
            const batch = postings.slice(from, to);
            await tx.query(
              `INSERT INTO chunks (id, document_id, ordinal, heading, text, token_count, classification, access_groups)
             SELECT *, $7::text, $8::text[] FROM unnest($1::text[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::int[])`,
              [
                ids.slice(from, to),
                ids.slice(from, to).map(() => documentId),
                chunks.slice(from, to).map((c) => c.ordinal),
                chunks.slice(from, to).map((c) => c.heading ?? null),
                chunks.slice(from, to).map((c) => c.text),
                tokens.slice(from, to).map((t) => t.length),
                document.classification,
                [...document.accessGroups],
              ],
            );
            if (!this.vectors.lexical) await insertPostings(tx, batch);
            await this.vectors.upsert(
              tx,
              document,
              chunks.slice(from, to).map((c, i) => ({
                id: ids[from + i]!,
                ordinal: c.ordinal,
                tokens: tokens[from + i]!,
                vector: vectors[from + i]!,
              })),
            );
          }
          const updated = await tx.query(
            "UPDATE documents SET status = 'ready', chunk_count = $2, token_count = $3, error = NULL, classification = $4, pii = $5::jsonb, updated_at = now() WHERE id = $1 RETURNING id",
            [
              documentId,
              chunks.length,
              tokens.reduce((n, t) => n + t.length, 0),
              document.classification,
              piiRecord ? JSON.stringify(piiRecord) : null,
            ],
          );
          if (updated.length === 0) throw new DocumentGoneError(documentId);
        })
        .then(() => foldPendingTermStats(this.db)),
    ).then(
      () => "ready" as const,
      (error: unknown) => {
        if (!(error instanceof DocumentGoneError)) throw error;
        return "skipped" as const;
      },
    );
  }

  /**
   * Writes only the document's points in a vector store outside the database (Qdrant), for a
   * region whose catalogue is the primary's (its rows, postings and status are the primary's
   * index role's to write). Labels as `write` does, from the document's row as this region reads
   * it. "skipped" when the row is gone (deleted since), or when the vectors live in the database,
   * where the primary writes them.
   */
  async writeVectors(
    documentId: string,
    chunks: readonly Chunk[],
    vectors: readonly number[][],
    findings?: PiiFindings,
  ): Promise<"ready" | "skipped"> {
    if (!outsideDatabase(this.vectors)) return "skipped";
    const { ids, tokens } = await this.tokenized(documentId, chunks);
    return timed(this.observe, "index", async () => {
      const [row] = await this.db.query<Parameters<typeof indexedDocument>[0]>(
        "SELECT * FROM documents WHERE id = $1",
        [documentId],
      );
      if (!row) return "skipped" as const;
      const document = this.labelled(row, findings);
      for (let from = 0; from < chunks.length; from += WRITE_BATCH_CHUNKS) {
        const to = Math.min(from + WRITE_BATCH_CHUNKS, chunks.length);
        await this.vectors.upsert(
          this.db,
          document,
          chunks.slice(from, to).map((c, i) => ({
            id: ids[from + i]!,
            ordinal: c.ordinal,
            tokens: tokens[from + i]!,
            vector: vectors[from + i]!,
          })),
        );
      }
      return "ready" as const;
    });
  }

  /** The chunks' ids and terms (yielding between batches: a large document's tokenizing is long). */
  private async tokenized(
    documentId: string,
    chunks: readonly Chunk[],
  ): Promise<{ ids: string[]; tokens: string[][] }> {
    const ids = chunks.map((c) => `${documentId}:${c.ordinal}`);
    const tokens: string[][] = [];
    for (const [i, text] of chunks.map(embeddingText).entries()) {
      if (i > 0 && i % WRITE_BATCH_CHUNKS === 0) await new Promise((r) => setImmediate(r));
      tokens.push(tokenize(text));
    }
    return { ids, tokens };
  }

  /** The document as its chunks carry it: PII found raises its label (never lowers it). */
  private labelled(
    row: Parameters<typeof indexedDocument>[0],
    findings: PiiFindings | undefined,
  ): IndexedDocument {
    const pii = this.options.pii;
    const raiseTo = pii?.raiseTo && piiCount(findings) > 0 ? pii.raiseTo : undefined;
    const document = indexedDocument(row);
    return raiseTo
      ? { ...document, classification: pii!.classification.max(document.classification, raiseTo) }
      : document;
  }

  async markFailed(documentId: string, reason: string): Promise<void> {
    await this.db.query(
      "UPDATE documents SET status = 'failed', error = $2, updated_at = now() WHERE id = $1 AND status <> 'ready'",
      [documentId, reason.slice(0, 1000)],
    );
  }
}

class DocumentGoneError extends Error {
  constructor(id: string) {
    super(`document ${id} was deleted while it was indexed`);
  }
}
