/**
 * What every AWS tier shares: an explicit regional provider with default tags, the KMS keys,
 * the network, the workloads' security group, and the managed data services (RDS, ElastiCache,
 * S3, Secrets Manager). Subclasses decide where the workloads run (ECS Fargate, or EKS as a
 * cluster host).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { lookupAccount, type AwsAccount } from "../../components/aws/account";
import { DocumentStore } from "../../components/aws/document-store";
import { KmsKey } from "../../components/aws/kms-key";
import { Network } from "../../components/aws/network";
import { CloudWatchObservability, type WatchedResources } from "../../components/aws/observability";
import { OLLAMA_PORT } from "../../components/shared/ollama";
import { RdsPostgres } from "../../components/aws/postgres";
import { ElastiCacheRedis } from "../../components/aws/redis";
import { RuntimeImage } from "../../components/aws/runtime-image";
import { ManagedSecret } from "../../components/aws/secret";
import { workloadSecurityGroup } from "../../components/aws/security-group";
import type {
  ObjectStore,
  PostgresEndpoint,
  RedisEndpoint,
  SecretRef,
} from "../../components/contracts";
import { fillCommands } from "../../components/shared/operator-secret";
import type { PlatformConfig } from "../config";
import type { RegionSite } from "../regions";
import { BUILD_CONTEXT, runtimeSourceTag } from "../source-hash";
import type {
  DataServices,
  ObjectStoreRequest,
  ObservabilityRequest,
  PostgresRequest,
  RedisRequest,
} from "./platform";

/**
 * What a multi-region stack makes before a region's platform: its provider, account and data key
 * (the multi-region key's primary or replica, which other regions' replicas name up front).
 */
export interface AwsFoundation {
  readonly provider: aws.Provider;
  readonly account: AwsAccount;
  readonly dataKey: KmsKey;
}

/** The provider of a site: its region, with the stack's default tags. */
export function awsProvider(cfg: PlatformConfig, site: RegionSite): aws.Provider {
  return awsProviderIn(cfg, `${site.prefix}-aws`, site.region);
}

/** An AWS provider in `region` with the stack's tags (a region of the stack, or a global service's API region). */
export function awsProviderIn(cfg: PlatformConfig, name: string, region: string): aws.Provider {
  return new aws.Provider(name, {
    region,
    defaultTags: { tags: { project: "rag-platform", tier: cfg.tier, "managed-by": "pulumi" } },
  });
}

/** The data key's description (what it encrypts). */
export function dataKeyDescription(prefix: string): string {
  return `${prefix}: documents, databases, caches, secrets, volumes`;
}

/** The runtime's prefix in the document bucket (OBJECT_STORE_URL s3://<bucket>/documents). */
export const DOCUMENT_STORE_PREFIX = "documents";

export abstract class AwsPlatformBase implements DataServices {
  protected readonly provider: aws.Provider;
  protected readonly account: AwsAccount;
  protected readonly dataKey: KmsKey;
  protected readonly logsKey: KmsKey;
  protected readonly network: Network;
  protected readonly workloadSg: aws.ec2.SecurityGroup;
  protected postgresDb?: RdsPostgres;
  protected redisCache?: ElastiCacheRedis;
  private builtImage?: pulumi.Output<string>;
  /** Dashboard and alarms on CloudWatch, when the platform builds them (observability()). */
  protected cloudWatch?: CloudWatchObservability;
  protected documents?: DocumentStore;
  protected readonly operatorSecrets: Record<string, ManagedSecret> = {};

  protected readonly prefix: string;

  constructor(
    protected readonly cfg: PlatformConfig,
    site: RegionSite,
    foundation?: AwsFoundation,
  ) {
    const prefix = site.prefix;
    const region = site.region;
    this.prefix = prefix;
    this.provider = foundation?.provider ?? awsProvider(cfg, site);
    this.account = foundation?.account ?? lookupAccount(region, this.provider);
    this.dataKey =
      foundation?.dataKey ??
      new KmsKey(
        `${prefix}-data`,
        // Node groups' root volumes are encrypted with it, and Auto Scaling launches their nodes.
        // Kept on destroy, like what it encrypts that the stack keeps: the document bucket, RDS's final snapshot.
        {
          account: this.account,
          description: dataKeyDescription(prefix),
          allowEbsThroughEc2: true,
          retainOnDelete: true,
        },
        this.opts(),
      );
    this.logsKey = new KmsKey(
      `${prefix}-logs`,
      {
        account: this.account,
        description: `${prefix}: log groups and the alarm topic`,
        allowCloudWatchLogs: true,
        allowServicePrincipals: ["cloudwatch.amazonaws.com"],
      },
      this.opts(),
    );
    const n = cfg.network;
    this.network = new Network(
      `${prefix}-vpc`,
      {
        region,
        vpcCidr: n.cidr,
        azCount: n.zoneCount,
        natGateways: n.natGateways === "per-zone" ? "per-az" : "single",
        logsKey: this.logsKey,
        flowLogRetentionDays: cfg.observability.logRetentionDays,
        existing: n.existingNetworkId
          ? {
              vpcId: n.existingNetworkId,
              privateSubnetIds: n.existingPrivateSubnetIds ?? [],
              publicSubnetIds: n.existingPublicSubnetIds,
            }
          : undefined,
      },
      this.opts(),
    );
    this.workloadSg = workloadSecurityGroup(
      `${prefix}-workloads`,
      {
        vpcId: this.network.vpcId,
        vpcCidr: this.network.vpcCidr,
        dataPorts: [5432, 6379, OLLAMA_PORT],
      },
      this.opts(),
    );
  }

  protected opts(): pulumi.ComponentResourceOptions & pulumi.CustomResourceOptions {
    return { provider: this.provider };
  }

  generatedSecret(name: string, length: number): SecretRef {
    return this.managedSecret(name, length).ref;
  }

  protected managedSecret(name: string, length: number): ManagedSecret {
    return new ManagedSecret(
      `${this.prefix}-${name}`,
      { description: `${this.prefix} ${name}`, kmsKey: this.dataKey, generateLength: length },
      this.opts(),
    );
  }

  /** A secret whose value the operator puts after the first deployment (third-party keys). */
  protected operatorSecret(name: string, description: string): ManagedSecret {
    const secret = new ManagedSecret(
      `${this.prefix}-${name}`,
      { description, kmsKey: this.dataKey },
      this.opts(),
    );
    this.operatorSecrets[name] = secret;
    return secret;
  }

  postgres(req: PostgresRequest): PostgresEndpoint {
    this.postgresDb = new RdsPostgres(
      `${this.prefix}-postgres`,
      {
        network: this.network,
        kmsKey: this.dataKey,
        allowedSecurityGroupIds: [this.workloadSg.id],
        majorVersion: req.version,
        instanceClass: req.size,
        storageGiB: req.storageGiB,
        maxStorageGiB: req.maxStorageGiB,
        backupRetentionDays: req.backupRetentionDays,
        multiAz: req.highAvailability,
        deletionProtection: req.deletionProtection,
        databaseName: req.databaseName,
      },
      this.opts(),
    );
    return this.postgresDb.endpoint;
  }

  redis(req: RedisRequest): RedisEndpoint {
    this.redisCache = new ElastiCacheRedis(
      `${this.prefix}-redis`,
      {
        network: this.network,
        kmsKey: this.dataKey,
        allowedSecurityGroupIds: [this.workloadSg.id],
        nodeType: req.size,
        replicas: req.replicas,
        multiAz: req.highAvailability,
        logs: { kmsKey: this.logsKey, retentionDays: this.cfg.observability.logRetentionDays },
      },
      this.opts(),
    );
    return this.redisCache.endpoint;
  }

  objectStore(req: ObjectStoreRequest): ObjectStore {
    this.documents = new DocumentStore(
      `${this.prefix}-documents`,
      {
        account: this.account,
        kmsKey: this.dataKey,
        noncurrentVersionRetentionDays: req.noncurrentVersionRetentionDays,
      },
      this.opts(),
    );
    return {
      url: pulumi.interpolate`s3://${this.documents.bucketName}/${DOCUMENT_STORE_PREFIX}`,
      resourceId: this.documents.bucketArn,
      encryptionKeyId: this.dataKey.arn,
    };
  }

  /** The document store, which what reads the documents (or writes the ALB's logs) needs first. */
  protected requireDocuments(): DocumentStore {
    if (!this.documents) throw new Error(`${this.prefix}: objectStore() must be created first`);
    return this.documents;
  }

  /**
   * A CloudWatch dashboard and alarms on the data stores and `more`, to an encrypted topic the
   * configured e-mails (and PagerDuty, once subscribed) receive.
   */
  protected watchWithCloudWatch(
    req: ObservabilityRequest,
    more: Omit<WatchedResources, "rdsInstanceId" | "redisNodeIds"> = {},
  ): void {
    const database = this.watchedDatabaseId();
    const redis = this.redisCache;
    if (!database || !redis)
      throw new Error(`${this.prefix}: create the data stores before watching them`);
    this.cloudWatch = new CloudWatchObservability(
      `${this.prefix}-observability`,
      {
        region: this.account.region,
        topicKey: this.logsKey,
        alertEmails: req.alertEmails,
        watched: { ...more, rdsInstanceId: database, redisNodeIds: redis.nodeIds },
      },
      this.opts(),
    );
  }

  /** The database instance CloudWatch watches (RDS's; a subclass with another database says its own). */
  protected watchedDatabaseId(): pulumi.Input<string> | undefined {
    return this.postgresDb?.instanceId;
  }

  /** The runtime image: the configured prebuilt reference, or built from runtime/ and pushed to ECR. */
  /** The configured image, or the one built from runtime/ (once: the API's and the Jobs' pods share it). */
  protected runtimeImageRef(): pulumi.Output<string> {
    if (this.cfg.runtimeImage) return pulumi.output(this.cfg.runtimeImage);
    this.builtImage ??= new RuntimeImage(
      `${this.prefix}-runtime`,
      { kmsKey: this.dataKey, tag: runtimeSourceTag(), buildContext: BUILD_CONTEXT },
      this.opts(),
    ).imageRef;
    return this.builtImage;
  }

  externalSecret(name: string, description: string): SecretRef {
    return this.operatorSecret(name, description).ref;
  }

  accessOutputs(): Record<string, pulumi.Input<unknown>> {
    const pg = this.postgresDb;
    return {
      region: this.account.region,
      vpcId: this.network.vpcId,
      documentsBucket: this.documents?.bucketName,
      database: pg && {
        endpoint: pulumi.interpolate`${pg.endpoint.host}:${pg.endpoint.port}`,
        database: pg.endpoint.database,
        username: pg.endpoint.username,
        passwordSecretArn: pg.masterSecretArn,
        note: "TLS is required (rds.force_ssl); reachable from inside the VPC only",
      },
      redisEndpoint: this.redisCache?.endpoint.host,
      secretsToFill: fillCommands(this.operatorSecrets),
      dashboardUrl: this.cloudWatch?.dashboardUrl,
      alarmTopicArn: this.cloudWatch?.topicArn,
      // The alarms reach PagerDuty once its integration URL is subscribed to the topic (kept out of config and state).
      subscribePagerDuty: this.cloudWatch?.pagerDutySubscribeCommand(this.account.region),
    };
  }
}
