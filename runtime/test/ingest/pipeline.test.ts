/**
 * The ingest pipeline against the real PostgreSQL, with a document deleted while it is being
 * indexed: nothing of it is left, in the database or in a vector index outside it (as Qdrant is:
 * what is written to it stays whatever the database's transaction does).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DocumentService } from "../../src/ingest/documents";
import { IngestPipeline } from "../../src/ingest/pipeline";
import type { Embedder } from "../../src/models/embedder";
import type { VectorIndex } from "../../src/search/vector-index";
import { type Runtime, startRuntime } from "../support";

describe("a document deleted while it is indexed", () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime("server", {}, { worker: false });
  });
  afterAll(async () => rt?.close());

  /** The real index, recording what is asked of it and standing for one outside the database. */
  function outsideIndex(
    calls: string[],
    beforeUpsert: () => Promise<void> = async () => undefined,
  ): VectorIndex {
    const real = rt.services.vectors;
    return {
      kind: "qdrant",
      upsert: async (...args) => {
        calls.push("upsert");
        await beforeUpsert();
        return real.upsert(...args);
      },
      deleteDocument: async (id) => {
        calls.push("delete");
        return real.deleteDocument(id);
      },
      search: (...args) => real.search(...args),
      setAccess: (...args) => real.setAccess(...args),
      check: () => real.check(),
    };
  }

  async function upload(name: string): Promise<string> {
    const { document } = await rt.services.documents.create({
      name,
      contentType: "text/markdown",
      bytes: new TextEncoder().encode(
        `# ${name}\n\nThis document is deleted while it is being indexed.`,
      ),
    });
    return document.id;
  }

  async function leftOf(id: string): Promise<number> {
    const [row] = await rt.services.db.query<{ n: number }>(
      "SELECT (SELECT count(*) FROM documents WHERE id = $1)::int + (SELECT count(*) FROM chunks WHERE document_id = $1)::int + (SELECT count(*) FROM postings WHERE chunk_id LIKE $1 || ':%')::int AS n",
      [id],
    );
    return row!.n;
  }

  it("before its index transaction: nothing is written anywhere, and the job is skipped", async () => {
    const { db, store, queue, embedder } = rt.services;
    const id = await upload("early.md");
    const calls: string[] = [];
    const index = outsideIndex(calls);
    const deleting: Embedder = {
      id: embedder.id,
      dimensions: embedder.dimensions,
      embedQuery: (text) => embedder.embedQuery(text),
      embedDocuments: async (texts) => {
        await new DocumentService(db, store, queue, index).delete(id);
        return embedder.embedDocuments(texts);
      },
    };
    const result = await new IngestPipeline(db, store, deleting, index, {
      sizeWords: 256,
      overlapWords: 40,
    }).process(id, 1);
    expect(result.status).toBe("skipped");
    expect(calls).toEqual(["delete"]);
    expect(await leftOf(id)).toBe(0);
  });

  it("during its index transaction: the delete waits for it, then clears the outside index after its write", async () => {
    const { db, store, queue, embedder } = rt.services;
    const id = await upload("late.md");
    const calls: string[] = [];
    let deletion: Promise<boolean> | undefined;
    const index: VectorIndex = outsideIndex(calls, async () => {
      deletion = new DocumentService(db, store, queue, index).delete(id);
      // Let the delete reach its claim and wait there for this transaction's lock.
      await new Promise((r) => setTimeout(r, 300));
    });
    const result = await new IngestPipeline(db, store, embedder, index, {
      sizeWords: 256,
      overlapWords: 40,
    }).process(id, 1);
    expect(result.status).toBe("ready");
    expect(await deletion).toBe(true);
    // The delete's claim waited for the index transaction: its one clear comes after the write.
    expect(calls).toEqual(["upsert", "delete"]);
    expect(await leftOf(id)).toBe(0);
  });
});
