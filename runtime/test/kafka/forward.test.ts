/**
 * Uploads and deletes accepted by a region whose log is a replica of the primary's (KAFKA_FORWARD)
 * reach every region: the region's API writes the original to the primary's store and the row to
 * the shared catalogue, and publishes to its own uploads topic; the cloud replicates that topic to
 * the primary (a pipe here stands for MSK Replicator); the primary's relay puts the document's
 * event, or its tombstone, on the documents topic, which every region's index follows.
 */
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Consumer, Producer } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import type { KafkaBus } from "../../src/kafka/bus";
import { encode, ROLES, SCHEMA_VERSION } from "../../src/kafka/events";
import { waitFor } from "../../src/queue/queue";
import { auth, type Runtime, startRuntime } from "../support";
import { drained, readTopic } from "./support";

/** Copies every record of one topic onto another, as MSK Replicator does between two clusters. */
async function pipe(from: string, to: string): Promise<{ close(): Promise<void> }> {
  const bootstrapBrokers = [inject("kafkaBrokers")];
  const consumer = new Consumer({
    clientId: "rag-test-replicator",
    groupId: `rag-test-replicator-${randomUUID().slice(0, 8)}`,
    bootstrapBrokers,
  });
  const producer = new Producer({ clientId: "rag-test-replicator", bootstrapBrokers });
  const stream = await consumer.consume({ topics: [from], mode: "earliest", autocommit: true });
  const loop = (async () => {
    for await (const m of stream)
      await producer.send({
        messages: [
          { topic: to, key: m.key, value: m.value, headers: m.headers, partition: m.partition },
        ],
      });
  })().catch(() => undefined);
  return {
    async close() {
      await new Promise<void>((r) => stream.close(() => r()));
      await loop;
      await new Promise<void>((r) => consumer.close(true, () => r()));
      await producer.close();
    },
  };
}

const text = `# Field notes\n\n${Array.from({ length: 30 }, (_, i) => `Note ${i}: the glacier moved ${i * 3} metres past the ${i % 2 ? "upper" : "lower"} cairn.`).join(" ")}`;

describe("an upload and a delete accepted outside the primary region", () => {
  const run = randomUUID().slice(0, 8);
  const objects = mkdtempSync(join(tmpdir(), "rag-forward-objects-"));
  let primary: Runtime;
  let region: Runtime;
  let replicator: { close(): Promise<void> };
  const busOf = (rt: Runtime) => rt.services.queue as KafkaBus;

  beforeAll(async () => {
    primary = await startRuntime("kafka", {
      KAFKA_TOPIC_PREFIX: `p${run}.`,
      KAFKA_GROUP_PREFIX: `p${run}`,
      OBJECT_STORE_URL: `file://${objects}`,
    });
    // Its own log (another prefix on the same broker), the primary's store and catalogue.
    region = await startRuntime(
      "kafka",
      {
        KAFKA_TOPIC_PREFIX: `r${run}.`,
        KAFKA_GROUP_PREFIX: `r${run}`,
        KAFKA_FORWARD: "true",
        OBJECT_STORE_URL: `file://${objects}`,
        DATABASE_URL: primary.env.DATABASE_URL!,
      },
      { worker: false },
    );
    replicator = await pipe(busOf(region).topics.uploads, busOf(primary).topics.uploads);
  });
  afterAll(async () => {
    await replicator?.close();
    for (const rt of [region, primary]) await rt?.close();
    rmSync(objects, { recursive: true, force: true });
  });

  it("indexes the region's upload in the primary, and the region's delete removes it everywhere", async () => {
    const res = await region.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: { name: "notes.md", text, contentType: "text/markdown" },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json().id as string;
    // The region published to its uploads topic, not to its (replicated) documents topic.
    expect(
      (await readTopic(busOf(region).topics.uploads)).map((r) => JSON.parse(r.value!)),
    ).toEqual([{ schema: SCHEMA_VERSION, type: "upsert", documentId: id }]);
    expect(await readTopic(busOf(region).topics.documents)).toEqual([]);
    await primary.waitReady(id);
    const [row] = await primary.services.db.query<{ object_key: string }>(
      "SELECT object_key FROM documents WHERE id = $1",
      [id],
    );
    const key = row!.object_key;
    expect(existsSync(join(objects, key))).toBe(true);
    const indexed = await primary.services.db.query("SELECT 1 FROM chunks WHERE document_id = $1", [
      id,
    ]);
    expect(indexed.length).toBeGreaterThan(0);

    const del = await region.app.inject({
      method: "DELETE",
      url: `/v1/documents/${id}`,
      headers: auth(),
    });
    expect(del.statusCode).toBe(204);
    expect(existsSync(join(objects, key))).toBe(false);
    await waitFor(
      async () =>
        (await readTopic(busOf(primary).topics.documents)).some(
          (r) => r.key === id && r.value === null,
        ),
      60_000,
      "the relayed tombstone",
    );
    await drained(busOf(primary), ROLES);
    const chunks = await primary.services.db.query("SELECT 1 FROM chunks WHERE document_id = $1", [
      id,
    ]);
    expect(chunks).toEqual([]);
    // The delete record every region's index follows names the original's key.
    const deletes = (await readTopic(busOf(primary).topics.embedded))
      .filter((r) => r.key === id && r.value)
      .map((r) => JSON.parse(r.value!))
      .filter((r) => r.type === "delete");
    expect(deletes).toEqual([
      { schema: SCHEMA_VERSION, type: "delete", documentId: id, objectKey: key },
    ]);
  });

  it("relays an upload whose document was deleted meanwhile as nothing: no document comes back", async () => {
    const gone = randomUUID();
    await busOf(region).send(
      busOf(region).topics.uploads,
      gone,
      encode({ schema: SCHEMA_VERSION, type: "upsert", documentId: gone }),
    );
    const marker = randomUUID();
    await busOf(region).send(
      busOf(region).topics.uploads,
      marker,
      encode({ schema: SCHEMA_VERSION, type: "delete", documentId: marker }),
    );
    // The delete behind it is relayed: by then the upsert was handled too.
    await waitFor(
      async () => (await readTopic(busOf(primary).topics.documents)).some((r) => r.key === marker),
      60_000,
      "the relay to reach the second record",
    );
    const log = await readTopic(busOf(primary).topics.documents);
    expect(log.filter((r) => r.key === gone)).toEqual([]);
  });
});
