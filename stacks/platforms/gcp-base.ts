/**
 * What every GCP tier shares, in `rag-platform:gcpProject`: a provider for the region, the
 * project's APIs, one Cloud KMS key ring, the VPC network, and the managed data services (Cloud
 * SQL for PostgreSQL, Memorystore for Redis, Cloud Storage, Secret Manager). Subclasses decide
 * where the workloads run (Cloud Run; GKE next).
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type {
  ObjectStore,
  PostgresEndpoint,
  RedisEndpoint,
  SecretRef,
} from "../../components/contracts";
import { type GcpAlertSpec, pagerDutyChannelCommands } from "../../components/gcp/alerts";
import type { GcpScope } from "../../components/gcp/common";
import { GcsDocumentStore } from "../../components/gcp/document-store";
import { GcpKms } from "../../components/gcp/kms";
import { GcpNetwork, type GcpNetworkWorkloads } from "../../components/gcp/network";
import { CloudSqlPostgres } from "../../components/gcp/postgres";
import { MemorystoreRedis } from "../../components/gcp/redis";
import { GcpSecret } from "../../components/gcp/secret";
import { fillCommands } from "../../components/shared/operator-secret";
import { ENV, type EnvName } from "../../runtime/src/config";
import type { PlatformConfig } from "../config";
import type { RegionSite } from "../regions";
import type { DataServices, ObjectStoreRequest, PostgresRequest, RedisRequest } from "./platform";

/** The APIs the data services call, enabled in the project (and left enabled on destroy: other stacks may use them). */
export const DATA_SERVICE_APIS = [
  "compute.googleapis.com",
  "servicenetworking.googleapis.com",
  "sqladmin.googleapis.com",
  "redis.googleapis.com",
  "secretmanager.googleapis.com",
  "cloudkms.googleapis.com",
  "iam.googleapis.com",
  "monitoring.googleapis.com",
  "logging.googleapis.com",
] as const;

export abstract class GcpPlatformBase implements DataServices {
  protected readonly provider: gcp.Provider;
  protected readonly scope: GcpScope;
  protected readonly kms: GcpKms;
  protected readonly network: GcpNetwork;
  protected postgresInstance?: CloudSqlPostgres;
  protected redisInstance?: MemorystoreRedis;
  protected documents?: GcsDocumentStore;
  protected readonly operatorSecrets: Record<string, GcpSecret> = {};
  protected readonly prefix: string;

  constructor(
    protected readonly cfg: PlatformConfig,
    site: RegionSite,
    workloads: {
      /** The APIs the workloads' services need besides the data services'. */
      readonly apis: readonly string[];
      /** What runs in the network (its subnets and firewall rules follow). */
      readonly network: GcpNetworkWorkloads;
    },
  ) {
    const prefix = site.prefix;
    const region = site.region;
    this.prefix = prefix;
    const project = cfg.gcpProject!;
    this.provider = new gcp.Provider(`${prefix}-gcp`, { project, region });
    const apis = [...DATA_SERVICE_APIS, ...workloads.apis].map(
      (service) =>
        new gcp.projects.Service(
          `${prefix}-${service.split(".")[0]}`,
          { project, service, disableOnDestroy: false },
          this.opts(),
        ),
    );
    const projectNumber = gcp.organizations.getProjectOutput(
      { projectId: project },
      { provider: this.provider },
    ).number;
    const suffix = new random.RandomString(`${prefix}-suffix`, {
      length: 6,
      lower: true,
      upper: false,
      numeric: true,
      special: false,
    });
    this.scope = {
      project,
      projectNumber,
      region,
      labels: { project: "rag-platform", tier: cfg.tier, "managed-by": "pulumi" },
      uniqueSuffix: suffix.result,
      apis,
    };
    this.kms = new GcpKms(`${prefix}-kms`, { scope: this.scope }, this.opts());
    this.network = new GcpNetwork(
      `${prefix}-vpc`,
      { scope: this.scope, vpcCidr: cfg.network.cidr, workloads: workloads.network },
      this.opts(),
    );
  }

  protected opts(): pulumi.ComponentResourceOptions & pulumi.CustomResourceOptions {
    return { provider: this.provider };
  }

  protected secret(
    name: string,
    description: string,
    value: ConstructorParameters<typeof GcpSecret>[1]["value"],
  ): GcpSecret {
    return new GcpSecret(
      `${this.prefix}-${name}`,
      { scope: this.scope, kms: this.kms, secretId: `${this.prefix}-${name}`, description, value },
      this.opts(),
    );
  }

  generatedSecret(name: string, length: number): SecretRef {
    return this.secret(name, `${this.prefix} ${name}`, { generateLength: length }).ref;
  }

  externalSecret(name: string, description: string): SecretRef {
    const secret = this.secret(name, description, { operatorFilled: true });
    this.operatorSecrets[name] = secret;
    return secret.ref;
  }

  postgres(req: PostgresRequest): PostgresEndpoint {
    this.postgresInstance = new CloudSqlPostgres(
      `${this.prefix}-postgres`,
      {
        scope: this.scope,
        network: this.network,
        kms: this.kms,
        majorVersion: req.version,
        tier: req.size,
        storageGiB: req.storageGiB,
        maxStorageGiB: req.maxStorageGiB,
        backupRetentionDays: req.backupRetentionDays,
        regional: req.highAvailability,
        deletionProtection: req.deletionProtection,
        databaseName: req.databaseName,
      },
      this.opts(),
    );
    return this.postgresInstance.endpoint;
  }

  redis(req: RedisRequest): RedisEndpoint {
    this.redisInstance = new MemorystoreRedis(
      `${this.prefix}-redis`,
      {
        scope: this.scope,
        network: this.network,
        kms: this.kms,
        nodeType: req.size,
        replicas: Math.max(1, req.replicas),
      },
      this.opts(),
    );
    return this.redisInstance.endpoint;
  }

  objectStore(req: ObjectStoreRequest): ObjectStore {
    this.documents = new GcsDocumentStore(
      `${this.prefix}-documents`,
      {
        scope: this.scope,
        kms: this.kms,
        noncurrentVersionRetentionDays: req.noncurrentVersionRetentionDays,
      },
      this.opts(),
    );
    return this.documents.objectStore;
  }

  /**
   * The managed services' own CAs as files the runtime reads (PGSSLROOTCERT, REDIS_TLS_CA_FILE):
   * kept in Secret Manager, which is how Cloud Run and External Secrets hand over a file (they are
   * not secret). Create the data stores first.
   */
  protected caCertificateFiles(): { variable: EnvName; ref: SecretRef }[] {
    const { postgresInstance: postgres, redisInstance: redis } = this;
    if (!postgres || !redis)
      throw new Error(`${this.prefix}: create the data stores before their CA certificates`);
    return [
      {
        variable: ENV.pgSslRootCert,
        ref: this.secret("postgres-server-ca", "Cloud SQL server CA certificate (public)", {
          value: postgres.serverCaPem,
        }).ref,
      },
      {
        variable: ENV.redisTlsCaFile,
        ref: this.secret("redis-server-ca", "Memorystore server CA certificate (public)", {
          value: redis.serverCaPem,
        }).ref,
      },
    ];
  }

  accessOutputs(): Record<string, pulumi.Input<unknown>> {
    const { project, region } = this.scope;
    const pg = this.postgresInstance;
    return {
      project,
      region,
      vpcNetwork: this.network.networkName,
      documentsBucket: this.documents?.bucketName,
      database: pg && {
        privateIp: pg.endpoint.host,
        database: pg.endpoint.database,
        username: pg.endpoint.username,
        password: pulumi.interpolate`gcloud secrets versions access latest --secret ${this.prefix}-postgres-password --project ${project}`,
        note: "encrypted connections only, checked against the instance's own CA; reachable from inside the VPC only",
      },
      redisHost: this.redisInstance?.endpoint.host,
      secretsToFill: fillCommands(this.operatorSecrets),
      // PagerDuty's integration key stays out of the stack: its channel is made once, outside it.
      pagerDutyChannel: pagerDutyChannelCommands(project),
    };
  }
}

/** What every GCP tier alerts on in its data stores: Cloud SQL's CPU and disk, Memorystore's memory. */
export function dataServiceAlerts(
  project: string,
  postgres: CloudSqlPostgres,
  redis: MemorystoreRedis,
): GcpAlertSpec[] {
  const sql = (metric: string) =>
    pulumi.interpolate`metric.type="cloudsql.googleapis.com/database/${metric}" resource.type="cloudsql_database" resource.label."database_id"="${project}:${postgres.instanceName}"`;
  return [
    {
      kind: "threshold",
      name: "postgres-cpu",
      description: "Cloud SQL CPU above 80% for 15 minutes",
      filter: sql("cpu/utilization"),
      aligner: "ALIGN_MEAN",
      comparison: "COMPARISON_GT",
      threshold: 0.8,
      duration: "900s",
      severity: "WARNING",
    },
    {
      kind: "threshold",
      name: "postgres-disk",
      description: "Cloud SQL disk above 85% used",
      filter: sql("disk/utilization"),
      aligner: "ALIGN_MAX",
      comparison: "COMPARISON_GT",
      threshold: 0.85,
      duration: "600s",
      severity: "ERROR",
    },
    {
      // With no eviction, a full Redis refuses new ingest jobs.
      kind: "threshold",
      name: "redis-memory",
      description: "Memorystore memory above 80% used (the queue refuses jobs when full)",
      filter: pulumi.interpolate`metric.type="redis.googleapis.com/stats/memory/usage_ratio" resource.type="redis_instance" resource.label."instance_id"="${redis.instanceId}"`,
      aligner: "ALIGN_MAX",
      comparison: "COMPARISON_GT",
      threshold: 0.8,
      duration: "300s",
      severity: "ERROR",
    },
  ];
}
