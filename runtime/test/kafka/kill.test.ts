/**
 * kill -9 of each role mid-batch, as processes of their own (`worker --role <role>`) on the real
 * broker: once restarted, every document is indexed, each exactly once (its chunks are the ones
 * its text gives, no more), and nothing is left behind on the topics.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { KafkaBus } from "../../src/kafka/bus";
import { type Role, ROLES } from "../../src/kafka/events";
import { waitFor } from "../../src/queue/queue";
import { freePorts, type Runtime, startRuntime } from "../support";
import { drained } from "./support";

const DOCUMENTS = 40;
const text = (n: number) =>
  `# Log ${n}\n\n${Array.from({ length: 120 }, (_, i) => `Entry ${n}-${i}: valve ${i % 7} on line ${n} reads ${i * 3 + n} bar at shift ${i % 3}.`).join(" ")}`;

interface RoleProcess {
  readonly child: ChildProcess;
  output(): string;
}

async function spawnRole(role: Role, env: Record<string, string>): Promise<RoleProcess> {
  const [port] = await freePorts(1);
  // Node itself with tsx's loader, not the tsx command: that one runs the worker in a child of
  // its own, which a SIGKILL of the command would leave running (no kill -9 at all).
  const child = spawn(process.execPath, ["--import", "tsx", "src/worker.ts", "--role", role], {
    cwd: join(__dirname, "..", ".."),
    env: { PATH: process.env.PATH, ...env, WORKER_HEALTH_PORT: String(port), LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  return { child, output: () => output };
}

describe.each(ROLES)("kill -9 of the %s role mid-batch", (victim) => {
  const running: ChildProcess[] = [];
  let api: Runtime | undefined;
  let objects: string | undefined;
  afterEach(async () => {
    for (const child of running) child.kill("SIGKILL");
    await api?.close();
    if (objects) rmSync(objects, { recursive: true, force: true });
  });

  it("loses no document and duplicates none", { timeout: 300_000 }, async () => {
    objects = mkdtempSync(join(tmpdir(), "rag-kafka-objects-"));
    // The API process: it only produces.
    api = await startRuntime(
      "kafka",
      {
        OBJECT_STORE_URL: `file://${objects}`,
        KAFKA_GROUP_PREFIX: `k${randomUUID().slice(0, 8)}`,
        WORKER_CONCURRENCY: "1",
      },
      { worker: false },
    );
    const bus = api.services.queue as KafkaBus;
    const ids: string[] = [];
    for (let n = 0; n < DOCUMENTS; n++) {
      const { document } = await api.services.documents.create({
        name: `log-${n}.md`,
        contentType: "text/markdown",
        bytes: new TextEncoder().encode(text(n)),
      });
      ids.push(document.id);
    }
    const start = async (role: Role) => {
      const p = await spawnRole(role, api!.env);
      running.push(p.child);
      return p;
    };
    // The stages before the victim run first, so its input is full when it starts; those after
    // it are consuming before it starts, so documents come out while it is mid-batch (a role
    // without a database starts in a moment, and could otherwise finish before index is up).
    const upstream = ROLES.slice(0, ROLES.indexOf(victim));
    for (const role of upstream) await start(role);
    if (upstream.length > 0) await drained(bus, upstream);
    for (const role of ROLES.slice(ROLES.indexOf(victim) + 1)) {
      const p = await start(role);
      await waitFor(
        async () => p.output().includes("Kafka ingest roles started"),
        120_000,
        `the ${role} role to start`,
      );
    }
    const first = await start(victim);

    const ready = async () =>
      (
        await api!.services.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM documents WHERE status = 'ready'",
        )
      )[0]!.n;
    // Mid-batch: documents are coming out, and the victim still has records to take.
    await waitFor(
      async () => (await ready()) >= 1 && (await bus.lag(victim)) >= 3,
      120_000,
      `the ${victim} role to be mid-batch`,
    );
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    const readyAtKill = await ready();
    expect(readyAtKill).toBeLessThan(DOCUMENTS);

    const second = await start(victim);
    await waitFor(async () => (await ready()) === DOCUMENTS, 180_000, "every document ready").catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${second.output()}`);
      },
    );
    await drained(bus, ROLES);

    const documents = await api.services.db.query<{ id: string; chunk_count: number }>(
      "SELECT id, chunk_count FROM documents ORDER BY id",
    );
    expect(documents.map((d) => d.id).sort()).toEqual([...ids].sort());
    for (const [n, id] of ids.entries()) {
      const { chunks: expected } = await api.services.pipeline.parse({
        name: `log-${n}.md`,
        content_type: "text/markdown",
        object_key: (
          await api.services.db.query<{ object_key: string }>(
            "SELECT object_key FROM documents WHERE id = $1",
            [id],
          )
        )[0]!.object_key,
      });
      const chunks = await api.services.db.query<{ id: string; text: string }>(
        "SELECT id, text FROM chunks WHERE document_id = $1 ORDER BY ordinal",
        [id],
      );
      expect(chunks).toEqual(expected.map((c) => ({ id: `${id}:${c.ordinal}`, text: c.text })));
    }
    const [counts] = await api.services.db.query<{
      chunks: number;
      vectors: number;
      listed: number;
    }>(
      "SELECT (SELECT count(*) FROM chunks)::int AS chunks, (SELECT count(*) FROM chunk_vectors)::int AS vectors, (SELECT sum(chunk_count) FROM documents)::int AS listed",
    );
    expect(counts!.vectors).toBe(counts!.chunks);
    expect(counts!.listed).toBe(counts!.chunks);
  });
});
