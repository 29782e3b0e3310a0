import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { RedisEndpoint } from "../contracts";
import { uniqueName, type GcpScope } from "./common";
import type { GcpKms } from "./kms";
import type { GcpNetwork } from "./network";
import { GcpSecret } from "./secret";

/** A Memorystore size as the config names it: `<tier>-<GB>`, e.g. STANDARD_HA-1. */
export function memorystoreSize(nodeType: string): {
  tier: "BASIC" | "STANDARD_HA";
  memorySizeGb: number;
} {
  const match = /^(BASIC|STANDARD_HA)-(\d+)$/.exec(nodeType);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 300)
    throw new Error(
      `"${nodeType}" is not a Memorystore tier and size (BASIC-<1-300> or STANDARD_HA-<1-300>)`,
    );
  return { tier: match[1] as "BASIC" | "STANDARD_HA", memorySizeGb: Number(match[2]) };
}

export interface MemorystoreRedisArgs {
  readonly scope: GcpScope;
  readonly network: GcpNetwork;
  /** Its key encrypts the instance and the AUTH string's secret. */
  readonly kms: GcpKms;
  /** `<tier>-<GB>`: BASIC (one node) or STANDARD_HA (a replica in another zone, automatic failover). */
  readonly nodeType: string;
  /** Replicas of a STANDARD_HA instance (1-5). @default 1 */
  readonly replicas?: number;
}

/**
 * Memorystore for Redis on private services access (no public endpoint), AUTH required, TLS
 * with its own server CA (the runtime checks the chain: REDIS_TLS_CA_FILE), encrypted with the
 * stack's key, no eviction (the ingest queue's jobs must not be dropped), hourly RDB snapshots.
 * The AUTH string is kept in Secret Manager.
 */
export class MemorystoreRedis extends pulumi.ComponentResource {
  readonly endpoint: RedisEndpoint;
  readonly instanceId: pulumi.Output<string>;
  /** The instance's server CA certificate (PEM): what the runtime's REDIS_TLS_CA_FILE holds. */
  readonly serverCaPem: pulumi.Output<string>;

  constructor(name: string, args: MemorystoreRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:Redis", name, {}, opts);
    const { tier, memorySizeGb } = memorystoreSize(args.nodeType);
    const { project, region } = args.scope;
    const instance = new gcp.redis.Instance(
      name,
      {
        project,
        region,
        name: uniqueName(name, args.scope.uniqueSuffix, 40),
        tier,
        memorySizeGb,
        replicaCount: tier === "STANDARD_HA" ? (args.replicas ?? 1) : undefined,
        redisVersion: "REDIS_7_2",
        authEnabled: true,
        transitEncryptionMode: "SERVER_AUTHENTICATION",
        connectMode: "PRIVATE_SERVICE_ACCESS",
        authorizedNetwork: args.network.networkId,
        customerManagedKey: args.kms.keyId,
        redisConfigs: { "maxmemory-policy": "noeviction" },
        persistenceConfig: { persistenceMode: "RDB", rdbSnapshotPeriod: "ONE_HOUR" },
        labels: { ...args.scope.labels },
      },
      {
        parent: this,
        dependsOn: [...args.scope.apis, args.network.privateServices, ...args.kms.keyReady],
      },
    );
    const auth = new GcpSecret(
      `${name}-auth`,
      {
        scope: args.scope,
        kms: args.kms,
        secretId: `${name}-auth`,
        description: "Memorystore AUTH string",
        value: { value: pulumi.secret(instance.authString) },
      },
      { parent: this },
    );
    this.instanceId = instance.id;
    this.serverCaPem = instance.serverCaCerts.apply((certs) => certs[0]?.cert ?? "");
    this.endpoint = { host: instance.host, port: instance.port, password: auth.ref, tls: true };
    this.registerOutputs({ host: this.endpoint.host });
  }
}
