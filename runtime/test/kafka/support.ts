/** Helpers for the Kafka suite: reading a topic whole, a region's index as comparable rows, draining. */
import { Admin, Consumer } from "@platformatic/kafka";
import { inject } from "vitest";
import type { Queryable } from "../../src/db/db";
import type { KafkaBus } from "../../src/kafka/bus";
import type { Role } from "../../src/kafka/events";
import { waitFor } from "../../src/queue/queue";

export interface TopicRecord {
  readonly key: string;
  readonly value: string | null;
  readonly partition: number;
}

/** Every record a topic holds now, from the earliest offset, in partition order. */
export async function readTopic(topic: string): Promise<TopicRecord[]> {
  return (await readTopicWithHeaders(topic)).map(({ key, value, partition }) => ({
    key,
    value,
    partition,
  }));
}

/** The headers of the first record keyed `key` on `topic`, as text. */
export async function readTopicHeaders(
  topic: string,
  key: string,
): Promise<Record<string, string>> {
  const record = (await readTopicWithHeaders(topic)).find((r) => r.key === key);
  if (!record) throw new Error(`no record keyed ${key} on ${topic}`);
  return record.headers;
}

/** readTopic's records with their headers. */
async function readTopicWithHeaders(
  topic: string,
): Promise<(TopicRecord & { headers: Record<string, string> })[]> {
  const brokers = [inject("kafkaBrokers")];
  const admin = new Admin({ clientId: "rag-test-reader", bootstrapBrokers: brokers });
  let ends: Map<number, bigint>;
  try {
    const metadata = await admin.metadata({ topics: [topic] });
    const partitions = metadata.topics.get(topic)!.partitionsCount;
    const [listed] = await admin.listOffsets({
      topics: [
        {
          name: topic,
          partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({
            partitionIndex,
            timestamp: -1n,
          })),
        },
      ],
    });
    ends = new Map(listed!.partitions.map((p) => [p.partitionIndex, p.offset]));
  } finally {
    await admin.close();
  }
  const records: (TopicRecord & { headers: Record<string, string> })[] = [];
  const left = () => [...ends.values()].some((end) => end > 0n);
  if (!left()) return records;
  const consumer = new Consumer({
    clientId: "rag-test-reader",
    groupId: `rag-test-reader-${Math.random().toString(36).slice(2)}`,
    bootstrapBrokers: brokers,
  });
  try {
    const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
    for await (const message of stream) {
      records.push({
        key: message.key?.toString() ?? "",
        value: message.value && message.value.length > 0 ? message.value.toString() : null,
        partition: message.partition,
        headers: Object.fromEntries(
          [...message.headers].map(([k, v]) => [k.toString(), v.toString()]),
        ),
      });
      if (message.offset + 1n >= (ends.get(message.partition) ?? 0n))
        ends.set(message.partition, 0n);
      if (!left()) break;
    }
    await new Promise<void>((r) => stream.close(() => r()));
  } finally {
    await new Promise<void>((r) => consumer.close(true, () => r()));
  }
  return records;
}

/** Waits until the groups of `roles` have consumed everything on their topics. */
export async function drained(bus: KafkaBus, roles: readonly Role[], timeoutMs = 120_000) {
  await waitFor(
    async () => (await Promise.all(roles.map((r) => bus.lag(r)))).every((lag) => lag === 0),
    timeoutMs,
    `the ${roles.join(", ")} groups to drain`,
  );
}

/** A region's catalogue and index as rows to compare (no timestamps). */
export async function snapshot(db: Queryable) {
  return {
    documents: await db.query(
      "SELECT id, name, content_hash, status, error, chunk_count, metadata FROM documents ORDER BY id",
    ),
    chunks: await db.query(
      "SELECT id, document_id, ordinal, heading, text FROM chunks ORDER BY id",
    ),
    postings: (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM postings"))[0]!.n,
    vectors: await db.query(
      "SELECT chunk_id, md5(embedding::text) AS embedding FROM chunk_vectors ORDER BY chunk_id",
    ),
  };
}
