/**
 * Start-up while backends are not there yet: the process waits for them (retrying with backoff)
 * and meanwhile answers on its port that it is alive but starting; a permanent problem ends it
 * at once. Real ports and HTTP; the backends are a build function that fails as they would.
 */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { loadRuntimeConfig, RuntimeConfigError } from "../src/config";
import { createServicesWhenReachable } from "../src/main";
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
