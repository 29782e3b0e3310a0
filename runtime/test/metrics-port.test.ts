/**
 * METRICS_PORT: the API process serves /metrics on a port of its own and not on the API port,
 * which a load balancer exposes. Runs the real entry point (src/server.ts) in a child process.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../src/queue/queue";

const API = 18195;
const METRICS = 18196;
let server: ChildProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "rag-metrics-port-"));
  server = spawn(process.execPath, ["--import", "tsx", join(__dirname, "..", "src", "server.ts")], {
    cwd: join(__dirname, ".."),
    env: {
      ...process.env,
      DATABASE_URL: "",
      REDIS_URL: "",
      DATA_DIR: dataDir,
      PORT: String(API),
      METRICS_PORT: String(METRICS),
      LOG_LEVEL: "error",
    },
    stdio: "ignore",
  });
  await waitFor(
    async () =>
      await fetch(`http://127.0.0.1:${METRICS}/healthz`)
        .then((r) => r.ok)
        .catch(() => false),
    60_000,
    "the metrics port",
  );
}, 70_000);

afterAll(async () => {
  server.kill("SIGTERM");
  await new Promise((r) => (server.exitCode !== null ? r(null) : server.once("exit", r)));
  rmSync(dataDir, { recursive: true, force: true });
});

describe("METRICS_PORT", () => {
  it("serves /metrics there, and the API port answers 404 for it", async () => {
    await fetch(`http://127.0.0.1:${API}/healthz`);
    const metrics = await fetch(`http://127.0.0.1:${METRICS}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain(
      'rag_http_request_duration_seconds_count{route="/healthz",method="GET",status="200"}',
    );
    for (const path of ["/metrics", "/%6detrics"])
      expect((await fetch(`http://127.0.0.1:${API}${path}`)).status, path).toBe(404);
    expect((await fetch(`http://127.0.0.1:${API}/healthz`)).status).toBe(200);
  });
});
