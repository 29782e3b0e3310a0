/**
 * The Kafka bus's guarantees on a real broker: a poison document dead-lettered and marked failed
 * without holding up its partition; a delete carried as a tombstone everywhere, also to a region
 * that was down when it happened; an upload deleted before any role saw it never appears; a region
 * bootstrapped and an index rebuilt from the earliest offset end identical to the first region.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaBus } from "../../src/kafka/bus";
import { ROLES } from "../../src/kafka/events";
import { waitFor } from "../../src/queue/queue";
import { auth, blankPdf, multipart, type Runtime, startRuntime } from "../support";
import { drained, readTopic, snapshot } from "./support";

const text = (n: number) =>
  `# Report ${n}\n\n${Array.from({ length: 40 }, (_, i) => `Finding ${n}.${i}: the turbine ${n} shows wear pattern ${i * n} in its ${i % 2 ? "north" : "south"} bearing.`).join(" ")}`;

describe("the Kafka bus's guarantees", () => {
  const prefix = `g${randomUUID().slice(0, 8)}`;
  const objects = mkdtempSync(join(tmpdir(), "rag-kafka-objects-"));
  const shared = {
    KAFKA_TOPIC_PREFIX: `${prefix}.`,
    OBJECT_STORE_URL: `file://${objects}`,
  };
  let a: Runtime;
  const others: Runtime[] = [];
  const busOf = (rt: Runtime) => rt.services.queue as KafkaBus;

  beforeAll(async () => {
    a = await startRuntime("kafka", { ...shared, KAFKA_GROUP_PREFIX: `${prefix}-a` });
  });
  afterAll(async () => {
    for (const rt of [a, ...others]) await rt?.close();
    rmSync(objects, { recursive: true, force: true });
  });

  async function upload(rt: Runtime, name: string, body: string): Promise<string> {
    const res = await rt.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: { name, text: body, contentType: "text/markdown", metadata: { site: "north" } },
    });
    expect(res.statusCode).toBe(202);
    return res.json().id;
  }

  const statusOf = async (rt: Runtime, id: string) => (await rt.services.documents.get(id))?.status;

  it("dead-letters a poison document with its reason, marks it failed, and its partition moves on", async () => {
    const bus = busOf(a);
    // Unreadable records ahead of everything on every partition: each goes to the dead-letter
    // topic, and the documents behind them are indexed all the same.
    const garbage = randomUUID();
    for (let partition = 0; partition < 4; partition++)
      await bus.producer.send({
        messages: [
          {
            topic: bus.topics.documents,
            key: Buffer.from(garbage),
            value: Buffer.from("{not json"),
            partition,
          },
        ],
      });
    const scan = multipart({ name: "scan.pdf", type: "application/pdf", bytes: blankPdf() });
    const up = await a.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: { ...auth(), ...scan.headers },
      payload: scan.payload,
    });
    const poison = up.json().id as string;
    const good = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) => upload(a, `report-${n}.md`, text(n))),
    );
    await waitFor(async () => (await statusOf(a, poison)) === "failed", 60_000, "the scan to fail");
    for (const id of good) await a.waitReady(id);
    expect((await a.services.documents.get(poison))!.error).toMatch(/no text layer/);

    const dead = (await readTopic(bus.topics.deadLetter)).map((r) => JSON.parse(r.value!));
    expect(dead.filter((d) => d.documentId === garbage)).toHaveLength(4);
    expect(dead.find((d) => d.documentId === garbage)).toMatchObject({
      schema: 1,
      stage: "parse",
      reason: expect.stringMatching(/is not JSON/),
    });
    expect(dead.filter((d) => d.documentId === poison)).toEqual([
      expect.objectContaining({ stage: "parse", reason: expect.stringMatching(/no text layer/) }),
    ]);
  });

  it("carries a delete as a tombstone, after the upload, so nothing is resurrected", async () => {
    const kept = await upload(a, "kept.md", text(7));
    const deleted = await upload(a, "deleted.md", text(8));
    await a.waitReady(deleted);
    // Deleted at once after its upload, before any role may have seen it.
    const fleeting = await upload(a, "fleeting.md", text(9));
    for (const id of [deleted, fleeting])
      expect(
        (await a.app.inject({ method: "DELETE", url: `/v1/documents/${id}`, headers: auth() }))
          .statusCode,
      ).toBe(204);
    await a.waitReady(kept);
    await drained(busOf(a), ROLES);
    for (const id of [deleted, fleeting])
      expect(await a.services.documents.get(id)).toBeUndefined();

    const log = await readTopic(busOf(a).topics.documents);
    for (const id of [deleted, fleeting]) {
      const own = log.filter((r) => r.key === id);
      expect(own.at(-1)!.value).toBeNull();
      expect(own[0]!.value).not.toBeNull(); // the upload came first, on the same partition
      expect(new Set(own.map((r) => r.partition)).size).toBe(1);
    }
    // Their intermediate texts and vectors went with them.
    const left = [];
    for (const id of [deleted, fleeting])
      for await (const o of a.services.store.list(`ingest/${id}/`)) left.push(o.key);
    expect(left).toEqual([]);
  });

  it("bootstraps a region that was down from the log: its index ends identical, deletes included", async () => {
    const b = await startRuntime("kafka", {
      ...shared,
      KAFKA_GROUP_PREFIX: `${prefix}-b`,
      KAFKA_CATALOGUE: "log",
      WORKER_ROLE: "index",
    });
    others.push(b);
    await drained(busOf(b), ["index"]);
    await drained(busOf(a), ROLES);
    const first = await snapshot(a.services.db);
    expect(first.documents.length).toBe(8); // 6 reports, the scan, kept.md
    expect(first.chunks.length).toBeGreaterThan(8);
    expect(await snapshot(b.services.db)).toEqual(first);

    // Both regions live: a delete reaches both.
    const [gone] = first.documents as { id: string }[];
    await a.app.inject({ method: "DELETE", url: `/v1/documents/${gone!.id}`, headers: auth() });
    await waitFor(
      async () => (await statusOf(b, gone!.id)) === undefined,
      60_000,
      "region b's delete",
    );
    await drained(busOf(b), ["index"]);
    expect(await snapshot(b.services.db)).toEqual(await snapshot(a.services.db));
  });

  it("rebuilds an index from the earliest offset into an empty store, every role replaying", async () => {
    const c = await startRuntime("kafka", {
      ...shared,
      KAFKA_GROUP_PREFIX: `${prefix}-replay`,
      KAFKA_CATALOGUE: "log",
    });
    others.push(c);
    await drained(busOf(c), ROLES);
    await drained(busOf(a), ROLES);
    expect(await snapshot(c.services.db)).toEqual(await snapshot(a.services.db));
  });

  it("reports each role's lag and records as Prometheus metrics", async () => {
    const metrics = await a.services.metrics.registry.metrics();
    for (const role of ROLES) expect(metrics).toContain(`rag_kafka_consumer_lag{role="${role}"} 0`);
    expect(metrics).toMatch(/rag_kafka_records_total\{role="index",outcome="indexed"\} \d+/);
    expect(metrics).toMatch(/rag_kafka_records_total\{role="parse",outcome="failed"\} \d+/);
  });
});
