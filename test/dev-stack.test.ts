import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ENV, FILE_SUFFIX, SECRET_ENV } from "../runtime/src/config";
import { IMAGES, RUNTIME_BASE_IMAGE } from "../stacks/versions";
import { PROJECT_DIR, type ResourceRecord, type SynthResult } from "../tools/harness";
import { byName, CONTAINER, envMap, ofType, synth, waitedFor } from "./helpers";

const SERVICES = ["postgres", "redis", "qdrant", "ollama", "runtime-api", "runtime-worker"];
const TOOLS = ["redisinsight", "prometheus", "grafana"];
const TOOL_IMAGES = [IMAGES.redisInsight, IMAGES.prometheus, IMAGES.grafana];

type Upload = { file: string; content: string };
type Port = { internal: number; external: number; ip: string; protocol: string };
const portsOf = (c: ResourceRecord) => (c.inputs.ports ?? []) as Port[];

let dev: SynthResult;
beforeAll(async () => {
  dev = await synth("dev");
});

describe("dev tier on Docker", () => {
  it("runs the six services of the docker-compose shape and the three dev tools", () => {
    const names = ofType(dev, CONTAINER)
      .map((c) => c.name)
      .sort();
    expect(names).toEqual([...SERVICES, ...TOOLS].map((s) => `rag-dev-${s}`).sort());
  });

  it("puts every container on the one private network, reachable by its service alias", () => {
    const networks = ofType(dev, "docker:index/network:Network");
    expect(networks).toHaveLength(1);
    expect(networks[0]!.inputs.driver).toBe("bridge");
    for (const c of ofType(dev, CONTAINER)) {
      const attached = c.inputs.networksAdvanced as { name: string; aliases: string[] }[];
      expect(attached, c.name).toEqual([
        { name: networks[0]!.inputs.name, aliases: [expect.any(String)] },
      ]);
    }
  });

  it("publishes ports on 127.0.0.1 only", () => {
    const published = ofType(dev, CONTAINER).flatMap(
      (c) => (c.inputs.ports ?? []) as { ip: string; external: number }[],
    );
    expect(published.length).toBeGreaterThanOrEqual(8);
    for (const port of published) expect(port.ip).toBe("127.0.0.1");
    expect(
      ofType(dev, CONTAINER).every(
        (c) => c.inputs.publishAllPorts !== true && c.inputs.networkMode !== "host",
      ),
    ).toBe(true);
  });

  it("gives every container a health check and a restart policy", () => {
    for (const c of ofType(dev, CONTAINER)) {
      const hc = c.inputs.healthcheck as { tests: string[]; interval: string; retries: number };
      expect(hc.tests[0], c.name).toMatch(/^CMD(-SHELL)?$/);
      expect(hc.tests.length, c.name).toBeGreaterThan(1);
      expect(hc.retries, c.name).toBeGreaterThan(0);
      expect(c.inputs.restart, c.name).toBe("unless-stopped");
    }
  });

  it("pins every pulled image to an exact version", () => {
    const pulled = ofType(dev, "docker:index/remoteImage:RemoteImage").map(
      (i) => i.inputs.name as string,
    );
    expect(pulled.sort()).toEqual(Object.values(IMAGES).sort());
    for (const ref of pulled) {
      expect(ref).not.toMatch(/:latest$/);
      expect(ref).toMatch(/:[^:]*\d+\.\d+\.\d+[^:]*$/);
    }
  });

  it("runs containers from the pulled or built image ids, not from floating tags", () => {
    for (const c of ofType(dev, CONTAINER))
      expect(c.inputs.image, c.name).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("builds the API and the worker from runtime/Dockerfile", () => {
    for (const [name, grace] of [
      ["rag-dev-runtime-api", 30],
      ["rag-dev-runtime-worker", 120],
    ] as const) {
      // docker stop waits this long after SIGTERM (not Docker's 10 s), the process 10 s less.
      expect(byName(dev, name).inputs.stopTimeout, name).toBe(grace);
      expect(envMap(byName(dev, name))[ENV.shutdownTimeoutSeconds], name).toBe(String(grace - 10));
    }
    const [image] = ofType(dev, "docker:index/image:Image");
    expect(image!.inputs.build).toEqual({ context: ".", dockerfile: "runtime/Dockerfile" });
    expect(image!.inputs.skipPush).toBe(true);
    expect(byName(dev, "rag-dev-runtime-api").inputs.command).toEqual(["node", "dist/server.js"]);
    expect(byName(dev, "rag-dev-runtime-worker").inputs.command).toEqual([
      "node",
      "dist/worker.js",
    ]);
  });

  it("builds on the pinned Node.js base image versions.ts names, a supported LTS line", () => {
    const dockerfile = readFileSync(join(PROJECT_DIR, "runtime", "Dockerfile"), "utf8");
    const stages = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(stages).toEqual(["${NODE_IMAGE}", "${NODE_IMAGE}", "${NODE_IMAGE}"]);
    expect(dockerfile.match(/^ARG NODE_IMAGE=(\S+)$/m)?.[1]).toBe(RUNTIME_BASE_IMAGE);
    // Node.js 20 reached end of life in April 2026; 22 and 24 are the LTS lines still supported.
    expect(RUNTIME_BASE_IMAGE).toMatch(/^node:(22|24)\.\d+\.\d+-bookworm-slim$/);
  });

  it("generates every password and key with @pulumi/random", () => {
    const generated = ofType(dev, "random:index/randomPassword:RandomPassword")
      .map((r) => r.name)
      .sort();
    expect(generated).toEqual([
      "rag-dev-admin-api-key",
      "rag-dev-grafana-admin-password",
      "rag-dev-postgres-password",
      "rag-dev-qdrant-api-key",
      "rag-dev-redis-password",
    ]);
    for (const r of ofType(dev, "random:index/randomPassword:RandomPassword"))
      expect(r.inputs.length).toBeGreaterThanOrEqual(32);
  });

  it("passes no secret as a plain environment value: secrets arrive as files", () => {
    for (const c of ofType(dev, CONTAINER)) {
      const env = envMap(c);
      for (const [key, value] of Object.entries(env)) {
        expect((SECRET_ENV as readonly string[]).includes(key), `${c.name} ${key}`).toBe(false);
        expect(key, c.name).not.toMatch(/PASSWORD$|API_KEY$|SECRET$|TOKEN$/);
        expect(value, `${c.name} ${key}`).not.toBe("[secret]");
      }
    }
    const api = envMap(byName(dev, "rag-dev-runtime-api"));
    for (const name of [ENV.pgPassword, ENV.redisPassword, ENV.qdrantApiKey, ENV.adminApiKey]) {
      expect(api[`${name}${FILE_SUFFIX}`]).toMatch(/^\/run\/secrets\//);
    }
    expect(envMap(byName(dev, "rag-dev-postgres")).POSTGRES_PASSWORD_FILE).toBe(
      "/run/secrets/postgres_password",
    );
  });

  it("keeps secret file contents out of the recorded state", () => {
    for (const name of [
      "rag-dev-postgres",
      "rag-dev-redis",
      "rag-dev-qdrant",
      "rag-dev-runtime-api",
      "rag-dev-runtime-worker",
      "rag-dev-redisinsight",
      "rag-dev-grafana",
    ]) {
      expect(byName(dev, name).inputs.uploads, name).toBe("[secret]");
    }
    expect(byName(dev, "rag-dev-redis").inputs.command).toEqual([
      "redis-server",
      "/run/secrets/redis.conf",
    ]);
  });

  it("wires the runtime to each service by the runtime's own variable names", () => {
    const env = envMap(byName(dev, "rag-dev-runtime-api"));
    expect(env).toMatchObject({
      [ENV.pgHost]: "postgres",
      [ENV.redisHost]: "redis",
      [ENV.vectorStore]: "qdrant",
      [ENV.qdrantUrl]: "http://qdrant:6333",
      [ENV.llmProvider]: "ollama",
      [ENV.llmBaseUrl]: "http://ollama:11434",
      [ENV.llmModel]: "llama3.2:1b",
      [ENV.embeddingModel]: "nomic-embed-text:v1.5",
      [ENV.objectStoreUrl]: "file:///data/documents",
      [ENV.host]: "0.0.0.0",
    });
  });

  it("pulls both models on Ollama's first start and is healthy only once they are present", () => {
    const ollama = byName(dev, "rag-dev-ollama");
    const script = (ollama.inputs.uploads as { file: string; content: string }[]).find((u) =>
      u.file.endsWith("start-ollama.sh"),
    )!;
    expect(script.content).toContain("ollama pull llama3.2:1b");
    expect(script.content).toContain("ollama pull nomic-embed-text:v1.5");
    const hc = ollama.inputs.healthcheck as { tests: string[] };
    expect(hc.tests[1]).toContain("ollama show llama3.2:1b");
    expect(hc.tests[1]).toContain("ollama show nomic-embed-text:v1.5");
    expect(ollama.inputs.gpus).toBeUndefined();
  });

  it("starts the runtime once every backend is healthy: Ollama only after its first pull", () => {
    const ollama = byName(dev, "rag-dev-ollama");
    // The runtime asks Ollama for its embedding model's dimensions at start: the model must be there.
    expect(ollama.inputs).toMatchObject({ wait: true, waitTimeout: 1800 });
    for (const runtime of ["rag-dev-runtime-api", "rag-dev-runtime-worker"]) {
      const before = waitedFor(dev, byName(dev, runtime));
      for (const backend of ["postgres", "redis", "qdrant", "ollama"]) {
        const container = byName(dev, `rag-dev-${backend}`);
        expect(container.inputs.wait, backend).toBe(true);
        expect(before.has(container.urn), `${runtime} after ${backend}`).toBe(true);
      }
    }
  });

  it("keeps data in named volumes that survive `pulumi destroy`", () => {
    const volumes = ofType(dev, "docker:index/volume:Volume")
      .map((v) => v.name)
      .sort();
    expect(volumes).toEqual([
      "rag-dev-documents",
      "rag-dev-ollama-models",
      "rag-dev-postgres-data",
      "rag-dev-qdrant-storage",
      "rag-dev-redis-data",
    ]);
  });

  it("exports the API URL and how to reach each service, secrets masked", () => {
    expect(dev.outputs.apiUrl).toBe("http://127.0.0.1:8080");
    expect(dev.outputs.webUrl).toBe("http://127.0.0.1:8080/");
    expect(dev.outputs.adminApiKey).toBe("[secret]");
    expect(dev.outputs.postgresPassword).toBe("[secret]");
    expect(dev.outputs.redisPassword).toBe("[secret]");
    expect(dev.outputs.qdrantApiKey).toBe("[secret]");
    expect(dev.outputs.grafanaAdminPassword).toBe("[secret]");
    expect(dev.outputs.postgres).toMatchObject({ url: "postgresql://rag@127.0.0.1:15432/rag" });
    expect(dev.outputs.ollama).toMatchObject({ url: "http://127.0.0.1:11434" });
  });

  it("outputs the knowledge-base backup commands, reading the admin key from the stack (not holding it)", () => {
    expect(dev.outputs.backup).toEqual({
      export:
        'RAG_API_URL=http://127.0.0.1:8080 RAG_API_KEY="$(pulumi stack output adminApiKey --show-secrets)" npm run backup -w runtime -- export --out kb-$(date +%F).tar.gz',
      import:
        'RAG_API_URL=http://127.0.0.1:8080 RAG_API_KEY="$(pulumi stack output adminApiKey --show-secrets)" npm run backup -w runtime -- import --in kb.tar.gz',
    });
  });
});

describe("dev tools (dev.tools, on by default)", () => {
  const env = (name: string) => envMap(byName(dev, `rag-dev-${name}`));

  it("publishes each tool's UI on its 127.0.0.1 port from the pinned image", () => {
    for (const [tool, internal, external, image] of [
      ["redisinsight", 5540, 5540, IMAGES.redisInsight],
      ["prometheus", 9090, 9090, IMAGES.prometheus],
      // Pulumi.dev.yaml: 13000, as npm run web's next dev takes 3000.
      ["grafana", 3000, 13000, IMAGES.grafana],
    ] as const) {
      expect(portsOf(byName(dev, `rag-dev-${tool}`)), tool).toEqual([
        { internal, external, ip: "127.0.0.1", protocol: "tcp" },
      ]);
      expect(byName(dev, `rag-dev-${tool}-image`).inputs.name, tool).toBe(image);
    }
    expect(TOOL_IMAGES.every((i) => /:v?\d+\.\d+\.\d+$/.test(i))).toBe(true);
    expect(dev.outputs.redisInsight).toEqual({ url: "http://127.0.0.1:5540" });
    expect(dev.outputs.prometheus).toMatchObject({ url: "http://127.0.0.1:9090" });
    expect(dev.outputs.grafana).toEqual({
      url: "http://127.0.0.1:13000",
      user: "admin",
      password: "pulumi stack output grafanaAdminPassword --show-secrets",
    });
  });

  it("Prometheus reads the /metrics of the API and the worker where they serve it", () => {
    const prometheus = byName(dev, "rag-dev-prometheus");
    const uploads = prometheus.inputs.uploads as Upload[];
    expect(uploads.map((u) => u.file)).toEqual(["/etc/prometheus/prometheus.yml"]);
    const config = parse(uploads[0]!.content) as {
      scrape_configs: {
        job_name: string;
        metrics_path: string;
        static_configs: { targets: string[]; labels: Record<string, string> }[];
      }[];
    };
    const targets = Object.fromEntries(
      config.scrape_configs.map((j) => [j.job_name, j.static_configs[0]!.targets]),
    );
    expect(targets).toEqual({ "rag-api": ["api:8080"], "rag-worker": ["worker:8081"] });
    // Each target is a runtime container's alias and the port its process listens on.
    const api = byName(dev, "rag-dev-runtime-api");
    const worker = byName(dev, "rag-dev-runtime-worker");
    const alias = (c: ResourceRecord) =>
      (c.inputs.networksAdvanced as { aliases: string[] }[])[0]!.aliases[0];
    expect([alias(api), envMap(api)[ENV.port]]).toEqual(["api", "8080"]);
    expect([alias(worker), envMap(worker)[ENV.workerHealthPort]]).toEqual(["worker", "8081"]);
    // /metrics stays on the API's own port: no METRICS_PORT moves it elsewhere.
    expect(envMap(api)[ENV.metricsPort]).toBeUndefined();
    // The dashboard selects namespace="rag-dev": every series carries that label.
    for (const job of config.scrape_configs) {
      expect(job.metrics_path).toBe("/metrics");
      expect(job.static_configs[0]!.labels).toEqual({ namespace: "rag-dev" });
    }
  });

  it("Grafana reads its admin password from a file, admits no anonymous user and opens on the dashboard", () => {
    expect(env("grafana")).toEqual({
      GF_SECURITY_ADMIN_USER: "admin",
      GF_SECURITY_ADMIN_PASSWORD__FILE: "/run/secrets/grafana_admin_password",
      GF_AUTH_ANONYMOUS_ENABLED: "false",
      GF_USERS_ALLOW_SIGN_UP: "false",
      GF_ANALYTICS_REPORTING_ENABLED: "false",
      GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
      GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: "/etc/grafana/dashboards/rag-service.json",
    });
    // The password file travels with the provisioning files: all of them are secret in the state.
    expect(byName(dev, "rag-dev-grafana").inputs.uploads).toBe("[secret]");
    // The data source answers from the first page: Grafana starts once Prometheus is healthy.
    expect(byName(dev, "rag-dev-prometheus").inputs.wait).toBe(true);
    expect(
      waitedFor(dev, byName(dev, "rag-dev-grafana")).has(byName(dev, "rag-dev-prometheus").urn),
    ).toBe(true);
  });

  it("RedisInsight opens the dev Redis from a connection file, once Redis is healthy", () => {
    expect(env("redisinsight")).toEqual({
      RI_PRE_SETUP_DATABASES_PATH: "/run/secrets/redisinsight-databases.json",
    });
    expect(
      waitedFor(dev, byName(dev, "rag-dev-redisinsight")).has(byName(dev, "rag-dev-redis").urn),
    ).toBe(true);
  });

  it("keeps the tools off the runtime's path: the API and the worker wait for none of them", () => {
    for (const runtime of ["rag-dev-runtime-api", "rag-dev-runtime-worker"]) {
      const before = waitedFor(dev, byName(dev, runtime));
      for (const tool of TOOLS)
        expect(before.has(byName(dev, `rag-dev-${tool}`).urn), `${runtime} / ${tool}`).toBe(false);
    }
  });
});

describe("dev tier variants", () => {
  it("pgvector mode drops the Qdrant container and points the runtime at Postgres", async () => {
    const result = await synth("dev", ["rag-platform:vectorDb.mode=pgvector"]);
    const names = ofType(result, CONTAINER).map((c) => c.name);
    expect(names).not.toContain("rag-dev-qdrant");
    const env = envMap(byName(result, "rag-dev-runtime-api"));
    expect(env[ENV.vectorStore]).toBe("pgvector");
    expect(env[ENV.requirePgvector]).toBe("true");
    expect(env[`${ENV.qdrantApiKey}${FILE_SUFFIX}`]).toBeUndefined();
  });

  it("dev.gpu passes the NVIDIA GPUs to Ollama only", async () => {
    const result = await synth("dev", ["rag-platform:dev.gpu=true"]);
    expect(byName(result, "rag-dev-ollama").inputs.gpus).toBe("all");
    expect(
      ofType(result, CONTAINER)
        .filter((c) => c.inputs.gpus !== undefined)
        .map((c) => c.name),
    ).toEqual(["rag-dev-ollama"]);
  });

  it("host ports follow config", async () => {
    const result = await synth("dev", [
      "rag-platform:dev.hostPorts.api=9080",
      "rag-platform:dev.hostPorts.grafana=23000",
      "rag-platform:dev.hostPorts.prometheus=19090",
      "rag-platform:dev.hostPorts.redisInsight=15540",
    ]);
    expect(byName(result, "rag-dev-runtime-api").inputs.ports).toEqual([
      { internal: 8080, external: 9080, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    expect(result.outputs.apiUrl).toBe("http://127.0.0.1:9080");
    for (const [tool, internal, external] of [
      ["grafana", 3000, 23000],
      ["prometheus", 9090, 19090],
      ["redisinsight", 5540, 15540],
    ] as const) {
      expect(portsOf(byName(result, `rag-dev-${tool}`)), tool).toEqual([
        { internal, external, ip: "127.0.0.1", protocol: "tcp" },
      ]);
    }
    expect(result.outputs.grafana).toMatchObject({ url: "http://127.0.0.1:23000" });
  });

  it("dev.tools=false runs the app alone: no tool container, image, password or output", async () => {
    const result = await synth("dev", ["rag-platform:dev.tools=false"]);
    expect(
      ofType(result, CONTAINER)
        .map((c) => c.name)
        .sort(),
    ).toEqual(SERVICES.map((s) => `rag-dev-${s}`).sort());
    const pulled = ofType(result, "docker:index/remoteImage:RemoteImage").map((i) => i.inputs.name);
    for (const image of TOOL_IMAGES) expect(pulled).not.toContain(image);
    expect(
      ofType(result, "random:index/randomPassword:RandomPassword").map((r) => r.name),
    ).not.toContain("rag-dev-grafana-admin-password");
    for (const key of ["redisInsight", "prometheus", "grafana", "grafanaAdminPassword"])
      expect(result.outputs, key).not.toHaveProperty(key);
  });
});
