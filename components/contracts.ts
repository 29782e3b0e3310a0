/**
 * Cloud-neutral contracts: what flows between platforms, components and tiers. A tier only
 * ever sees these types, never a cloud SDK type.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { EnvName, SecretEnvName } from "../runtime/src/config";

/**
 * Where a secret value lives, so each platform can hand it to a workload its own way (a file
 * upload on Docker, `secrets.valueFrom` on ECS, a mounted Secret volume on Kubernetes, a Key
 * Vault reference mounted as a file on Container Apps, a Secret Manager volume on Cloud Run).
 */
export type SecretRef =
  /** A value generated in this stack (for example by @pulumi/random); always a secret Output. */
  | { readonly kind: "generated"; readonly value: pulumi.Output<string> }
  /** An AWS Secrets Manager secret; `jsonKey` selects one field of a JSON secret. */
  | {
      readonly kind: "aws-secretsmanager";
      readonly arn: pulumi.Output<string>;
      readonly jsonKey?: string;
    }
  /**
   * An Azure Key Vault secret by its versionless URI (readers get the newest version). `value` is
   * set when this stack wrote the value (a generated key, a service's password): the vault admits
   * no reader from outside its network, so the stack output is where an operator reads it.
   */
  | {
      readonly kind: "azure-keyvault";
      readonly secretUri: pulumi.Output<string>;
      readonly value?: pulumi.Output<string>;
    }
  /**
   * A GCP Secret Manager secret by its id (readers take its latest version); `value` as for Key
   * Vault, when this stack wrote it.
   */
  | {
      readonly kind: "gcp-secretmanager";
      readonly secretId: pulumi.Output<string>;
      readonly project: string;
      readonly value?: pulumi.Output<string>;
    };

export type SecretRefKind = SecretRef["kind"];

export interface PostgresEndpoint {
  /**
   * The server's id in its cloud, for what replicates or routes to it (an RDS instance ARN, an
   * Azure resource id, a Cloud SQL self link; the container's name locally).
   */
  readonly resourceId: pulumi.Output<string>;
  readonly host: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  readonly database: pulumi.Output<string>;
  readonly username: pulumi.Output<string>;
  readonly password: SecretRef;
  /** libpq sslmode the runtime must use against this server. */
  readonly sslMode: "disable" | "require" | "verify-ca" | "verify-full";
}

export interface RedisEndpoint {
  readonly host: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  readonly password: SecretRef;
  readonly tls: boolean;
}

export type VectorDbEndpoint =
  /** Vectors live in the Postgres above (pgvector extension, created by the runtime). */
  | { readonly kind: "pgvector" }
  | {
      readonly kind: "qdrant";
      readonly url: pulumi.Output<string>;
      readonly apiKey: SecretRef;
      readonly collection: string;
      /** Copies of each shard a new collection keeps, for a Qdrant cluster of several nodes. @default 1 */
      readonly replicationFactor?: number;
    };

export interface ObjectStore {
  /** The runtime's OBJECT_STORE_URL: file:///..., s3://bucket/prefix, azblob://..., gs://... */
  readonly url: pulumi.Output<string>;
  /**
   * The bucket's id in its cloud, for replication to another region's (an S3 bucket ARN, a Blob
   * container's resource id, a Cloud Storage self link; the volume's name locally).
   */
  readonly resourceId: pulumi.Output<string>;
  /**
   * The key its objects are encrypted with (a KMS key ARN, a Key Vault key URI, a Cloud KMS key
   * id). @default - none: local volumes
   */
  readonly encryptionKeyId?: pulumi.Output<string>;
}

/** An OpenAI-compatible, Ollama or Anthropic endpoint serving generation and embeddings. */
export interface LlmEndpoint {
  readonly provider: "ollama" | "openai" | "anthropic";
  readonly baseUrl: pulumi.Output<string>;
  readonly model: string;
  readonly embeddingProvider: "ollama" | "openai" | "local";
  readonly embeddingBaseUrl?: pulumi.Output<string>;
  readonly embeddingModel: string;
  readonly apiKey?: SecretRef;
}

/** How clients authenticate to a Kafka bus (always over TLS). */
export type KafkaAuth = { readonly kind: "aws-msk-iam"; readonly region: string };

/** A Kafka bus the runtime's ingest runs on (INGEST_BUS=kafka): the region's own brokers. */
export interface KafkaEndpoint {
  /** Bootstrap brokers, host:port comma-separated. */
  readonly brokers: pulumi.Output<string>;
  readonly auth: KafkaAuth;
}

/** The runtime's environment: plain values and secret references, keyed by the runtime's names. */
export interface RuntimeEnvironment {
  readonly plain: Readonly<Partial<Record<Exclude<EnvName, SecretEnvName>, pulumi.Input<string>>>>;
  readonly secrets: Readonly<Partial<Record<SecretEnvName, SecretRef>>>;
}

/** The secret references of an environment, sorted by name (stable task definitions and manifests). */
export function secretEntries(env: RuntimeEnvironment): [SecretEnvName, SecretRef][] {
  return (Object.entries(env.secrets) as [SecretEnvName, SecretRef | undefined][])
    .flatMap(([name, ref]): [SecretEnvName, SecretRef][] => (ref ? [[name, ref]] : []))
    .sort(([a], [b]) => a.localeCompare(b));
}

/** How users reach the deployed API. */
export interface ApiEndpoint {
  readonly url: pulumi.Output<string>;
  /** The API's readiness URL, for a load balancer's or a global router's health checks. */
  readonly healthCheckUrl: pulumi.Output<string>;
}
