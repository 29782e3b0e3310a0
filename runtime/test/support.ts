/**
 * Test harness: the real services and HTTP app in either mode. "embedded" is PGlite with
 * pgvector and the in-process queue; "server" is the machine's PostgreSQL and Redis (a fresh
 * database and queue per run), as in CI.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { freshPgDatabase } from "../scripts/bench-db";
import { buildApp } from "../src/app";
import type { AuditEvent } from "../src/audit";
import { loadRuntimeConfig } from "../src/config";
import { waitFor } from "../src/queue/queue";
import { type Db, openDb } from "../src/db/db";
import { migrate } from "../src/db/schema";
import { createServices, type Services, type WorkerLog } from "../src/services";

/** "kafka" is "server" with ingest on the Kafka bus (the Kafka suite's broker: vitest.kafka.config.mts). */
export type Mode = "embedded" | "server" | "kafka";
/** The modes a suite runs in: the Kafka suite runs the same files on the Kafka bus alone. */
export const MODES: Mode[] =
  process.env.RAG_TEST_BUS === "kafka" ? ["kafka"] : ["embedded", "server"];

export const ADMIN_KEY = "rag_test_admin_key_0123456789abcdef";
/** The ARAGOG dataset: `../shared/data/aragog` beside the checkout, or ARAGOG_DIR (as for the scripts). */
export const ARAGOG = resolve(
  process.env.ARAGOG_DIR ?? join(__dirname, "..", "..", "..", "shared", "data", "aragog"),
);
export const paper = (name: string) => new Uint8Array(readFileSync(join(ARAGOG, "papers", name)));

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * Distinct ports free on 127.0.0.1 right now: each is held until all are chosen, so the system
 * cannot hand one out twice. Nothing listens on them afterwards (also a port nothing answers on).
 */
export async function freePorts(count: number): Promise<number[]> {
  const probes = Array.from({ length: count }, () => createServer());
  await Promise.all(
    probes.map((probe) => new Promise<void>((r) => probe.listen(0, "127.0.0.1", r))),
  );
  const ports = probes.map((probe) => (probe.address() as AddressInfo).port);
  await Promise.all(probes.map((probe) => new Promise<void>((r) => probe.close(() => r()))));
  return ports;
}

/**
 * A service gone silent: a TCP server on 127.0.0.1 that accepts connections and reads what is
 * sent, and never writes a byte back. `connections` counts those it accepted; `close` drops them.
 */
export async function silentServer(): Promise<{
  port: number;
  url: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("data", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A fresh database on the test server; dropped by the returned function. */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (process.env.RAG_UNIT_TESTS)
    throw new Error("unit tests use no database server (npm test runs this)");
  return freshPgDatabase(PG_ADMIN_URL, "rag_test_");
}

/**
 * A migrated catalogue of its own for a mode (PGlite in a fresh data dir, or a fresh database on
 * the server), with what closes and removes it.
 */
export async function migratedDb(mode: Mode): Promise<{ db: Db; cleanup: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), "rag-db-"));
  const server = mode === "server" ? await freshDatabase() : undefined;
  const db = await openDb(
    loadRuntimeConfig({ DATA_DIR: dataDir, ...(server ? { DATABASE_URL: server.url } : {}) }),
  );
  await migrate(db, { requirePgvector: false });
  return {
    db,
    async cleanup() {
      await db.close();
      await server?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Runtime {
  readonly services: Services;
  readonly app: Awaited<ReturnType<typeof buildApp>>["app"];
  readonly env: Record<string, string>;
  close(): Promise<void>;
  waitReady(id: string, timeoutMs?: number): Promise<void>;
}

/** Env for a mode: a fresh data dir, and for "server" a fresh database and queue name. */
export async function modeEnv(
  mode: Mode,
): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), "rag-rt-"));
  // Audit events to a file of the run's own, out of the test output (and readable: auditEvents).
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    LOG_LEVEL: "error",
    AUDIT_LOG_FILE: join(dataDir, "audit.log"),
  };
  let dropDb = async () => {};
  if (mode === "server" || mode === "kafka") {
    const db = await freshDatabase();
    env.DATABASE_URL = db.url;
    env.REDIS_URL = REDIS_URL;
    env.QUEUE_NAME = `ingest-${randomUUID().slice(0, 8)}`;
    dropDb = db.drop;
  }
  if (mode === "kafka") Object.assign(env, await kafkaEnv());
  return {
    env,
    cleanup: async () => {
      await dropDb();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The Kafka bus on the suite's broker, with topics and groups of their own (a fresh prefix), one
 * replica, and a short session so a killed consumer's partitions move on within seconds.
 */
export async function kafkaEnv(
  prefix = `t${randomUUID().slice(0, 8)}`,
): Promise<Record<string, string>> {
  // Imported here: scripts that use this file outside vitest (image-check.ts) cannot load it.
  const { inject } = await import("vitest");
  return {
    INGEST_BUS: "kafka",
    KAFKA_BROKERS: inject("kafkaBrokers"),
    KAFKA_TLS: "false",
    KAFKA_TOPIC_PREFIX: `${prefix}.`,
    KAFKA_GROUP_PREFIX: prefix,
    KAFKA_PARTITIONS: "4",
    KAFKA_REPLICATION_FACTOR: "1",
    KAFKA_SESSION_TIMEOUT_MS: "6000",
  };
}

export async function startRuntime(
  mode: Mode,
  overrides: Record<string, string> = {},
  options: { worker?: boolean; webRoot?: string; workerLog?: WorkerLog } = {},
): Promise<Runtime> {
  const { env: base, cleanup } = await modeEnv(mode);
  const env = {
    ADMIN_API_KEY: ADMIN_KEY,
    MAX_UPLOAD_BYTES: String(4 * 1024 * 1024),
    ...base,
    ...overrides,
  };
  const services = await createServices(loadRuntimeConfig(env));
  if (options.worker !== false) await services.startWorker(options.workerLog);
  const { app } = await buildApp({
    services,
    fastify: { logger: false },
    webRoot: options.webRoot,
  });
  await app.ready();
  return {
    services,
    app,
    env,
    async close() {
      await app.close();
      await services.close();
      await cleanup();
    },
    async waitReady(id: string, timeoutMs = 60_000) {
      await waitFor(
        async () => {
          const doc = await services.documents.get(id);
          if (doc?.status === "failed") throw new Error(`document ${id} failed: ${doc.error}`);
          return doc?.status === "ready";
        },
        timeoutMs,
        `document ${id} to be ready`,
      );
    },
  };
}

/** The audit events a runtime wrote to its AUDIT_LOG_FILE so far, oldest first. */
export function auditEvents(rt: Runtime): AuditEvent[] {
  const file = rt.env.AUDIT_LOG_FILE!;
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditEvent);
}

export const auth = (key = ADMIN_KEY) => ({ authorization: `Bearer ${key}` });

/** Issues an API key with the admin key: `{name: "k", ...payload}`; fails the test unless it is 201. */
export async function issueKey(
  rt: Runtime,
  payload: { role: string; clearance?: string; groups?: string[] },
): Promise<{ key: string; clearance: string; groups: string[] }> {
  const { expect } = await import("vitest");
  const res = await rt.app.inject({
    method: "POST",
    url: "/v1/keys",
    headers: auth(),
    payload: { name: "k", ...payload },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** A multipart/form-data body with one file (and optional fields before it). */
export function multipart(
  file: { name: string; type: string; bytes: Uint8Array },
  fields: Record<string, string> = {},
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----rag${randomUUID()}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields))
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`),
    );
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`,
    ),
  );
  parts.push(Buffer.from(file.bytes), Buffer.from(`\r\n--${boundary}--\r\n`));
  return {
    payload: Buffer.concat(parts),
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
  };
}

/** A valid one-page PDF with no text layer (what a scan without OCR looks like). */
export function blankPdf(): Uint8Array {
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
  ];
  let body = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(body);
}

/**
 * Runs one of the runtime's commands (src/<name>.ts) with tsx, as `npm run <name> -w runtime`
 * does, with only PATH and `env` in its environment and `stdin` (or nothing) on its standard
 * input; its exit code and output, never a throw.
 */
export async function runEntry(
  name: string,
  args: readonly string[],
  env: Record<string, string>,
  stdin?: Buffer,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const tsx = join(__dirname, "..", "..", "node_modules", ".bin", "tsx");
  try {
    const running = promisify(execFile)(tsx, [`src/${name}.ts`, ...args], {
      cwd: join(__dirname, ".."),
      env: { PATH: process.env.PATH, ...env },
    });
    running.child.stdin?.end(stdin);
    const { stdout, stderr } = await running;
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A private CA, a server certificate it signed for `db.internal` (not 127.0.0.1), and an unrelated CA: PEM files in a fresh folder. */
export interface PrivateCa {
  readonly dir: string;
  readonly caFile: string;
  readonly otherCaFile: string;
  readonly serverKey: string;
  readonly serverCert: string;
}

/** Makes a PrivateCa with the openssl command (as a managed database's own CA would be). */
export async function privateCa(): Promise<PrivateCa> {
  const dir = mkdtempSync(join(tmpdir(), "rag-ca-"));
  const openssl = (args: string[]) => promisify(execFile)("openssl", args, { cwd: dir });
  for (const name of ["ca", "other-ca"]) {
    await openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
    ]);
  }
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=db.internal",
  ]);
  writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:db.internal\n");
  await openssl([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "san.ext",
  ]);
  return {
    dir,
    caFile: join(dir, "ca.pem"),
    otherCaFile: join(dir, "other-ca.pem"),
    serverKey: readFileSync(join(dir, "server.key"), "utf8"),
    serverCert: readFileSync(join(dir, "server.pem"), "utf8"),
  };
}
