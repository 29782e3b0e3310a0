/**
 * npm run bench -w runtime -- --bus kafka,bullmq [--docs 1000] [--rounds 1]
 *
 * Distributed ingest, end to end on one machine: a burst of documents uploaded through the API's
 * own service (it only produces), indexed by worker processes of their own (`worker`, or
 * `worker --role parse|embed|index` on Kafka), with the same corpus, the same offline embedder and
 * the same PostgreSQL. Per row: documents and chunks per second from the first upload to the last
 * document ready, the backlog the moment the burst is in (BullMQ's waiting jobs; Kafka's records
 * not yet committed, summed over the roles), the time from then until it drains, and each
 * process's peak resident memory. Kafka runs with one index consumer, then two. Each row also
 * prints the machine's mean 1-minute load average while it ran, since the figures mean little
 * without it; --rounds N repeats the rows interleaved (1, 2, BullMQ, 1, 2, BullMQ...) and ends with
 * each setup's median, so a load that comes and goes weighs on every setup alike. A real broker is
 * started for the Kafka rows (scripts/kafka-broker.ts); Redis is the local one. Asserts nothing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadRuntimeConfig } from "../src/config";
import type { Role } from "../src/kafka/events";
import { waitFor } from "../src/queue/queue";
import { createServices } from "../src/services";
import { freshPgDatabase } from "./bench-db";
import { type KafkaBroker, startKafkaBroker } from "./kafka-broker";

const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const CONCURRENCY = "4";

export type Bus = "bullmq" | "kafka";

interface Row {
  readonly setup: string;
  readonly docs: number;
  readonly chunks: number;
  readonly seconds: number;
  readonly lagAfterBurst: number;
  readonly drainSeconds: number;
  readonly memory: string;
  /** The mean of the 1-minute load average, sampled while the row ran. */
  readonly load: number;
}

/** A deterministic document of a few chunks: the same corpus for every row. */
function corpusDocument(n: number): string {
  const terms = ["pump", "valve", "turbine", "bearing", "sensor", "pressure", "shift", "line"];
  const sections: string[] = [];
  for (let s = 0; s < 3; s++) {
    const sentences: string[] = [];
    for (let i = 0; i < 20; i++)
      sentences.push(
        `Report ${n} section ${s} notes ${terms[(n + i) % terms.length]} ${i * 7 + s} near ${terms[(n * 3 + s + i) % terms.length]} at reading ${(n * 31 + i * 17) % 997}.`,
      );
    sections.push(`## Section ${s + 1}\n\n${sentences.join(" ")}`);
  }
  return `# Report ${n}\n\n${sections.join("\n\n")}`;
}

/** A worker process (`node --import tsx src/worker.ts`, so its pid is the one whose memory is read). */
interface Worker {
  readonly name: string;
  readonly child: ChildProcess;
  peakRssMiB: number;
}

function spawnWorker(name: string, env: Record<string, string>, role?: Role): Worker {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/worker.ts", ...(role ? ["--role", role] : [])],
    {
      cwd: join(__dirname, ".."),
      env: { PATH: process.env.PATH, ...env },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  return { name, child, peakRssMiB: 0 };
}

function rssMiB(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

async function runOnce(
  bus: Bus,
  docs: number,
  indexers: number,
  broker: KafkaBroker | undefined,
): Promise<Row> {
  const db = await freshPgDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), "rag-bench-ingest-"));
  const prefix = `bench${randomUUID().slice(0, 8)}`;
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    OBJECT_STORE_URL: `file://${join(dataDir, "objects")}`,
    LOG_LEVEL: "error",
    WORKER_CONCURRENCY: CONCURRENCY,
    MAX_UPLOAD_BYTES: String(8 * 1024 * 1024),
    ...(bus === "kafka"
      ? {
          INGEST_BUS: "kafka",
          KAFKA_BROKERS: broker!.bootstrap,
          KAFKA_TLS: "false",
          KAFKA_TOPIC_PREFIX: `${prefix}.`,
          KAFKA_GROUP_PREFIX: prefix,
          KAFKA_PARTITIONS: "4",
          KAFKA_REPLICATION_FACTOR: "1",
          KAFKA_SESSION_TIMEOUT_MS: "6000",
        }
      : { REDIS_URL, QUEUE_NAME: prefix }),
  };
  // The API's side: it uploads, and (on Kafka) creates the topics before any worker starts.
  const api = await createServices(loadRuntimeConfig(env));
  const workers: Worker[] = [];
  let port = 19_000 + Math.floor(Math.random() * 20_000);
  const start = (name: string, role?: Role) =>
    workers.push(spawnWorker(name, { ...env, WORKER_HEALTH_PORT: String(port++) }, role));
  if (bus === "bullmq") start("worker");
  else {
    start("parse", "parse");
    start("embed", "embed");
    for (let i = 1; i <= indexers; i++) start(indexers > 1 ? `index ${i}` : "index", "index");
  }
  const loads: number[] = [];
  const sampler = setInterval(() => {
    for (const w of workers) w.peakRssMiB = Math.max(w.peakRssMiB, rssMiB(w.child.pid));
  }, 250);
  const loadSampler = setInterval(() => loads.push(loadavg()[0]!), 5_000);
  const ready = async () =>
    (await api.documents.list({ limit: 1, offset: 0, status: "ready" })).total;
  try {
    // Every worker is up (its health port answers) before the clock starts.
    await waitFor(
      async () => {
        const answers = await Promise.all(
          workers.map((_, i) =>
            fetch(`http://127.0.0.1:${port - workers.length + i}/healthz`).then(
              (r) => r.ok,
              () => false,
            ),
          ),
        );
        return answers.every(Boolean);
      },
      300_000,
      "the workers to start",
    );
    const started = performance.now();
    for (let n = 0; n < docs; n++)
      await api.documents.create({
        name: `report-${n}.md`,
        contentType: "text/markdown",
        bytes: new TextEncoder().encode(corpusDocument(n)),
      });
    const burstIn = performance.now();
    const lagAfterBurst = await api.queue.depth();
    await waitFor(async () => (await ready()) === docs, 3600_000, "the burst to be indexed");
    const done = performance.now();
    const [{ n: chunks }] = (await api.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM chunks",
    )) as [{ n: number }];
    return {
      setup:
        bus === "bullmq"
          ? "BullMQ, 1 worker"
          : `Kafka, ${indexers} index consumer${indexers > 1 ? "s" : ""}`,
      docs,
      chunks,
      seconds: (done - started) / 1000,
      lagAfterBurst,
      drainSeconds: (done - burstIn) / 1000,
      memory: workers.map((w) => `${w.name} ${w.peakRssMiB.toFixed(0)}`).join(", "),
      load: loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : loadavg()[0]!,
    };
  } finally {
    clearInterval(sampler);
    clearInterval(loadSampler);
    for (const w of workers) w.child.kill("SIGTERM");
    await Promise.all(
      workers.map((w) =>
        w.child.exitCode === null ? new Promise((r) => w.child.once("exit", r)) : Promise.resolve(),
      ),
    );
    await api.close();
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Runs the rows of each bus asked for and prints the table. */
export async function benchIngest(options: {
  buses: Bus[];
  docs: number;
  rounds?: number;
}): Promise<void> {
  const rounds = options.rounds ?? 1;
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds: got ${String(options.rounds)}; expected a whole number from 1`);
  if (!Number.isInteger(options.docs) || options.docs < 1)
    throw new Error(`--docs: got ${String(options.docs)}; expected a whole number from 1`);
  for (const bus of options.buses)
    if (bus !== "bullmq" && bus !== "kafka")
      throw new Error(`--bus: got ${String(bus)}; expected kafka, bullmq or both (kafka,bullmq)`);
  const broker = options.buses.includes("kafka") ? await startKafkaBroker() : undefined;
  const widths = [24, 6, 7, 7, 7, 8, 15, 8, 6, 46];
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(
    [
      fmt([
        "setup",
        "docs",
        "chunks",
        "total s",
        "docs/s",
        "chunks/s",
        "lag after burst",
        "drain s",
        "load",
        "peak RSS MiB per process",
      ]),
      `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ].join("\n"),
  );
  try {
    const setups: [Bus, number][] = options.buses.flatMap((bus): [Bus, number][] =>
      bus === "kafka"
        ? [
            ["kafka", 1],
            ["kafka", 2],
          ]
        : [["bullmq", 1]],
    );
    const rates = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++)
      for (const [bus, indexers] of setups) {
        process.stderr.write(
          `bench: ${bus}, ${indexers} index consumer(s), ${options.docs} documents...\n`,
        );
        const r = await runOnce(bus, options.docs, indexers, broker);
        rates.set(r.setup, [...(rates.get(r.setup) ?? []), r.docs / r.seconds]);
        console.log(
          fmt([
            r.setup,
            String(r.docs),
            String(r.chunks),
            r.seconds.toFixed(1),
            (r.docs / r.seconds).toFixed(1),
            (r.chunks / r.seconds).toFixed(0),
            String(r.lagAfterBurst),
            r.drainSeconds.toFixed(1),
            r.load.toFixed(1),
            r.memory,
          ]),
        );
      }
    if (rounds > 1) {
      console.log("\nMedian docs/s over the rounds:");
      for (const [setup, values] of rates) {
        const sorted = [...values].sort((a, b) => a - b);
        const mid = sorted.length / 2;
        const median =
          sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
        console.log(
          `  ${setup.padEnd(24)} ${median.toFixed(1)}  (${sorted.map((v) => v.toFixed(1)).join(", ")})`,
        );
      }
    }
  } finally {
    await broker?.stop();
  }
  console.log(
    `\nOne machine, PostgreSQL and the offline embedder for every row; worker concurrency ${CONCURRENCY}; Kafka topics of 4 partitions on one broker. Lag after burst: BullMQ jobs waiting or running, Kafka records not yet committed (all roles).`,
  );
}
