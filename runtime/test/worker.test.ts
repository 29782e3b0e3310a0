/**
 * Worker crash and shutdown against the real PostgreSQL and Redis: a worker killed mid-document
 * leaves nothing partial and the next worker indexes the document exactly once; SIGTERM lets a
 * worker finish its in-flight job. Embeddings come from an OpenAI-compatible server in this
 * test that can hold a request (the only stand-in: no model runs here).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../src/config";
import { chunkText } from "../src/ingest/chunk";
import { waitFor } from "../src/queue/queue";
import { createServices, type Services } from "../src/services";
import { modeEnv } from "./support";

const DIMS = 16;

/** /v1/embeddings: deterministic vectors; document batches wait while `hold` is set. */
class EmbeddingServer {
  hold = false;
  batchesSeen = 0;
  private server?: Server;
  private readonly waiting: (() => void)[] = [];

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const input = (JSON.parse(body) as { input: string[] }).input;
        const answer = () => {
          const data = input.map((text, index) => ({
            object: "embedding",
            index,
            embedding: Array.from(
              { length: DIMS },
              (_, i) => createHash("sha256").update(`${i}:${text}`).digest()[0]! / 255 - 0.5,
            ),
          }));
          res.writeHead(200, { "content-type": "application/json" }).end(
            JSON.stringify({
              object: "list",
              data,
              model: "fake-embed",
              usage: { prompt_tokens: 0, total_tokens: 0 },
            }),
          );
        };
        const isDocumentBatch = input.some((t) => !t.startsWith("dimension probe"));
        if (isDocumentBatch) this.batchesSeen++;
        if (isDocumentBatch && this.hold) this.waiting.push(answer);
        else answer();
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  release(): void {
    this.hold = false;
    this.waiting.splice(0).forEach((answer) => answer());
  }

  async stop(): Promise<void> {
    this.release();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

const TEXT = Array.from(
  { length: 40 },
  (_, i) =>
    `## Section ${i + 1}\n\n${`Paragraph ${i + 1} talks about retrieval, ranking and crash recovery in distributed workers. `.repeat(12)}`,
).join("\n\n");

function spawnWorker(env: Record<string, string>, port: number): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", join(__dirname, "..", "src", "worker.ts")], {
    cwd: join(__dirname, ".."),
    env: { ...process.env, ...env, WORKER_HEALTH_PORT: String(port) },
    stdio: ["ignore", "ignore", process.env.WORKER_STDERR ? "inherit" : "pipe"],
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((r) =>
    child.exitCode !== null || child.signalCode !== null
      ? r(child.exitCode)
      : child.once("exit", (code) => r(code)),
  );

describe("the ingest worker (PostgreSQL + Redis)", () => {
  const embeddings = new EmbeddingServer();
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let api: Services;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const base = await modeEnv("server");
    cleanup = base.cleanup;
    env = {
      ...base.env,
      EMBEDDING_PROVIDER: "openai",
      EMBEDDING_BASE_URL: await embeddings.start(),
      EMBEDDING_MODEL: "fake-embed",
      QUEUE_LOCK_MS: "1500",
    };
    api = await createServices(loadRuntimeConfig(env));
  });

  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await api?.close();
    await embeddings.stop();
    await cleanup?.();
  });

  it("resumes a document after its worker is killed, without duplicates or loss", async () => {
    embeddings.hold = true;
    const { document } = await api.documents.create({
      name: "long.md",
      contentType: "text/markdown",
      bytes: new TextEncoder().encode(TEXT),
    });
    const first = spawnWorker(env, 18181);
    children.push(first);
    await waitFor(async () => embeddings.batchesSeen > 0, 30_000, "the first worker to embed");
    expect((await api.documents.get(document.id))!.status).toBe("indexing");
    first.kill("SIGKILL");
    await exited(first);
    const [partial] = await api.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM chunks WHERE document_id = $1",
      [document.id],
    );
    expect(partial!.n).toBe(0);

    embeddings.release();
    const second = spawnWorker(env, 18182);
    children.push(second);
    await waitFor(
      async () => (await api.documents.get(document.id))!.status === "ready",
      60_000,
      "the second worker to finish the document",
    );

    const expected = chunkText(TEXT, {
      sizeWords: api.config.CHUNK_SIZE_TOKENS,
      overlapWords: api.config.CHUNK_OVERLAP_TOKENS,
    }).length;
    const [counts] = await api.db.query<{
      chunks: number;
      ordinals: number;
      vectors: number;
      docs: number;
    }>(
      `SELECT (SELECT count(*) FROM chunks WHERE document_id = $1)::int AS chunks,
              (SELECT count(DISTINCT ordinal) FROM chunks WHERE document_id = $1)::int AS ordinals,
              (SELECT count(*) FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id WHERE c.document_id = $1)::int AS vectors,
              (SELECT count(*) FROM documents)::int AS docs`,
      [document.id],
    );
    expect(counts).toEqual({ chunks: expected, ordinals: expected, vectors: expected, docs: 1 });
    // The second worker took the stalled job over and embedded the document again.
    expect(embeddings.batchesSeen).toBeGreaterThanOrEqual(2);
    expect((await api.documents.get(document.id))!.chunkCount).toBe(expected);
    const hits = await api.retriever.retrieve({
      question: "crash recovery in distributed workers",
      topK: 3,
    });
    expect(hits.length).toBe(3);

    second.kill("SIGKILL");
    await exited(second);
  }, 120_000);

  it("finishes its in-flight job on SIGTERM before exiting", async () => {
    // Only this test's worker may take the job.
    for (const c of children.splice(0)) {
      c.kill("SIGKILL");
      await exited(c);
    }
    const worker = spawnWorker(env, 18183);
    children.push(worker);
    await waitFor(
      async () =>
        await fetch("http://127.0.0.1:18183/healthz")
          .then((r) => r.ok)
          .catch(() => false),
      30_000,
      "the worker to start",
    );
    embeddings.hold = true;
    const seen = embeddings.batchesSeen;
    const { document } = await api.documents.create({
      name: "second.md",
      contentType: "text/markdown",
      bytes: new TextEncoder().encode(`${TEXT}\n\nOne more paragraph for a new hash.`),
    });
    await waitFor(
      async () => embeddings.batchesSeen > seen,
      30_000,
      "the worker to start embedding",
    );
    worker.kill("SIGTERM");
    setTimeout(() => embeddings.release(), 500);
    expect(await exited(worker)).toBe(0);
    expect((await api.documents.get(document.id))!.status).toBe("ready");
  }, 120_000);

  it("gives up waiting at SHUTDOWN_TIMEOUT_SECONDS (inside the platform's grace period) and exits 1; the job is taken over", async () => {
    for (const c of children.splice(0)) {
      c.kill("SIGKILL");
      await exited(c);
    }
    const worker = spawnWorker({ ...env, SHUTDOWN_TIMEOUT_SECONDS: "2" }, 18184);
    children.push(worker);
    await waitFor(
      async () =>
        await fetch("http://127.0.0.1:18184/healthz")
          .then((r) => r.ok)
          .catch(() => false),
      30_000,
      "the worker to start",
    );
    embeddings.hold = true;
    const seen = embeddings.batchesSeen;
    const { document } = await api.documents.create({
      name: "third.md",
      contentType: "text/markdown",
      bytes: new TextEncoder().encode(`${TEXT}\n\nA third variant.`),
    });
    await waitFor(
      async () => embeddings.batchesSeen > seen,
      30_000,
      "the worker to start embedding",
    );
    const signalled = Date.now();
    worker.kill("SIGTERM");
    expect(await exited(worker)).toBe(1);
    const waited = Date.now() - signalled;
    expect(waited).toBeGreaterThanOrEqual(1_900);
    expect((await api.documents.get(document.id))!.status).not.toBe("ready");
    // Another worker takes the abandoned job over once its lock lapses.
    embeddings.release();
    const next = spawnWorker(env, 18185);
    children.push(next);
    await waitFor(
      async () => (await api.documents.get(document.id))!.status === "ready",
      90_000,
      "the next worker to index the abandoned document",
    );
  }, 150_000);
});
