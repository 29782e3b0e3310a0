/**
 * Builds the runtime's environment from the platform's endpoints: cloud-neutral, so every
 * tier and cloud wires the service the same way. Variable names come from the runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import { ENV, type SecretEnvName } from "../runtime/src/config";
import type {
  KafkaEndpoint,
  LlmEndpoint,
  ObjectStore,
  PostgresEndpoint,
  RedisEndpoint,
  RuntimeEnvironment,
  SecretRef,
  VectorDbEndpoint,
} from "../components/contracts";
import type { PlatformConfig } from "./config";
import { INGEST_PREFIXES } from "./ingest-log";

export interface RuntimeBackends {
  readonly postgres: PostgresEndpoint;
  readonly redis: RedisEndpoint;
  readonly vectorDb: VectorDbEndpoint;
  readonly objectStore: ObjectStore;
  readonly llm: LlmEndpoint;
  /** The bootstrap admin API key (further keys are issued through the API and stored hashed). */
  readonly adminApiKey: SecretRef;
  readonly oidcClientSecret?: SecretRef;
}

export function runtimeEnvironment(cfg: PlatformConfig, b: RuntimeBackends): RuntimeEnvironment {
  const plain: Record<string, pulumi.Input<string>> = {
    [ENV.logLevel]: cfg.tier === "dev" ? "debug" : "info",
    [ENV.pgHost]: b.postgres.host,
    [ENV.pgPort]: b.postgres.port.apply(String),
    [ENV.pgDatabase]: b.postgres.database,
    [ENV.pgUser]: b.postgres.username,
    [ENV.pgSslMode]: b.postgres.sslMode,
    [ENV.redisHost]: b.redis.host,
    [ENV.redisPort]: b.redis.port.apply(String),
    [ENV.redisTls]: String(b.redis.tls),
    [ENV.objectStoreUrl]: b.objectStore.url,
    [ENV.maxUploadBytes]: String(cfg.documents.maxUploadMiB * 1024 * 1024),
    [ENV.vectorStore]: b.vectorDb.kind,
    [ENV.requirePgvector]: String(b.vectorDb.kind === "pgvector"),
    [ENV.llmProvider]: b.llm.provider,
    [ENV.llmBaseUrl]: b.llm.baseUrl,
    [ENV.llmModel]: b.llm.model,
    [ENV.embeddingProvider]: b.llm.embeddingProvider,
    [ENV.embeddingModel]: b.llm.embeddingModel,
    [ENV.workerConcurrency]: String(cfg.worker.concurrency),
  };
  const secrets: Partial<Record<SecretEnvName, SecretRef>> = {
    [ENV.pgPassword]: b.postgres.password,
    [ENV.redisPassword]: b.redis.password,
    [ENV.adminApiKey]: b.adminApiKey,
  };
  if (b.vectorDb.kind === "qdrant") {
    plain[ENV.qdrantUrl] = b.vectorDb.url;
    plain[ENV.qdrantCollection] = b.vectorDb.collection;
    if (b.vectorDb.replicationFactor !== undefined)
      plain[ENV.qdrantReplicationFactor] = String(b.vectorDb.replicationFactor);
    secrets[ENV.qdrantApiKey] = b.vectorDb.apiKey;
  }
  if (b.llm.embeddingBaseUrl) plain[ENV.embeddingBaseUrl] = b.llm.embeddingBaseUrl;
  if (b.llm.apiKey) {
    secrets[ENV.llmApiKey] = b.llm.apiKey;
    if (b.llm.embeddingProvider === "openai") secrets[ENV.embeddingApiKey] = b.llm.apiKey;
  }
  if (cfg.auth.oidcIssuerUrl && cfg.auth.oidcClientId) {
    plain[ENV.oidcIssuerUrl] = cfg.auth.oidcIssuerUrl;
    plain[ENV.oidcClientId] = cfg.auth.oidcClientId;
    if (cfg.auth.oidcScopes) plain[ENV.oidcScopes] = cfg.auth.oidcScopes;
    if (b.oidcClientSecret) secrets[ENV.oidcClientSecret] = b.oidcClientSecret;
  }
  // Where users reach the service: single sign-on's redirect URI and the cookie's scheme. Behind a
  // load balancer that terminates TLS the runtime cannot tell this from the request.
  if (cfg.domain.hostname)
    plain[ENV.publicUrl] = `${cfg.domain.certificate ? "https" : "http"}://${cfg.domain.hostname}`;
  if (cfg.observability.otlpEndpoint) plain[ENV.otlpEndpoint] = cfg.observability.otlpEndpoint;
  return { plain, secrets };
}

/**
 * The Kafka bus's variables (INGEST_BUS=kafka) for a client in the brokers' region: the brokers,
 * TLS, the topics and groups of the ingest log's contract, the partitions the topics are made
 * with, and how to authenticate. Plain values only: MSK IAM signs with the pod's own role.
 */
export function kafkaEnvironment(
  bus: KafkaEndpoint,
  partitions: number,
): Record<string, pulumi.Input<string>> {
  const auth = bus.auth;
  const common = {
    [ENV.ingestBus]: "kafka",
    [ENV.kafkaBrokers]: bus.brokers,
    [ENV.kafkaTls]: "true",
    [ENV.kafkaTopicPrefix]: INGEST_PREFIXES.KAFKA_TOPIC_PREFIX,
    [ENV.kafkaGroupPrefix]: INGEST_PREFIXES.KAFKA_GROUP_PREFIX,
    [ENV.kafkaPartitions]: String(partitions),
    // Three brokers over three zones: every topic on all three (MSK's min.insync.replicas is 2).
    [ENV.kafkaReplicationFactor]: "3",
  };
  switch (auth.kind) {
    case "aws-msk-iam":
      return { ...common, [ENV.kafkaAuth]: "aws-msk-iam", [ENV.kafkaAwsRegion]: auth.region };
    default: {
      const unknown: never = auth.kind;
      throw new Error(`unknown Kafka authentication ${String(unknown)}`);
    }
  }
}
