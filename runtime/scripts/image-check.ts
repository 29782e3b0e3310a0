/**
 * npm run check:image -w runtime: builds the runtime image's file system the way
 * runtime/Dockerfile does, without a Docker engine, and runs the image's commands from it.
 *
 * Each stage of the Dockerfile is played in its own directory: COPY (from the build context,
 * honouring .dockerignore, or from an earlier stage), WORKDIR, ENV and RUN (the same npm
 * commands, on this machine's Node.js and npm cache, which is what a `--mount=type=cache` means).
 * The last stage's tree is the image. Then, from that tree only, with the image's ENV:
 *   - every production dependency of runtime/package.json resolves from dist/ at a version
 *     its range allows (a package npm placed under runtime/node_modules that the image lacks
 *     would resolve to another version, or not at all);
 *   - CMD (the API) and the worker start against this machine's Postgres (a fresh database)
 *     and Redis, with traces exported to a local OTLP sink; a document uploaded to the API is
 *     indexed by the worker and answers a query; the UI is served; the HEALTHCHECK command
 *     passes; spans reach the sink; SIGTERM stops both with exit code 0.
 * What it cannot do here: pull the base image (it runs on this machine's Node.js, not the
 * image's) or fetch ADDed URLs (no internet), so it reports those and goes on without them.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix, relative, resolve } from "node:path";
import semver from "semver";
import { freePorts, freshDatabase, REDIS_URL } from "../test/support";

const REPO = resolve(__dirname, "..", "..");
const DOCKERFILE = join(REPO, "runtime", "Dockerfile");
const ADMIN_KEY = "rag_image_check_admin_key_0123456789";

export interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly line: number;
}

/** Instructions of a Dockerfile: comments and the syntax directive dropped, continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith("\\") && i + 1 < lines.length)
      line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot read "${line}"`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 });
  }
  return out;
}

/** `--flag=value` options at the start of an instruction's arguments, and the rest. */
export function splitFlags(args: string): { flags: Record<string, string>; rest: string[] } {
  const words = args.split(/\s+/).filter(Boolean);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith("--")) {
    const [k, v = "true"] = words.shift()!.slice(2).split("=", 2) as [string, string?];
    flags[k] = v;
  }
  return { flags, rest: words };
}

/** The JSON (exec) form of CMD / HEALTHCHECK CMD. */
function execForm(args: string, what: string): string[] {
  try {
    const parsed = JSON.parse(args) as unknown;
    if (Array.isArray(parsed) && parsed.every((p) => typeof p === "string")) return parsed;
  } catch {
    // fall through
  }
  throw new Error(`${what} must use the exec (JSON array) form, got: ${args}`);
}

/** .dockerignore patterns this repository uses: `**\/name` (anywhere) and top-level names. */
function ignoredBy(patterns: readonly string[]): (rel: string) => boolean {
  return (rel) => {
    const parts = rel.split("/");
    return patterns.some((p) =>
      p.startsWith("**/")
        ? parts.includes(p.slice(3))
        : rel === p || rel.startsWith(`${p}/`) || (p.startsWith("*") && rel.endsWith(p.slice(1))),
    );
  };
}

interface Stage {
  readonly name: string;
  readonly root: string;
  workdir: string;
  env: Record<string, string>;
  cmd?: string[];
  healthcheck?: string[];
  /** Paths in the image that an ADD of a URL would have written: not fetched here. */
  readonly skipped: string[];
}

const ARG_REF = /\$\{(\w+)\}|\$(\w+)/g;

/** Plays the Dockerfile's stages; returns the last one (the image). */
export function buildStages(
  instructions: readonly Instruction[],
  context: string,
  workRoot: string,
  log: (s: string) => void,
): Stage {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  const ignore = ignoredBy(
    existsSync(join(context, ".dockerignore"))
      ? readFileSync(join(context, ".dockerignore"), "utf8")
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith("#"))
      : [],
  );
  const expand = (s: string, env: Record<string, string>) =>
    s.replace(
      ARG_REF,
      (_, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? args[(a ?? b)!] ?? "",
    );
  let stage: Stage | undefined;
  const current = (ins: Instruction) => {
    if (!stage) throw new Error(`Dockerfile line ${ins.line}: ${ins.op} before FROM`);
    return stage;
  };
  const inImage = (s: Stage, p: string) => join(s.root, posix.resolve(s.workdir, p));
  for (const ins of instructions) {
    switch (ins.op) {
      case "ARG": {
        const [k, v = ""] = ins.args.split("=", 2) as [string, string?];
        if (!stage) args[k] = v;
        break;
      }
      case "FROM": {
        const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
        if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot read FROM ${ins.args}`);
        const name = m[2] ?? String(stages.length);
        stage = {
          name,
          root: join(workRoot, `stage-${stages.length}-${name}`),
          workdir: "/",
          env: {},
          skipped: [],
        };
        mkdirSync(stage.root, { recursive: true });
        stages.push(stage);
        log(
          `stage ${name} (base ${expand(m[1]!, {})}: this machine's Node.js ${process.version} stands in for it)`,
        );
        break;
      }
      case "WORKDIR": {
        const s = current(ins);
        s.workdir = posix.resolve(s.workdir, expand(ins.args, s.env));
        mkdirSync(join(s.root, s.workdir), { recursive: true });
        break;
      }
      case "ENV": {
        const s = current(ins);
        const m = /^(\w+)[= ](.*)$/.exec(ins.args);
        if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot read ENV ${ins.args}`);
        s.env[m[1]!] = expand(m[2]!, s.env);
        break;
      }
      case "COPY": {
        const s = current(ins);
        const { flags, rest } = splitFlags(ins.args);
        const dest = rest.pop()!;
        const from =
          flags.from === undefined ? undefined : stages.find((x) => x.name === flags.from);
        if (flags.from !== undefined && !from)
          throw new Error(`Dockerfile line ${ins.line}: no stage named ${flags.from}`);
        for (const src of rest) {
          const source = from ? join(from.root, src) : join(context, src);
          if (!existsSync(source))
            throw new Error(
              `Dockerfile line ${ins.line}: COPY ${from ? `--from=${from.name} ` : ""}${src}: no such file or directory`,
            );
          // As Docker does: a directory's contents go into dest; a file goes into dest/ or becomes dest.
          const intoDir =
            !statSync(source).isDirectory() && (dest.endsWith("/") || rest.length > 1);
          const target = intoDir ? join(inImage(s, dest), basename(src)) : inImage(s, dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(source, target, {
            recursive: true,
            filter: (p) =>
              from !== undefined || !ignore(relative(context, p).split("\\").join("/")),
          });
        }
        break;
      }
      case "ADD": {
        const s = current(ins);
        const { rest } = splitFlags(ins.args);
        const dest = rest.pop()!;
        if (rest.some((r) => /^https?:\/\//.test(r))) {
          s.skipped.push(posix.resolve(s.workdir, dest));
          log(
            `  ADD ${rest.join(" ")}: not fetched (no internet here); the check runs without ${dest}`,
          );
        } else {
          throw new Error(
            `Dockerfile line ${ins.line}: only ADD of a URL is supported by this check; use COPY for local files`,
          );
        }
        break;
      }
      case "RUN": {
        const s = current(ins);
        const { rest } = splitFlags(ins.args);
        const command = expand(rest.join(" "), s.env);
        log(`  RUN ${command}`);
        const { NODE_ENV: _unset, ...machine } = process.env;
        execFileSync("sh", ["-c", command], {
          cwd: join(s.root, s.workdir),
          stdio: ["ignore", "ignore", "inherit"],
          env: { ...machine, ...s.env },
        });
        break;
      }
      case "CMD":
        current(ins).cmd = execForm(ins.args, "CMD");
        break;
      case "HEALTHCHECK": {
        const m = /CMD\s+(\[.*\])\s*$/.exec(ins.args);
        if (!m) throw new Error(`Dockerfile line ${ins.line}: HEALTHCHECK must run CMD [..]`);
        current(ins).healthcheck = execForm(m[1]!, "HEALTHCHECK CMD");
        break;
      }
      case "USER":
      case "EXPOSE":
      case "LABEL":
        break;
      default:
        throw new Error(`Dockerfile line ${ins.line}: ${ins.op} is not supported by this check`);
    }
  }
  if (!stage) throw new Error("the Dockerfile has no FROM");
  return stage;
}

/** Each production dependency, resolved from `fromDir` as the image's code would, against its declared range. */
export function dependencyProblems(
  fromDir: string,
  dependencies: Record<string, string>,
): string[] {
  const requireFrom = createRequire(join(fromDir, "index.js"));
  const problems: string[] = [];
  for (const [name, range] of Object.entries(dependencies)) {
    let dir: string | undefined;
    for (let d = fromDir; ; d = dirname(d)) {
      if (existsSync(join(d, "node_modules", name, "package.json"))) {
        dir = join(d, "node_modules", name);
        break;
      }
      if (dirname(d) === d) break;
    }
    if (!dir) {
      problems.push(`${name}: not found from ${fromDir}`);
      continue;
    }
    const version = (
      JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }
    ).version;
    if (!semver.satisfies(version, range))
      problems.push(
        `${name}: resolves to ${version} (${dir}), but runtime/package.json asks for ${range}`,
      );
    try {
      requireFrom.resolve(name);
    } catch (error) {
      // ESM-only packages have no require entry: importing them is checked by running the image.
      if ((error as NodeJS.ErrnoException).code !== "ERR_PACKAGE_PATH_NOT_EXPORTED")
        problems.push(`${name}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  return problems;
}

/** An OTLP/HTTP endpoint that counts the trace exports it receives. */
async function otlpSink(): Promise<{ server: Server; url: string; exports: () => number }> {
  let count = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/v1/traces") count++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => count,
  };
}

/** Polls `probe` until it returns a value; `abort` names a failure that makes waiting pointless. */
async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  abort: () => string | undefined = () => undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = abort();
    if (reason) throw new Error(`${reason} (while waiting for ${what})`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolveExit, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `${child.spawnargs.join(" ")} did not exit within ${timeoutMs / 1000} s of SIGTERM`,
          ),
        ),
      timeoutMs,
    );
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolveExit(code);
    });
  });
}

async function main(): Promise<void> {
  const log = (s: string) => console.log(s);
  const work = mkdtempSync(join(tmpdir(), "rag-image-"));
  // Node looks for node_modules in every parent directory: none may exist above the image.
  for (let d = work; dirname(d) !== d; d = dirname(d)) {
    if (existsSync(join(dirname(d), "node_modules")))
      throw new Error(
        `${join(dirname(d), "node_modules")} exists: the check's resolution would not be the image's; set TMPDIR elsewhere`,
      );
  }
  const children: ChildProcess[] = [];
  let stopping = false;
  let failed: string | undefined;
  const sink = await otlpSink();
  const db = await freshDatabase();
  try {
    const image = buildStages(parseDockerfile(readFileSync(DOCKERFILE, "utf8")), REPO, work, log);
    const workdir = join(image.root, image.workdir);
    if (!image.cmd) throw new Error("the image has no CMD");

    const pkg = JSON.parse(readFileSync(join(REPO, "runtime", "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const problems = dependencyProblems(join(workdir, "dist"), pkg.dependencies);
    if (problems.length > 0)
      throw new Error(
        `the image's node_modules do not match runtime/package.json:\n  ${problems.join("\n  ")}`,
      );
    log(
      `dependencies: all ${Object.keys(pkg.dependencies).length} of runtime/package.json resolve from dist/ at allowed versions`,
    );

    const [apiPort, workerPort, metricsPort] = (await freePorts(3)) as [number, number, number];
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: work,
      ...Object.fromEntries(
        Object.entries(image.env).filter(([, v]) => !image.skipped.includes(v)),
      ),
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_NAME: `image-check-${randomUUID().slice(0, 8)}`,
      ADMIN_API_KEY: ADMIN_KEY,
      HOST: "127.0.0.1",
      PORT: String(apiPort),
      WORKER_HEALTH_PORT: String(workerPort),
      DATA_DIR: join(work, "data"),
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      LOG_LEVEL: "warn",
    };
    const run = (command: string[], extraEnv: Record<string, string> = {}) => {
      const child = spawn(command[0]!, command.slice(1), {
        cwd: workdir,
        env: { ...env, ...extraEnv },
        stdio: ["ignore", "pipe", "inherit"],
      });
      children.push(child);
      return child;
    };
    // As the tiers run it: /metrics on a port of its own, out of the load balancer's reach.
    const api = run(image.cmd, { METRICS_PORT: String(metricsPort) });
    api.stdout.pipe(process.stdout);
    // The worker also publishes the queue depth as CloudWatch EMF lines on its standard output, as on ECS.
    const worker = run(["node", "dist/worker.js"], {
      CLOUDWATCH_METRICS_NAMESPACE: "RagPlatform",
      SERVICE_NAME: "image-check",
    });
    const emf: Record<string, unknown>[] = [];
    let pending = "";
    worker.stdout.on("data", (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const record = /^\{"_aws"/.test(line)
          ? (JSON.parse(line) as Record<string, unknown>)
          : undefined;
        if (record) emf.push(record);
        else if (line) process.stdout.write(`${line}\n`);
      }
    });
    for (const [child, what] of [
      [api, "the API"],
      [worker, "the worker"],
    ] as const) {
      child.once("exit", (code) => {
        if (!stopping) failed = `${what} exited with ${code} before the check was done`;
      });
    }
    const base = `http://127.0.0.1:${apiPort}`;
    const headers = { authorization: `Bearer ${ADMIN_KEY}` };
    const alive = () => failed;
    await until(
      "the API's /healthz",
      60_000,
      async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined),
      alive,
    );
    await until(
      "the worker's /healthz",
      60_000,
      async () => ((await fetch(`http://127.0.0.1:${workerPort}/healthz`)).ok ? true : undefined),
      alive,
    );
    log(`started: ${image.cmd.join(" ")} (API) and node dist/worker.js, on Postgres and Redis`);

    const text =
      "The image check indexes this note. Canaries warn miners about carbon monoxide in the tunnels.";
    const upload = await fetch(`${base}/v1/documents`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ name: "canary.txt", text }),
    });
    if (upload.status !== 202)
      throw new Error(`POST /v1/documents: ${upload.status} ${await upload.text()}`);
    const { id } = (await upload.json()) as { id: string };
    await until(
      "the worker to index the upload",
      60_000,
      async () => {
        const doc = (await (await fetch(`${base}/v1/documents/${id}`, { headers })).json()) as {
          status: string;
          error: string | null;
        };
        if (doc.status === "failed") throw new Error(`indexing failed: ${doc.error}`);
        return doc.status === "ready" ? true : undefined;
      },
      alive,
    );
    const query = await fetch(`${base}/v1/query`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ question: "What do canaries warn miners about?" }),
    });
    const answer = (await query.json()) as { citations?: { documentName: string }[] };
    if (!query.ok || !answer.citations?.some((c) => c.documentName === "canary.txt"))
      throw new Error(`POST /v1/query: ${query.status} ${JSON.stringify(answer)}`);
    const ui = await fetch(`${base}/`);
    if (!ui.ok || !(ui.headers.get("content-type") ?? "").startsWith("text/html"))
      throw new Error(
        `GET /: ${ui.status} ${ui.headers.get("content-type")}: the web UI is not in the image`,
      );
    log("served: upload indexed by the worker, query answered citing it, web UI at /");
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    if (!metrics.ok || !(await metrics.text()).includes("rag_http_request_duration_seconds"))
      throw new Error(`GET :${metricsPort}/metrics (METRICS_PORT): ${metrics.status}`);
    const exposed = await fetch(`${base}/metrics`);
    if (exposed.status !== 404)
      throw new Error(
        `GET ${base}/metrics answered ${exposed.status} with METRICS_PORT set: /metrics must stay off the API port`,
      );
    log("metrics: /metrics on METRICS_PORT, 404 on the API port");

    if (image.healthcheck) {
      execFileSync(image.healthcheck[0]!, image.healthcheck.slice(1), {
        cwd: workdir,
        env,
        stdio: "inherit",
      });
      log(`HEALTHCHECK ${image.healthcheck.join(" ")}: passes`);
    }
    await until("trace exports at the OTLP sink", 30_000, async () =>
      sink.exports() > 0 ? true : undefined,
    );
    log(`traces: ${sink.exports()} export(s) reached the OTLP endpoint`);
    const depth = await until(
      "the worker's queue-depth metric (CloudWatch EMF)",
      10_000,
      async () =>
        emf.find((r) => r.Service === "image-check" && typeof r.IngestQueueDepth === "number"),
      alive,
    );
    log(
      `metrics: the worker wrote IngestQueueDepth=${String(depth.IngestQueueDepth)} in CloudWatch's embedded metric format`,
    );

    if (failed) throw new Error(failed);
    stopping = true;
    for (const child of [api, worker]) child.kill("SIGTERM");
    const codes = await Promise.all([exited(api, 30_000), exited(worker, 30_000)]);
    if (codes.some((c) => c !== 0))
      throw new Error(`exit codes after SIGTERM: API ${codes[0]}, worker ${codes[1]} (0 expected)`);
    const size = execFileSync("du", ["-sh", image.root], { encoding: "utf8" }).split("\t")[0];
    log(`stopped cleanly on SIGTERM. Image file system: ${size} (without the base image).`);
    log("image check: ok");
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    sink.server.close();
    await db.drop();
    if (!process.env.KEEP_IMAGE_CHECK) rmSync(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`image check: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
