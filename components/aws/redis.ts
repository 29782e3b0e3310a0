import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { RedisEndpoint } from "../contracts";
import type { KmsKey } from "./kms-key";
import type { Network } from "./network";
import { ManagedSecret } from "./secret";
import { serviceSecurityGroup } from "./security-group";

export interface ElastiCacheRedisArgs {
  readonly network: Network;
  readonly kmsKey: KmsKey;
  /** Security groups whose members may connect on 6379. */
  readonly allowedSecurityGroupIds: readonly pulumi.Input<string>[];
  readonly nodeType: string;
  /** Read replicas besides the primary. @default 0 */
  readonly replicas?: number;
  /** Spread primary and replicas over zones with automatic failover (needs a replica). @default false */
  readonly multiAz?: boolean;
  /** @default "7.1" */
  readonly engineVersion?: string;
  /** @default 1 */
  readonly snapshotRetentionDays?: number;
  /**
   * Delivers Redis's slow log (commands slower than 10 ms) and engine log (failovers, restarts,
   * replication) to CloudWatch Logs groups encrypted with this key, kept this many days.
   * @default - no log delivery
   */
  readonly logs?: { readonly kmsKey: KmsKey; readonly retentionDays: number };
}

/** The logs ElastiCache delivers for Redis, one log group each. */
export const REDIS_LOG_TYPES = ["slow-log", "engine-log"] as const;

/**
 * ElastiCache for Redis: encrypted at rest with our key and in transit (TLS required), an auth
 * token generated into Secrets Manager, failover across zones when asked, its slow and engine
 * logs in CloudWatch Logs when asked.
 */
export class ElastiCacheRedis extends pulumi.ComponentResource {
  readonly endpoint: RedisEndpoint;
  /**
   * Each node's cache cluster id, the dimension ElastiCache publishes its metrics under (per node:
   * there is no replication-group dimension), one per node, primary and replicas.
   */
  readonly nodeIds: pulumi.Output<string>[];
  readonly authTokenSecretArn: pulumi.Output<string>;

  constructor(name: string, args: ElastiCacheRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:Redis", name, {}, opts);
    const replicas = args.replicas ?? 0;
    const multiAz = args.multiAz ?? false;
    if (multiAz && replicas < 1)
      throw new Error(
        `ElastiCacheRedis ${name}: multiAz needs at least one replica (replicas is ${replicas})`,
      );
    const parent = { parent: this };
    const token = new ManagedSecret(
      `${name}-auth-token`,
      { description: `${name} Redis AUTH token`, kmsKey: args.kmsKey, generateLength: 64 },
      parent,
    );
    const subnets = new aws.elasticache.SubnetGroup(
      name,
      { subnetIds: args.network.privateSubnetIds, description: `${name} private subnets` },
      parent,
    );
    const sg = serviceSecurityGroup(
      `${name}-sg`,
      {
        vpcId: args.network.vpcId,
        port: 6379,
        description: "Redis from the platform's services",
        allowedFrom: args.allowedSecurityGroupIds,
      },
      parent,
    );
    const engineVersion = args.engineVersion ?? "7.1";
    // BullMQ keeps jobs and their locks in Redis: nothing may be evicted (ElastiCache's default is volatile-lru).
    const params = new aws.elasticache.ParameterGroup(
      name,
      {
        family: `redis${engineVersion.split(".")[0]}`,
        description: `${name}: queue-safe (no eviction)`,
        parameters: [{ name: "maxmemory-policy", value: "noeviction" }],
      },
      parent,
    );
    const logs = args.logs;
    const logDeliveryConfigurations = logs
      ? REDIS_LOG_TYPES.map((logType) => {
          const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-${logType}`,
            {
              namePrefix: `/rag/${name}-${logType}-`,
              kmsKeyId: logs.kmsKey.arn,
              retentionInDays: logs.retentionDays,
            },
            parent,
          );
          return {
            destination: logGroup.name,
            destinationType: "cloudwatch-logs",
            logFormat: "json",
            logType,
          };
        })
      : undefined;
    const group = new aws.elasticache.ReplicationGroup(
      name,
      {
        description: `${name}: ingest queue and cache`,
        engine: "redis",
        engineVersion,
        parameterGroupName: params.name,
        nodeType: args.nodeType,
        numCacheClusters: 1 + replicas,
        automaticFailoverEnabled: multiAz,
        multiAzEnabled: multiAz,
        port: 6379,
        subnetGroupName: subnets.name,
        securityGroupIds: [sg.id],
        atRestEncryptionEnabled: true,
        kmsKeyId: args.kmsKey.arn,
        transitEncryptionEnabled: true,
        transitEncryptionMode: "required",
        authToken: token.value!,
        snapshotRetentionLimit: args.snapshotRetentionDays ?? 1,
        logDeliveryConfigurations,
        autoMinorVersionUpgrade: true,
        applyImmediately: false,
      },
      parent,
    );
    this.nodeIds = Array.from({ length: 1 + replicas }, (_, i) =>
      group.memberClusters.apply((members) => [...members].sort()[i]!),
    );
    this.authTokenSecretArn = token.arn;
    this.endpoint = {
      host: group.primaryEndpointAddress,
      port: pulumi.output(6379),
      password: token.ref,
      tls: true,
    };
    this.registerOutputs({ host: this.endpoint.host });
  }
}
