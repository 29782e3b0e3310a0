/**
 * The Kafka bus's env contract and client options: which SASL mechanism each KAFKA_AUTH mode
 * gives, where its secret comes from (a _FILE), and the one-line error of each missing piece.
 * No broker needed (the managed clouds' modes are not exercised against their services here).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRuntimeConfig, RuntimeConfigError } from "../../src/config";
import {
  EVENT_HUBS_USERNAME,
  googleKafkaToken,
  kafkaConnection,
  type TokenSources,
} from "../../src/kafka/client";
import { topicsOf } from "../../src/kafka/events";

const KAFKA = { INGEST_BUS: "kafka", KAFKA_BROKERS: "b-1.example:9098,b-2.example:9098" };

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadRuntimeConfig(env);
  } catch (error) {
    if (error instanceof RuntimeConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected RuntimeConfigError");
}

function secretFile(value: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "rag-kafka-secret-")), "secret");
  writeFileSync(file, `${value}\n`);
  return file;
}

const noTokens: TokenSources = {
  awsMskIam: async () => {
    throw new Error("not asked for");
  },
  google: async () => {
    throw new Error("not asked for");
  },
};

describe("the Kafka bus's env contract", () => {
  it("defaults to BullMQ; the Kafka bus needs brokers", () => {
    expect(loadRuntimeConfig({}).INGEST_BUS).toBe("bullmq");
    expect(problemsOf({ INGEST_BUS: "kafka" })).toEqual([
      "KAFKA_BROKERS: required when INGEST_BUS=kafka",
    ]);
    expect(problemsOf({ INGEST_BUS: "nats" })[0]).toMatch(/^INGEST_BUS: got "nats"; /);
    expect(problemsOf({ ...KAFKA, KAFKA_BROKERS: "broker-without-port" })[0]).toMatch(
      /^KAFKA_BROKERS: got "broker-without-port"; a comma-separated list of host:port/,
    );
    expect(problemsOf({ ...KAFKA, WORKER_ROLE: "chunk" })[0]).toMatch(/^WORKER_ROLE: got "chunk"/);
    expect(problemsOf({ AUDIT_KAFKA_TOPIC: "audit" })).toEqual([
      "AUDIT_KAFKA_TOPIC: set without the Kafka bus; set INGEST_BUS=kafka and its brokers",
    ]);
  });

  it("names topics and groups from their prefixes", () => {
    const config = loadRuntimeConfig({ ...KAFKA, KAFKA_TOPIC_PREFIX: "eu." });
    expect(topicsOf(config)).toEqual({
      documents: "eu.documents",
      parsed: "eu.ingest.parsed",
      embedded: "eu.ingest.embedded",
      deadLetter: "eu.ingest.dead-letter",
      uploads: "eu.uploads",
    });
    expect(problemsOf({ ...KAFKA, KAFKA_GROUP_PREFIX: "a b" })[0]).toMatch(
      /^KAFKA_GROUP_PREFIX: got "a b"; letters, digits/,
    );
  });

  it("sends credentials over TLS only", () => {
    expect(
      problemsOf({
        ...KAFKA,
        KAFKA_TLS: "false",
        KAFKA_AUTH: "aws-msk-iam",
        KAFKA_AWS_REGION: "eu-west-1",
      }),
    ).toEqual([
      "KAFKA_TLS: false with KAFKA_AUTH=aws-msk-iam; credentials only travel over TLS (PLAINTEXT is for a test broker)",
    ]);
    const plaintext = kafkaConnection(
      loadRuntimeConfig({ ...KAFKA, KAFKA_TLS: "false" }),
      noTokens,
    );
    expect(plaintext).toEqual({ bootstrapBrokers: ["b-1.example:9098", "b-2.example:9098"] });
    expect(kafkaConnection(loadRuntimeConfig(KAFKA), noTokens).tls).toEqual({});
    expect(problemsOf({ ...KAFKA, KAFKA_TLS_CA_FILE: "/nonexistent/ca.pem" })).toEqual([
      'KAFKA_TLS_CA_FILE: got "/nonexistent/ca.pem"; no such file (a PEM file of CA certificates)',
    ]);
  });

  it("SCRAM takes the user and the password from its file", () => {
    const config = loadRuntimeConfig({
      ...KAFKA,
      KAFKA_AUTH: "scram-sha-512",
      KAFKA_USERNAME: "ingest",
      KAFKA_PASSWORD_FILE: secretFile("s3cret"),
    });
    expect(kafkaConnection(config, noTokens).sasl).toEqual({
      mechanism: "SCRAM-SHA-512",
      username: "ingest",
      password: "s3cret",
    });
    expect(problemsOf({ ...KAFKA, KAFKA_AUTH: "scram-sha-256" })).toEqual([
      "KAFKA_USERNAME: required when KAFKA_AUTH=scram-sha-256 (the SASL user)",
      "KAFKA_PASSWORD: required when KAFKA_AUTH=scram-sha-256 (its password, best as KAFKA_PASSWORD_FILE)",
    ]);
  });

  it("Event Hubs signs in with the namespace's connection string from its file", () => {
    const connectionString =
      "Endpoint=sb://rag.servicebus.windows.net/;SharedAccessKeyName=ingest;SharedAccessKey=abc=";
    const config = loadRuntimeConfig({
      ...KAFKA,
      KAFKA_BROKERS: "rag.servicebus.windows.net:9093",
      KAFKA_AUTH: "azure-event-hubs",
      KAFKA_PASSWORD_FILE: secretFile(connectionString),
    });
    expect(kafkaConnection(config, noTokens).sasl).toEqual({
      mechanism: "PLAIN",
      username: EVENT_HUBS_USERNAME,
      password: connectionString,
    });
    expect(EVENT_HUBS_USERNAME).toBe("$ConnectionString");
    expect(problemsOf({ ...KAFKA, KAFKA_AUTH: "azure-event-hubs" })).toEqual([
      "KAFKA_PASSWORD: required when KAFKA_AUTH=azure-event-hubs (the namespace's connection string, as KAFKA_PASSWORD_FILE)",
    ]);
    // The connection string is a secret: never echoed in an error.
    expect(
      problemsOf({ ...KAFKA, KAFKA_PASSWORD: "x", KAFKA_PASSWORD_FILE: secretFile("y") }),
    ).toEqual([
      "KAFKA_PASSWORD: given both as KAFKA_PASSWORD and KAFKA_PASSWORD_FILE; set only one",
    ]);
  });

  it("MSK IAM sends a token the AWS signer makes for the cluster's region, fetched per connection", async () => {
    const config = loadRuntimeConfig({
      ...KAFKA,
      KAFKA_AUTH: "aws-msk-iam",
      KAFKA_AWS_REGION: "eu-west-1",
    });
    const regions: string[] = [];
    const sasl = kafkaConnection(config, {
      ...noTokens,
      awsMskIam: async (region) => {
        regions.push(region);
        return `token-${regions.length}`;
      },
    }).sasl!;
    expect(sasl.mechanism).toBe("OAUTHBEARER");
    const provider = sasl.token as () => Promise<string>;
    expect(await provider()).toBe("token-1");
    expect(await provider()).toBe("token-2");
    expect(regions).toEqual(["eu-west-1", "eu-west-1"]);
    expect(problemsOf({ ...KAFKA, KAFKA_AUTH: "aws-msk-iam" })).toEqual([
      "KAFKA_AWS_REGION: required when KAFKA_AUTH=aws-msk-iam (the cluster's region)",
    ]);
  });

  it("MSK IAM's default token is the AWS signer's presigned kafka-cluster:Connect request", async () => {
    // Static keys: the signer signs locally, no request leaves the machine.
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: "AKIAEXAMPLEEXAMPLE00",
      AWS_SECRET_ACCESS_KEY: "example/secret/key/example/secret/key0000",
    });
    try {
      const config = loadRuntimeConfig({
        ...KAFKA,
        KAFKA_AUTH: "aws-msk-iam",
        KAFKA_AWS_REGION: "eu-west-1",
      });
      const token = await (kafkaConnection(config).sasl!.token as () => Promise<string>)();
      const url = new URL(Buffer.from(token, "base64url").toString("utf8"));
      expect(url.host).toBe("kafka.eu-west-1.amazonaws.com");
      expect(url.searchParams.get("Action")).toBe("kafka-cluster:Connect");
      expect(url.searchParams.get("X-Amz-Credential")).toMatch(
        /^AKIAEXAMPLEEXAMPLE00\/\d{8}\/eu-west-1\/kafka-cluster\/aws4_request$/,
      );
    } finally {
      process.env = saved;
    }
  });

  it("GCP's managed Kafka gets the workload's access token wrapped as its brokers expect", async () => {
    const config = loadRuntimeConfig({ ...KAFKA, KAFKA_AUTH: "gcp-oauth" });
    const sasl = kafkaConnection(config, {
      ...noTokens,
      google: async () => ({
        accessToken: "ya29.access",
        principal: "ingest@p.iam.gserviceaccount.com",
      }),
    }).sasl!;
    expect(sasl.mechanism).toBe("OAUTHBEARER");
    const [header, payload, signature] = (await (sasl.token as () => Promise<string>)()).split(".");
    const json = (part: string | undefined) =>
      JSON.parse(Buffer.from(part!, "base64url").toString());
    expect(json(header)).toEqual({ typ: "JWT", alg: "GOOG_OAUTH2_TOKEN" });
    expect(json(payload)).toMatchObject({
      iss: "Google",
      scope: "kafka",
      sub: "ingest@p.iam.gserviceaccount.com",
    });
    expect(Buffer.from(signature!, "base64url").toString()).toBe("ya29.access");
    const token = googleKafkaToken("a", "b", 1_700_000_000_000);
    expect(json(token.split(".")[1])).toMatchObject({ iat: 1_700_000_000, exp: 1_700_003_600 });
  });
});
