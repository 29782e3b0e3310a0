/**
 * The Kafka bus, the API's side: an upload publishes its document event, a delete its tombstone,
 * both keyed by document id on the compacted document topic. The API only produces; the worker
 * roles (kafka/roles.ts) consume. Topics are created when missing.
 */
import { SpanKind } from "@opentelemetry/api";
import { Admin, Producer, ProduceAcks } from "@platformatic/kafka";
import type { AuditSink } from "../audit";
import type { RuntimeConfig } from "../config";
import type { Db } from "../db/db";
import type { IngestQueue } from "../queue/queue";
import { RETRY, type RetryPolicy } from "../queue/queue";
import { withinMs } from "../timeout";
import { kafkaAttributes, traceHeaders, traced } from "../tracing";
import { kafkaConnection, type KafkaConnection } from "./client";
import {
  type DocumentEvent,
  encode,
  groupOf,
  inputTopic,
  OBJECT_KEY_HEADER,
  type Role,
  ROLES,
  SCHEMA_VERSION,
  type Topics,
  topicsOf,
  type UploadRecord,
} from "./events";

const DAY_MS = 24 * 3600 * 1000;

/** Creates the bus's topics that do not exist yet (the document topic compacted). */
export async function ensureTopics(admin: Admin, config: RuntimeConfig, topics: Topics) {
  const existing = new Set(await admin.listTopics());
  const wanted: [string, Record<string, string>][] = [
    // Compacted: the latest event of every document stays, so a region or an index can be built
    // from the earliest offset; a tombstone stays a day after compaction for consumers behind.
    [
      topics.documents,
      {
        "cleanup.policy": "compact",
        "delete.retention.ms": String(DAY_MS),
        "min.compaction.lag.ms": "60000",
      },
    ],
    [topics.parsed, { "retention.ms": String(7 * DAY_MS) }],
    [topics.embedded, { "retention.ms": String(7 * DAY_MS) }],
    [topics.deadLetter, { "retention.ms": String(30 * DAY_MS) }],
    [topics.uploads, { "retention.ms": String(7 * DAY_MS) }],
    ...(config.AUDIT_KAFKA_TOPIC
      ? [
          [config.AUDIT_KAFKA_TOPIC, { "retention.ms": String(365 * DAY_MS) }] as [
            string,
            Record<string, string>,
          ],
        ]
      : []),
  ];
  for (const [name, configs] of wanted) {
    if (existing.has(name)) continue;
    try {
      await admin.createTopics({
        topics: [name],
        partitions: config.KAFKA_PARTITIONS,
        replicas: config.KAFKA_REPLICATION_FACTOR,
        configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
      });
    } catch (error) {
      // Another process created it meanwhile.
      if (!(await admin.listTopics()).includes(name)) throw error;
    }
  }
}

/** Records not yet consumed by a group on a topic (a partition it never committed counts whole). */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
  const committed = new Map<number, bigint>();
  for (const t of offsets?.topics ?? [])
    if (t.name === topic)
      for (const p of t.partitions) committed.set(p.partitionIndex, p.committedOffset);
  const metadata = await admin.metadata({ topics: [topic] });
  const partitions = metadata.topics.get(topic)?.partitionsCount ?? 0;
  const indexes = Array.from({ length: partitions }, (_, i) => i);
  const listed = async (timestamp: bigint) =>
    (
      await admin.listOffsets({
        topics: [
          {
            name: topic,
            partitions: indexes.map((partitionIndex) => ({ partitionIndex, timestamp })),
          },
        ],
      })
    )[0]?.partitions ?? [];
  const [latest, earliest] = await Promise.all([listed(-1n), listed(-2n)]);
  let lag = 0n;
  for (const p of latest) {
    const start = earliest.find((e) => e.partitionIndex === p.partitionIndex)?.offset ?? 0n;
    const done = committed.get(p.partitionIndex);
    lag += p.offset - (done !== undefined && done >= 0n ? done : start);
  }
  return Number(lag);
}

/** The upsert event of a document row. */
export function documentEventOf(row: {
  id: string;
  name: string;
  content_type: string;
  content_hash: string;
  size_bytes: string | number;
  object_key: string;
  metadata: Record<string, unknown>;
  classification?: string | null;
  access_groups?: string[];
  created_at: Date | string;
}): DocumentEvent {
  return {
    schema: SCHEMA_VERSION,
    documentId: row.id,
    name: row.name,
    contentType: row.content_type,
    contentHash: row.content_hash,
    sizeBytes: Number(row.size_bytes),
    objectKey: row.object_key,
    metadata: row.metadata,
    classification: row.classification ?? null,
    accessGroups: row.access_groups ?? [],
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export class KafkaBus implements IngestQueue {
  readonly kind = "kafka" as const;
  readonly topics: Topics;
  readonly connection: KafkaConnection;
  readonly admin: Admin;
  readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;

  private constructor(
    readonly config: RuntimeConfig,
    private readonly db: Db | undefined,
    readonly retry: RetryPolicy,
  ) {
    this.topics = topicsOf(config);
    this.connection = kafkaConnection(config);
    const base = { ...this.connection, clientId: config.SERVICE_NAME };
    this.admin = new Admin(base);
    this.producer = new Producer({ ...base, acks: ProduceAcks.ALL });
  }

  /**
   * Connects and creates the topics that are missing. `db` is the catalogue an upsert event is read
   * from: a process without one (the parse and embed roles) publishes none.
   */
  static async open(
    config: RuntimeConfig,
    db: Db | undefined,
    retry: RetryPolicy = RETRY,
  ): Promise<KafkaBus> {
    const bus = new KafkaBus(config, db, retry);
    try {
      await ensureTopics(bus.admin, config, bus.topics);
    } catch (error) {
      await bus.close();
      throw error;
    }
    return bus;
  }

  /**
   * Publishes the document's upsert event (again: consumers write the same result twice). Where
   * this region's log is a replica (KAFKA_FORWARD), it goes to the uploads topic instead, for the
   * primary to publish.
   */
  async enqueue(documentId: string): Promise<void> {
    if (this.config.KAFKA_FORWARD) {
      await this.forward({ schema: SCHEMA_VERSION, type: "upsert", documentId });
      return;
    }
    await this.publish(documentId);
  }

  /** Publishes the document's upsert event as its row is now; nothing when the row is gone. */
  async publish(documentId: string): Promise<void> {
    if (!this.db)
      throw new Error("this process opened no catalogue: only the API and the index role publish");
    const [row] = await this.db.query<Parameters<typeof documentEventOf>[0]>(
      "SELECT * FROM documents WHERE id = $1",
      [documentId],
    );
    if (!row) return;
    await this.send(this.topics.documents, documentId, encode(documentEventOf(row)));
  }

  /**
   * Publishes the document's tombstone: every region's index role deletes it, in order after its
   * upsert, and removes its region's copy of the original (`objectKey`, a header of the tombstone).
   */
  async removed(documentId: string, objectKey?: string): Promise<void> {
    if (this.config.KAFKA_FORWARD) {
      await this.forward({
        schema: SCHEMA_VERSION,
        type: "delete",
        documentId,
        ...(objectKey ? { objectKey } : {}),
      });
      return;
    }
    await this.send(
      this.topics.documents,
      documentId,
      undefined,
      objectKey ? { [OBJECT_KEY_HEADER]: objectKey } : undefined,
    );
  }

  /**
   * Sends one record in a producer span, whose trace context the record's headers carry, beside
   * `headers` of its own.
   */
  async send(
    topic: string,
    key: string,
    value: Buffer | undefined,
    headers?: Record<string, string>,
  ): Promise<void> {
    await traced(
      `send ${topic}`,
      kafkaAttributes("send", topic, key),
      async () => {
        const all = traceHeaders();
        for (const [name, v] of Object.entries(headers ?? {}))
          all.set(Buffer.from(name), Buffer.from(v));
        await this.producer.send({
          messages: [{ topic, key: Buffer.from(key), value, headers: all }],
        });
      },
      { kind: SpanKind.PRODUCER },
    );
  }

  private async forward(record: UploadRecord): Promise<void> {
    await this.send(this.topics.uploads, record.documentId, encode(record));
  }

  /** Records the roles of this region have not consumed yet (parse, embed, and this region's index). */
  async depth(): Promise<number> {
    const lags = await Promise.all(ROLES.map((role) => this.lag(role)));
    return lags.reduce((a, b) => a + b, 0);
  }

  lag(role: Role): Promise<number> {
    return groupLag(this.admin, groupOf(this.config, role), inputTopic(this.topics, role));
  }

  /**
   * An audit sink writing each event to `topic`, keyed by its target (one target's events stay in
   * order). A send that fails is counted through `onError`; `close` waits for the sends in flight.
   */
  auditSink(topic: string, onError: (error: unknown) => void): AuditSink {
    const inFlight = new Set<Promise<void>>();
    return {
      write: (event) => {
        const key = event.target?.id ?? event.target?.type ?? event.action;
        const sending = this.send(topic, key, encode(event)).catch(onError);
        inFlight.add(sending);
        void sending.finally(() => inFlight.delete(sending));
      },
      close: async () => {
        await Promise.all(inFlight);
      },
    };
  }

  consume(): void {
    throw new Error("the Kafka bus is consumed by the worker roles (kafka/roles.ts)");
  }

  /** The brokers answer with the bus's topics within 5 s. */
  async check(): Promise<void> {
    await withinMs(
      5000,
      this.admin.metadata({ topics: [this.topics.documents] }),
      "Kafka did not answer within 5 s",
    );
  }

  async close(): Promise<void> {
    await this.producer.close().catch(() => undefined);
    await this.admin.close().catch(() => undefined);
  }
}
