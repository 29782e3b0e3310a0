/**
 * Ollama's start script (components/shared/ollama.ts), the PID 1 of the dev tier's Ollama
 * container and of the sme tier's Ollama pod, run for real by /bin/sh against a stand-in `ollama`
 * on PATH that records what it is asked: its first pull of a model fails, as a registry that is
 * away does; `serve` writes when it receives SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ollamaStartScript, PULL_RETRY_SECONDS } from "../components/shared/ollama";

const MODELS = ["llama3.2:1b", "nomic-embed-text:v1.5"];

const STAND_IN = `#!/bin/sh
log="$STATE/calls.log"
echo "$*" >> "$log"
file() { echo "$STATE/model-$(echo "$1" | tr '/:' '__')"; }
case "$1" in
  serve)
    [ -z "\${SERVE_FAILS:-}" ] || exit 3
    trap 'echo "serve got TERM" >> "$log"; exit 0' TERM
    touch "$STATE/serving"
    while :; do sleep 0.1; done ;;
  list) [ -f "$STATE/serving" ] ;;
  show) [ -f "$(file "$2")" ] ;;
  pull)
    if [ -f "$(file "$2").tried" ]; then touch "$(file "$2")"; else touch "$(file "$2").tried"; exit 1; fi ;;
esac
`;

function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () =>
      check()
        ? resolve()
        : Date.now() > deadline
          ? reject(new Error(`timed out waiting for ${what}`))
          : setTimeout(tick, 50);
    tick();
  });
}

describe("Ollama's start script", () => {
  let dir: string;
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  function start(env: Record<string, string> = {}): { exited: Promise<number | null> } {
    dir = mkdtempSync(join(tmpdir(), "ollama-start-"));
    writeFileSync(join(dir, "ollama"), STAND_IN);
    chmodSync(join(dir, "ollama"), 0o755);
    child = spawn("/bin/sh", ["-c", ollamaStartScript(MODELS)], {
      env: { PATH: `${dir}:/usr/bin:/bin`, STATE: dir, ...env },
      stdio: "ignore",
    });
    const running = child;
    return { exited: new Promise((resolve) => running.on("exit", (code) => resolve(code))) };
  }
  const calls = () =>
    existsSync(join(dir, "calls.log"))
      ? readFileSync(join(dir, "calls.log"), "utf8").trim().split("\n")
      : [];

  it(
    "pulls each missing model, retrying a failed pull, and passes SIGTERM on to the server",
    { timeout: 30_000 },
    async () => {
      const { exited } = start();
      await until(
        () => MODELS.every((m) => existsSync(join(dir, `model-${m.replace(/[/:]/g, "_")}`))),
        (2 * PULL_RETRY_SECONDS + 10) * 1000,
        "both models",
      );
      expect(calls().filter((c) => c.startsWith("pull"))).toEqual([
        "pull llama3.2:1b",
        "pull llama3.2:1b",
        "pull nomic-embed-text:v1.5",
        "pull nomic-embed-text:v1.5",
      ]);
      child!.kill("SIGTERM");
      // The script returns once the server has finished, with the server's own exit status.
      expect(await exited).toBe(0);
      expect(calls()).toContain("serve got TERM");
    },
  );

  it("answers SIGTERM while a model is still being pulled", { timeout: 30_000 }, async () => {
    const { exited } = start();
    await until(() => calls().includes("pull llama3.2:1b"), 10_000, "the first pull");
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(calls()).toContain("serve got TERM");
  });

  it("ends, failing, when the server dies while starting", { timeout: 30_000 }, async () => {
    const { exited } = start({ SERVE_FAILS: "1" });
    expect(await exited).toBe(1);
    expect(calls().some((c) => c.startsWith("pull"))).toBe(false);
  });
});
