/**
 * Secure deletion across regions on a real broker: the cloud copies the primary's objects to each
 * region's replica but never the removal of a version, so each region's index role removes its
 * own copies (original and ingest objects, every version) when a document's delete reaches it.
 * Two local folders stand for the primary's bucket and a region's replica; a copy of the one into
 * the other stands for the cloud's replication.
 */
import { randomUUID } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KafkaBus } from "../../src/kafka/bus";
import { encode, ingestPrefix, ROLES, SCHEMA_VERSION } from "../../src/kafka/events";
import { waitFor } from "../../src/queue/queue";
import { ReplicatedObjectStore } from "../../src/storage/replicated-store";
import { sweepOrphans } from "../../src/storage/sweeper";
import { auth, type Runtime, startRuntime } from "../support";
import { drained, readTopic } from "./support";

const text = (n: number) =>
  `# Survey ${n}\n\n${Array.from({ length: 30 }, (_, i) => `Reading ${n}.${i}: the dam ${n} holds ${i * n} cubic metres in its ${i % 2 ? "east" : "west"} basin.`).join(" ")}`;

/** Every file under a folder, as store keys. */
function keysIn(root: string): string[] {
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true }) as string[])
    .filter((name) => statSync(join(root, name)).isFile())
    .map((name) => name.split(sep).join("/"));
}

describe("a document's delete reaching a region with a replica of the store", () => {
  const prefix = `r${randomUUID().slice(0, 8)}`;
  const primaryObjects = mkdtempSync(join(tmpdir(), "rag-primary-objects-"));
  const replicaObjects = mkdtempSync(join(tmpdir(), "rag-replica-objects-"));
  const shared = { KAFKA_TOPIC_PREFIX: `${prefix}.`, OBJECT_STORE_URL: `file://${primaryObjects}` };
  let a: Runtime;
  let b: Runtime;
  const busOf = (rt: Runtime) => rt.services.queue as KafkaBus;
  const replicate = () => cpSync(primaryObjects, replicaObjects, { recursive: true });

  beforeAll(async () => {
    a = await startRuntime("kafka", { ...shared, KAFKA_GROUP_PREFIX: `${prefix}-a` });
    b = await startRuntime("kafka", {
      ...shared,
      OBJECT_STORE_REPLICA_URL: `file://${replicaObjects}`,
      KAFKA_GROUP_PREFIX: `${prefix}-b`,
      KAFKA_CATALOGUE: "log",
      WORKER_ROLE: "index",
    });
  });
  afterAll(async () => {
    for (const rt of [a, b]) await rt?.close();
    for (const dir of [primaryObjects, replicaObjects])
      rmSync(dir, { recursive: true, force: true });
  });

  async function upload(name: string, body: string): Promise<string> {
    const res = await a.app.inject({
      method: "POST",
      url: "/v1/documents",
      headers: auth(),
      payload: { name, text: body, contentType: "text/markdown" },
    });
    expect(res.statusCode).toBe(202);
    return res.json().id;
  }

  const objectKeyOf = async (id: string) =>
    (
      await a.services.db.query<{ object_key: string }>(
        "SELECT object_key FROM documents WHERE id = $1",
        [id],
      )
    )[0]!.object_key;

  it("removes the region's copy of the original and of its ingest objects, and keeps the others'", async () => {
    const gone = await upload("gone.md", text(1));
    const kept = await upload("kept.md", text(2));
    for (const id of [gone, kept]) await a.waitReady(id);
    await drained(busOf(a), ROLES);
    await drained(busOf(b), ["index"]);
    replicate();
    const [goneKey, keptKey] = [await objectKeyOf(gone), await objectKeyOf(kept)];
    const own = (keys: string[], id: string, key: string) =>
      keys.filter((k) => k === key || k.startsWith(ingestPrefix(id)));
    const before = keysIn(replicaObjects);
    expect(own(before, gone, goneKey).length).toBeGreaterThanOrEqual(3); // original, chunks, vectors
    // The region reads its own copy: the primary's original is not needed once copied.
    const store = b.services.store as ReplicatedObjectStore;
    rmSync(join(primaryObjects, keptKey));
    expect((await store.get(keptKey)).length).toBeGreaterThan(0);
    cpSync(join(replicaObjects, keptKey), join(primaryObjects, keptKey));

    const res = await a.app.inject({
      method: "DELETE",
      url: `/v1/documents/${gone}`,
      headers: auth(),
    });
    expect(res.statusCode).toBe(204);
    await waitFor(
      async () => (await b.services.documents.get(gone)) === undefined,
      60_000,
      "region b's delete",
    );
    await drained(busOf(b), ["index"]);
    await drained(busOf(a), ROLES);

    const after = keysIn(replicaObjects);
    expect(own(after, gone, goneKey)).toEqual([]);
    expect(own(after, kept, keptKey)).toEqual(own(before, kept, keptKey));
    expect(own(keysIn(primaryObjects), gone, goneKey)).toEqual([]);
    // The delete carried the original's key from the API's tombstone to the region.
    const deletes = (await readTopic(busOf(a).topics.embedded))
      .filter((r) => r.key === gone)
      .map((r) => JSON.parse(r.value!));
    expect(deletes).toContainEqual({
      schema: SCHEMA_VERSION,
      type: "delete",
      documentId: gone,
      objectKey: goneKey,
    });
  });

  it("takes the same delete again without error, and sweeps a copy that arrived after it", async () => {
    const id = await upload("late.md", text(3));
    await a.waitReady(id);
    const key = await objectKeyOf(id);
    await a.app.inject({ method: "DELETE", url: `/v1/documents/${id}`, headers: auth() });
    await waitFor(
      async () => (await b.services.documents.get(id)) === undefined,
      60_000,
      "region b's delete",
    );
    const record = { schema: SCHEMA_VERSION, type: "delete", documentId: id, objectKey: key };
    await busOf(a).send(busOf(a).topics.embedded, id, encode(record));
    await drained(busOf(b), ["index"]);
    const dead = (await readTopic(busOf(a).topics.deadLetter)).filter((r) => r.key === id);
    expect(dead).toEqual([]);

    // The cloud's copy lands after the delete went by: the replica's orphan sweep removes it.
    writeFileSync(join(replicaObjects, key), "a late copy");
    const store = b.services.store as ReplicatedObjectStore;
    const swept = await sweepOrphans(b.services.db, store.replica, 0);
    expect(swept.removed).toContain(key);
    expect(existsSync(join(replicaObjects, key))).toBe(false);
  });
});
