/**
 * A real Apache Kafka broker for the tests and the benchmark, from its published Maven artifacts:
 *
 *   npm run kafka:fetch -w runtime   fetch org.apache.kafka:kafka_2.13 and its runtime dependencies (cached)
 *   npm run kafka:broker -w runtime  start one broker on 127.0.0.1 and print its address (Ctrl-C stops it)
 *
 * Maven copies the jars into a cache folder (KAFKA_BROKER_CACHE, default
 * ~/.cache/rag-platform/kafka-<version>), once. Each start formats a fresh KRaft log directory and
 * runs one combined broker and controller on free ports of 127.0.0.1 (PLAINTEXT: tests only),
 * then waits until it answers. A watchdog ends the JVM when the process that started it is gone,
 * so a killed test run leaves no broker behind.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Admin } from "@platformatic/kafka";

/** 4.1: the newest line @platformatic/kafka 1.x names as supported (3.5.0 to 4.1.0). */
export const KAFKA_VERSION = "4.1.2";
const LOG4J_VERSION = "2.25.3";

export function kafkaCacheDir(): string {
  return (
    process.env.KAFKA_BROKER_CACHE ??
    join(homedir(), ".cache", "rag-platform", `kafka-${KAFKA_VERSION}`)
  );
}

const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>rag-platform</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <!-- The broker logs through SLF4J 1.7: this routes it to log4j2 (errors only, to its log file). -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>${LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`;

/**
 * The broker's jars, fetched with Maven into the cache folder unless a previous fetch completed
 * there. Returns the folder holding them and how long the fetch took (0 when cached).
 */
export async function fetchKafka(): Promise<{ libs: string; seconds: number; cached: boolean }> {
  const dir = kafkaCacheDir();
  const libs = join(dir, "libs");
  const done = join(dir, "fetched");
  if (existsSync(done)) return { libs, seconds: 0, cached: true };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "pom.xml"), POM);
  rmSync(libs, { recursive: true, force: true });
  const start = performance.now();
  try {
    await promisify(execFile)(
      "mvn",
      [
        "-q",
        "-B",
        "-f",
        join(dir, "pom.xml"),
        "dependency:copy-dependencies",
        `-DoutputDirectory=${libs}`,
        "-DincludeScope=runtime",
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `could not fetch Kafka ${KAFKA_VERSION} with Maven (is mvn installed and Maven Central reachable?): ${(e.stdout || e.stderr || e.message).trim().split("\n").slice(-3).join(" ")}`,
      { cause: error },
    );
  }
  writeFileSync(done, `${new Date().toISOString()}\n`);
  return { libs, seconds: (performance.now() - start) / 1000, cached: false };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

export interface KafkaBroker {
  /** host:port of the PLAINTEXT listener. */
  readonly bootstrap: string;
  /** Where the broker's data and log file are (removed by stop). */
  readonly dir: string;
  stop(): Promise<void>;
}

function serverProperties(dir: string, port: number, controllerPort: number): string {
  return [
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    `log.dirs=${join(dir, "data")}`,
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=4",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    "auto.create.topics.enable=false",
    // Tests compact the document topic: let the cleaner look often.
    "log.cleaner.backoff.ms=1000",
    "",
  ].join("\n");
}

/** Starts a broker with a fresh log directory; resolves once it answers a metadata request. */
export async function startKafkaBroker(
  options: { timeoutMs?: number; heapMiB?: number } = {},
): Promise<KafkaBroker> {
  const { libs } = await fetchKafka();
  const dir = mkdtempSync(join(tmpdir(), "rag-kafka-"));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const properties = join(dir, "server.properties");
  writeFileSync(properties, serverProperties(dir, port, controllerPort));
  const classpath = `${libs}/*`;
  const clusterId = randomBytes(16).toString("base64url");
  await promisify(execFile)("java", [
    "-cp",
    classpath,
    "kafka.tools.StorageTool",
    "format",
    `--cluster-id=${clusterId}`,
    `--config=${properties}`,
  ]);
  const java = [
    "java",
    `-Xmx${options.heapMiB ?? 512}m`,
    "-XX:+UseSerialGC",
    "-cp",
    `'${classpath}'`,
    "kafka.Kafka",
    `'${properties}'`,
  ].join(" ");
  // The watchdog: the shell waits on the JVM and on the process that started it, and ends the JVM
  // when the starter is gone (a test run killed with -9 runs no cleanup of its own).
  const watchdog = `${java} > '${join(dir, "broker.log")}' 2>&1 & jvm=$!
trap 'kill $jvm 2>/dev/null; wait $jvm; exit 0' TERM
while kill -0 ${process.pid} 2>/dev/null && kill -0 $jvm 2>/dev/null; do sleep 1; done
kill $jvm 2>/dev/null; wait $jvm`;
  const child = spawn("sh", ["-c", watchdog], { stdio: "ignore" });
  let exited = false;
  const exit = new Promise<void>((r) =>
    child.once("exit", () => {
      exited = true;
      r();
    }),
  );
  const bootstrap = `127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      const killed = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exit;
      clearTimeout(killed);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  for (;;) {
    if (exited)
      throw new Error(`the Kafka broker exited while starting: see ${join(dir, "broker.log")}`);
    const admin = new Admin({
      clientId: "rag-kafka-probe",
      bootstrapBrokers: [bootstrap],
      retries: 0,
      connectTimeout: 1000,
    });
    try {
      await admin.metadata({ topics: [] });
      return { bootstrap, dir, stop };
    } catch (error) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the Kafka broker did not answer on ${bootstrap}: ${String(error)}`, {
          cause: error,
        });
      }
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await admin.close().catch(() => undefined);
    }
  }
}

async function main(): Promise<void> {
  const command = process.argv[2];
  if (command === "fetch") {
    const { libs, seconds, cached } = await fetchKafka();
    console.log(
      cached
        ? `Kafka ${KAFKA_VERSION}: cached in ${libs}`
        : `Kafka ${KAFKA_VERSION}: fetched with Maven into ${libs} in ${seconds.toFixed(1)} s`,
    );
    return;
  }
  if (command === "start") {
    const started = performance.now();
    const broker = await startKafkaBroker();
    console.log(
      `Kafka ${KAFKA_VERSION} on ${broker.bootstrap} (started in ${((performance.now() - started) / 1000).toFixed(1)} s; Ctrl-C stops it)`,
    );
    const stop = () => void broker.stop().then(() => process.exit(0));
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    return;
  }
  console.error("usage: kafka-broker.ts fetch|start");
  process.exitCode = 2;
}

if (require.main === module)
  main().catch((error: unknown) => {
    console.error(`kafka-broker: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
