/**
 * Each Kafka role opens only what it uses (kafka/stage-services.ts, services.ts): parse and embed
 * run with no database configured and never connect to one they are given; the catalogue's upkeep
 * (the orphan sweep of the store uploads go to) runs only in the index role of the region that
 * writes the catalogue, and another region's index role sweeps only its own replica.
 */
import { randomUUID } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRuntimeConfig } from "../../src/config";
import { waitFor } from "../../src/queue/queue";
import { createServices, createWorkerServices, type WorkerServices } from "../../src/services";
import { qdrantStandIn } from "../search/qdrant-stand-in";
import {
  auth,
  freshDatabase,
  kafkaEnv,
  type Runtime,
  silentServer,
  startRuntime,
} from "../support";

const text = `# Tide log\n\n${Array.from({ length: 30 }, (_, i) => `Entry ${i}: the tide rose ${i * 2} centimetres at the ${i % 2 ? "north" : "south"} pier.`).join(" ")}`;

/** An original no document names, two hours old: what an orphan sweep removes. */
function orphanIn(root: string): string {
  const key = `documents/${randomUUID()}`;
  mkdirSync(join(root, "documents"), { recursive: true });
  writeFileSync(join(root, key), "left behind");
  const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60_000);
  utimesSync(join(root, key), twoHoursAgo, twoHoursAgo);
  return key;
}

describe("the Kafka roles, each in a process of its own", () => {
  const objects = mkdtempSync(join(tmpdir(), "rag-roles-objects-"));
  const replica = mkdtempSync(join(tmpdir(), "rag-roles-replica-"));
  const dirs: string[] = [];
  const workers: WorkerServices[] = [];
  let api: Runtime;
  let bus: Record<string, string>;

  /** A worker process's services for `role`, on the API's bus and store, with `env` beside. */
  async function worker(role: string, env: Record<string, string> = {}) {
    const dataDir = mkdtempSync(join(tmpdir(), `rag-role-${role}-`));
    dirs.push(dataDir);
    const services = await createWorkerServices(
      loadRuntimeConfig({
        ...bus,
        DATA_DIR: dataDir,
        LOG_LEVEL: "error",
        OBJECT_STORE_URL: `file://${objects}`,
        WORKER_ROLE: role,
        ...env,
      }),
    );
    workers.push(services);
    await services.startWorker();
    return { services, dataDir };
  }

  beforeAll(async () => {
    bus = await kafkaEnv();
    api = await startRuntime(
      "kafka",
      { ...bus, OBJECT_STORE_URL: `file://${objects}` },
      { worker: false },
    );
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    await api?.close();
    for (const dir of [objects, replica, ...dirs]) rmSync(dir, { recursive: true, force: true });
  });

  it("parse and embed process a document with no database, and never open one they are given", async () => {
    const database = await silentServer();
    const qdrant = await silentServer();
    try {
      // Parse with nothing of the catalogue configured: an embedded database would be made in
      // its DATA_DIR.
      const parse = await worker("parse");
      // Embed given a database and a vector store anyway: it must not connect to either.
      const embed = await worker("embed", {
        DATABASE_URL: `postgres://rag@127.0.0.1:${database.port}/rag`,
        VECTOR_STORE: "qdrant",
        QDRANT_URL: qdrant.url,
      });
      await worker("index", { DATABASE_URL: api.env.DATABASE_URL! });
      const res = await api.app.inject({
        method: "POST",
        url: "/v1/documents",
        headers: auth(),
        payload: { name: "tides.md", text, contentType: "text/markdown" },
      });
      expect(res.statusCode).toBe(202);
      await api.waitReady(res.json().id as string);
      const chunks = await api.services.db.query("SELECT 1 FROM chunks WHERE document_id = $1", [
        res.json().id,
      ]);
      expect(chunks.length).toBeGreaterThan(0);
      expect(database.connections()).toBe(0);
      expect(qdrant.connections()).toBe(0);
      expect(readdirSync(parse.dataDir)).toEqual([]);
      expect(readdirSync(embed.dataDir)).toEqual([]);
    } finally {
      await database.close();
      await qdrant.close();
    }
  });

  it("sweeps the store's orphans only in the catalogue's region; another region's index sweeps its replica", async () => {
    const inStore = orphanIn(objects);
    const inReplica = orphanIn(replica);
    // Another region's index: its log a replica of the primary's, its store's replica its own.
    await worker("index", {
      ...(await kafkaEnv()),
      DATABASE_URL: api.env.DATABASE_URL!,
      KAFKA_FORWARD: "true",
      OBJECT_STORE_REPLICA_URL: `file://${replica}`,
    });
    // Parse and embed sweep nothing.
    await worker("parse");
    await worker("embed");
    await waitFor(
      async () => !existsSync(join(replica, inReplica)),
      30_000,
      "the region's index to sweep its replica",
    );
    expect(existsSync(join(objects, inStore))).toBe(true);
    // The catalogue's region's index (the first test's) sweeps hourly: a new one sweeps at start.
    await worker("index", { DATABASE_URL: api.env.DATABASE_URL! });
    await waitFor(
      async () => !existsSync(join(objects, inStore)),
      30_000,
      "the catalogue region's index to sweep the store",
    );
  });

  it("writes only its own vectors in a region on the primary's catalogue: no row, chunk or status", async () => {
    // The region's copy of the shared catalogue (Aurora's secondary): its own database here, so
    // what the region's index writes there shows; the primary's workers (the first test's) write
    // the primary's.
    const regionDb = await freshDatabase();
    const qdrant = await qdrantStandIn();
    const dataDir = mkdtempSync(join(tmpdir(), "rag-role-region-"));
    dirs.push(dataDir);
    try {
      const region = await createServices(
        loadRuntimeConfig({
          ...bus,
          KAFKA_GROUP_PREFIX: `${bus.KAFKA_GROUP_PREFIX}-region`,
          KAFKA_FORWARD: "true",
          DATA_DIR: dataDir,
          LOG_LEVEL: "error",
          OBJECT_STORE_URL: `file://${objects}`,
          DATABASE_URL: regionDb.url,
          VECTOR_STORE: "qdrant",
          QDRANT_URL: qdrant.url,
          WORKER_ROLE: "index",
        }),
      );
      workers.push(region);
      const res = await api.app.inject({
        method: "POST",
        url: "/v1/documents",
        headers: auth(),
        payload: { name: "currents.md", text, contentType: "text/markdown" },
      });
      const id = res.json().id as string;
      await api.waitReady(id);
      // Aurora's replication, as the row stood at upload: queued, nothing indexed.
      const [row] = await api.services.db.query<{ row: object }>(
        "SELECT row_to_json(d) AS row FROM documents d WHERE id = $1",
        [id],
      );
      await region.db.query(
        "INSERT INTO documents SELECT * FROM json_populate_record(NULL::documents, $1::json)",
        [JSON.stringify({ ...row!.row, status: "queued", chunk_count: 0, token_count: 0 })],
      );
      await region.startWorker();
      const collection = region.config.QDRANT_COLLECTION;
      const pointsOf = () => qdrant.points(collection).filter((p) => p.payload.document_id === id);
      await waitFor(async () => pointsOf().length > 0, 60_000, "the region's vectors");
      const [primaryChunks] = await api.services.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM chunks WHERE document_id = $1",
        [id],
      );
      expect(pointsOf()).toHaveLength(primaryChunks!.n);
      // Nothing of the catalogue: the row as replicated, no chunk, no posting.
      const [after] = await region.db.query<{ status: string; chunks: number; postings: number }>(
        "SELECT status, (SELECT count(*)::int FROM chunks) AS chunks, (SELECT count(*)::int FROM postings) AS postings FROM documents WHERE id = $1",
        [id],
      );
      expect(after).toEqual({ status: "queued", chunks: 0, postings: 0 });

      // A delete removes the region's vectors, and leaves the row to the primary.
      const del = await api.app.inject({
        method: "DELETE",
        url: `/v1/documents/${id}`,
        headers: auth(),
      });
      expect(del.statusCode).toBe(204);
      await waitFor(async () => pointsOf().length === 0, 60_000, "the region's vectors removed");
      expect(await region.db.query("SELECT 1 FROM documents WHERE id = $1", [id])).toHaveLength(1);
    } finally {
      await qdrant.close();
      await regionDb.drop();
    }
  });
});
