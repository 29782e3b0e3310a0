import * as pulumi from "@pulumi/pulumi";
import {
  createLocalContainer,
  LOOPBACK,
  pullImage,
  secretFilePath,
  wgetHealthCheck,
} from "./local-container";
import type { LocalNetwork } from "./network";
import type { LocalRedis } from "./redis";

export interface LocalRedisInsightArgs {
  readonly network: LocalNetwork;
  /** A pinned redis/redisinsight image. */
  readonly image: string;
  /** The Redis it opens on start. */
  readonly redis: LocalRedis;
  /** Host port of the web UI, published on 127.0.0.1. @default - not published */
  readonly hostPort?: number;
}

const ALIAS = "redisinsight";
/** The image's port (RI_APP_PORT's Docker default). */
const UI_PORT = 5540;
/** The image's `node` user, which must read the connection file. */
const REDIS_INSIGHT_UID = 1000;
const DATABASES_FILE = "redisinsight-databases.json";

/**
 * The connection RedisInsight adds on start (RI_PRE_SETUP_DATABASES_PATH): a JSON array of
 * databases in the shape of its own export. Read by RedisInsight's pre-setup discovery
 * (api/src/modules/database-discovery/utils/pre-setup.discovery.util.ts, 3.8.0).
 */
export function preSetupDatabases(redis: { host: string; port: number; password: string }): string {
  return JSON.stringify([
    {
      id: "rag-redis",
      name: `RAG Redis (${redis.host}:${redis.port})`,
      host: redis.host,
      port: redis.port,
      password: redis.password,
    },
  ]);
}

/**
 * RedisInsight, the Redis GUI, connected to the dev Redis from its first start. The connection
 * (with the Redis password) is a file under /run/secrets, never an environment value.
 */
export class LocalRedisInsight extends pulumi.ComponentResource {
  /** The web UI on the host. */
  readonly url: string | undefined;

  constructor(name: string, args: LocalRedisInsightArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:docker:RedisInsight", name, {}, opts);
    const image = pullImage(`${name}-image`, args.image, { parent: this });
    const endpoint = args.redis.endpoint;
    const databases = pulumi
      .all([endpoint.host, endpoint.port, args.redis.password])
      .apply(([host, port, password]) => preSetupDatabases({ host, port, password }));
    createLocalContainer(
      name,
      {
        image: image.imageId,
        networkName: args.network.networkName,
        alias: ALIAS,
        secretFiles: [{ fileName: DATABASES_FILE, value: databases, ownerUid: REDIS_INSIGHT_UID }],
        env: { RI_PRE_SETUP_DATABASES_PATH: secretFilePath(DATABASES_FILE) },
        publish: args.hostPort ? [{ containerPort: UI_PORT, hostPort: args.hostPort }] : [],
        // The image is Alpine.
        healthCheck: wgetHealthCheck(UI_PORT, "/api/health"),
      },
      { parent: this },
    );
    this.url = args.hostPort ? `http://${LOOPBACK}:${args.hostPort}` : undefined;
    this.registerOutputs({});
  }
}
