/**
 * Start-up while backends are not there yet: the process waits for them (retrying with backoff)
 * and meanwhile answers on its port that it is alive but starting; a permanent problem ends it
 * at once. Real ports and HTTP; the backends are a build function that fails as they would.
 * And an embedded process (src/embedded.ts, a real child process) restarted after a SIGKILL: it
 * waits for the dead one's lock, serves, and re-indexes the interrupted document behind the API.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadRuntimeConfig, RuntimeConfigError } from "../src/config";
import { createServicesWhenReachable } from "../src/main";
import { waitFor } from "../src/queue/queue";
import type { Services } from "../src/services";
import { freePorts } from "./support";

/** Whether something can listen on the port again (the starting responder let go of it). */
async function portIsFree(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

const services = { marker: "built" } as unknown as Services;

describe("starting while the backends are not there yet", () => {
  it(
    "retries, answering meanwhile that it is alive but not ready, then hands the port over",
    { timeout: 20_000 },
    async () => {
      const [port] = (await freePorts(1)) as [number];
      const config = loadRuntimeConfig({
        PORT: String(port),
        HOST: "127.0.0.1",
        ADMIN_API_KEY: "k".repeat(32),
        LOG_LEVEL: "fatal",
        STARTUP_TIMEOUT_SECONDS: "60",
      });
      const seen: { health: [number, unknown]; ready: [number, unknown]; query: number }[] = [];
      let calls = 0;
      const built = await createServicesWhenReachable(config, "server", async () => {
        calls++;
        if (calls === 2) {
          const get = async (path: string) => {
            const res = await fetch(`http://127.0.0.1:${port}${path}`);
            return [res.status, await res.json()] as [number, unknown];
          };
          const query = await fetch(`http://127.0.0.1:${port}/v1/query`, { method: "POST" });
          // The readiness the platforms' load balancers and probes ask (API_READINESS_PATH in components/shared).
          seen.push({
            health: await get("/healthz"),
            ready: await get("/readyz?check=database"),
            query: query.status,
          });
        }
        if (calls < 3)
          throw new Error("model 'nomic-embed-text:v1.5' not found, try pulling it first");
        return services;
      });
      expect(built).toBe(services);
      expect(calls).toBe(3);
      expect(seen).toEqual([
        {
          health: [200, { status: "starting" }],
          ready: [
            503,
            expect.objectContaining({
              error: "starting",
              message: "the service is waiting for its backends (its logs say which)",
            }),
          ],
          query: 503,
        },
      ]);
      expect(await portIsFree(port)).toBe(true);
    },
  );

  it("ends at once on a permanent problem, and after the timeout on a lasting one", async () => {
    const [port] = (await freePorts(1)) as [number];
    const config = (timeout: number) =>
      loadRuntimeConfig({
        PORT: String(port),
        HOST: "127.0.0.1",
        ADMIN_API_KEY: "k".repeat(32),
        LOG_LEVEL: "fatal",
        STARTUP_TIMEOUT_SECONDS: String(timeout),
      });
    let calls = 0;
    const permanent = new RuntimeConfigError(['EMBEDDING_PROVIDER: got "x"']);
    await expect(
      createServicesWhenReachable(config(60), "server", async () => {
        calls++;
        throw permanent;
      }),
    ).rejects.toBe(permanent);
    expect(calls).toBe(1);
    const lasting = new Error("connect ECONNREFUSED 127.0.0.1:5432");
    await expect(
      createServicesWhenReachable(config(0), "server", async () => {
        calls++;
        throw lasting;
      }),
    ).rejects.toBe(lasting);
    expect(calls).toBe(2);
    expect(await portIsFree(port)).toBe(true);
  });
});

/** `npm run runtime`'s process (src/embedded.ts), its standard output and error kept. */
function spawnEmbedded(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", join("src", "embedded.ts")], {
    cwd: join(__dirname, ".."),
    env: { PATH: process.env.PATH, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  return { child, output: () => output };
}

const exited = (child: ChildProcess) =>
  new Promise<void>((r) =>
    child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r()),
  );

/** Polls `url` until it answers 200; refused connections (not listening yet) are waited out. */
async function answers(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the process exited ${child.exitCode}`);
      return fetch(url).then(
        (r) => r.ok,
        () => false,
      );
    },
    timeoutMs,
    `${url} to answer`,
  );
}

/** Plain text of about `bytes`, with enough distinct words that indexing it takes seconds. */
function largeText(bytes: number): string {
  const words = ["retrieval", "ranking", "recovery", "worker", "vector", "passage", "citation"];
  let seed = 7;
  const paragraphs: string[] = [];
  for (let size = 0; size < bytes;) {
    const paragraph = Array.from({ length: 120 }, () => {
      seed = (seed * 48271) % 2147483647;
      return `${words[seed % words.length]}${seed % 500}`;
    }).join(" ");
    paragraphs.push(`${paragraph}.`);
    size += paragraph.length + 3;
  }
  return paragraphs.join("\n\n");
}

describe("an embedded process restarted after a SIGKILL", () => {
  const running: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const child of running.splice(0)) {
      child.kill("SIGKILL");
      await exited(child);
    }
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function embeddedEnv(): Promise<{ env: Record<string, string>; base: string }> {
    const [port] = (await freePorts(1)) as [number];
    const dataDir = mkdtempSync(join(tmpdir(), "rag-restart-"));
    dirs.push(dataDir);
    // Stale soon, but not before the restart has started, however loaded the machine.
    const env = { DATA_DIR: dataDir, PORT: String(port), DATA_DIR_LOCK_STALE_SECONDS: "15" };
    return { env, base: `http://127.0.0.1:${port}` };
  }

  it(
    "waits for the dead process's lock to go stale, saying so and for how long at most, then serves",
    { timeout: 60_000 },
    async () => {
      const { env, base } = await embeddedEnv();
      const first = spawnEmbedded(env);
      running.push(first.child);
      await answers(`${base}/healthz`, 30_000, first.child);
      first.child.kill("SIGKILL");
      await exited(first.child);

      const second = spawnEmbedded(env);
      running.push(second.child);
      await answers(`${base}/healthz`, 30_000, second.child);
      expect(second.output()).toMatch(
        /locked by a runtime process that stopped without letting go \(killed, or crashed\): waiting at most \d+ s for the lock to go stale/,
      );
      second.child.kill("SIGTERM");
      await exited(second.child);
      expect(second.child.exitCode).toBe(0);
    },
  );

  it(
    "answers while the interrupted document is indexed again behind it, which then becomes ready",
    { timeout: 180_000 },
    async () => {
      const { env, base } = await embeddedEnv();
      const first = spawnEmbedded(env);
      running.push(first.child);
      await answers(`${base}/healthz`, 30_000, first.child);
      const form = new FormData();
      form.append("file", new Blob([largeText(3_000_000)], { type: "text/plain" }), "large.txt");
      const upload = await fetch(`${base}/v1/documents`, { method: "POST", body: form });
      expect(upload.status).toBe(202);
      const { id } = (await upload.json()) as { id: string };
      // Mid-document: indexing it takes seconds.
      first.child.kill("SIGKILL");
      await exited(first.child);

      const second = spawnEmbedded(env);
      running.push(second.child);
      await answers(`${base}/healthz`, 60_000, second.child);
      // /metrics reads no database: the queue holds the document and none is indexed yet, while
      // /healthz answers in between.
      const indexing = async () => {
        const metrics = await (await fetch(`${base}/metrics`)).text();
        return (
          /^rag_ingest_queue_depth 1$/m.test(metrics) &&
          !/^rag_documents_ingested_total\{outcome="ready"\}/m.test(metrics)
        );
      };
      await waitFor(
        async () =>
          (await indexing()) &&
          (await fetch(`${base}/healthz`)).status === 200 &&
          (await indexing()),
        30_000,
        "/healthz to answer while the document is indexed",
      );
      await waitFor(
        async () => {
          const doc = (await (await fetch(`${base}/v1/documents/${id}`)).json()) as {
            status: string;
          };
          return doc.status === "ready";
        },
        150_000,
        "the interrupted document to be ready",
      );
      expect(second.output()).toContain('"documents":1,"msg":"resuming unfinished documents"');
    },
  );
});
