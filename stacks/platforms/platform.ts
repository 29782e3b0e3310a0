/**
 * The Platform interface: what a tier may ask of a cloud. Each cloud implements all of it,
 * so a capability missing on one cloud is a compile error, not a runtime surprise.
 */
import type * as pulumi from "@pulumi/pulumi";
import type {
  ApiEndpoint,
  LlmEndpoint,
  ObjectStore,
  PostgresEndpoint,
  RedisEndpoint,
  RuntimeEnvironment,
  SecretRef,
  VectorDbEndpoint,
} from "../../components/contracts";
import type { PlatformConfig } from "../config";

export interface PostgresRequest {
  readonly version: PlatformConfig["postgres"]["version"];
  /** The cloud's size name (RDS instance class, flexible server SKU, Cloud SQL machine type). */
  readonly size: string;
  readonly storageGiB: number;
  readonly maxStorageGiB: number;
  readonly backupRetentionDays: number;
  /** A standby in another zone that takes over on failure. */
  readonly highAvailability: boolean;
  readonly deletionProtection: boolean;
  readonly databaseName: string;
}

export interface RedisRequest {
  /** The cloud's size name (ElastiCache node type, Azure Managed Redis SKU, Memorystore tier-GB). */
  readonly size: string;
  readonly replicas: number;
  /** Replicas in other zones, with automatic failover. */
  readonly highAvailability: boolean;
}

export interface VectorDbRequest {
  readonly mode: PlatformConfig["vectorDb"]["mode"];
  readonly replicas: number;
  readonly storageGiB: number;
  readonly collection: string;
  readonly qdrantCloudUrl?: string;
}

export interface ObjectStoreRequest {
  readonly noncurrentVersionRetentionDays: number;
}

export interface LlmRequest {
  readonly mode: PlatformConfig["llm"]["mode"];
  readonly server: PlatformConfig["llm"]["server"];
  readonly model: string;
  readonly embeddingModel: string;
  readonly gpuType: PlatformConfig["llm"]["gpuType"];
  readonly gpuCount: number;
  readonly managedProvider?: PlatformConfig["llm"]["managedProvider"];
  readonly managedBaseUrl?: string;
  /** The organisation's own store of a model, by model name (llm.modelSources). @default - the public hub */
  readonly modelSources?: Readonly<Record<string, string>>;
  /** The s3:// store's KMS key, when it has one. @default - S3's own key */
  readonly modelSourceKmsKeyArn?: string;
}

export interface ServiceSize {
  readonly replicas: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpuMillicores: number;
  readonly memoryMiB: number;
}

export interface RuntimeServicesRequest {
  readonly env: RuntimeEnvironment;
  readonly api: ServiceSize;
  readonly worker: ServiceSize;
}

export interface ObservabilityRequest {
  readonly exporter: PlatformConfig["observability"]["exporter"];
  readonly alertEmails: readonly string[];
  readonly logRetentionDays: number;
}

/**
 * What a cloud's managed services give every tier there, whatever runs the workloads: the
 * secret manager, Postgres, Redis and the document store. Each cloud's base implements it once
 * (aws-base.ts, azure-base.ts, gcp-base.ts); its staging platform and its cluster host extend it.
 */
export interface DataServices {
  /** A secret generated in-stack (API keys, passwords a managed service does not own). */
  generatedSecret(name: string, length: number): SecretRef;
  /**
   * A third-party secret the operator stores after deploying (an OIDC client secret, a vendor
   * key), or undefined where the platform has no secret manager to hold it.
   */
  externalSecret(name: string, description: string): SecretRef | undefined;
  postgres(req: PostgresRequest): PostgresEndpoint;
  redis(req: RedisRequest): RedisEndpoint;
  objectStore(req: ObjectStoreRequest): ObjectStore;
  /** How an operator reaches the data services. */
  accessOutputs(): Record<string, pulumi.Input<unknown>>;
}

export interface Platform extends DataServices {
  vectorDb(req: VectorDbRequest): VectorDbEndpoint;
  llm(req: LlmRequest): LlmEndpoint;
  runtimeServices(req: RuntimeServicesRequest): ApiEndpoint;
  /** Dashboards, alarms and exporters for what the calls above created. Call it last. */
  observability(req: ObservabilityRequest): void;
  /** Cloud-specific stack outputs: how an operator reaches each service. */
  accessOutputs(): Record<string, pulumi.Input<unknown>>;
}
