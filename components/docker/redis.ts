import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { RedisEndpoint } from "../contracts";
import {
  createLocalContainer,
  namedVolume,
  onceUp,
  pullImage,
  secretFilePath,
} from "./local-container";
import type { LocalNetwork } from "./network";

export interface LocalRedisArgs {
  readonly network: LocalNetwork;
  /** A pinned redis image. */
  readonly image: string;
  /** Host port published on 127.0.0.1. @default - not published */
  readonly hostPort?: number;
}

const ALIAS = "redis";
const CONFIG_FILE = "redis.conf";

/**
 * Redis with a generated password. The password sits in a config file under /run/secrets, so
 * it appears neither in the container's environment nor in its command line.
 */
export class LocalRedis extends pulumi.ComponentResource {
  readonly endpoint: RedisEndpoint;
  readonly password: pulumi.Output<string>;

  constructor(name: string, args: LocalRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:docker:Redis", name, {}, opts);
    const password = new random.RandomPassword(
      `${name}-password`,
      { length: 32, special: false },
      { parent: this },
    );
    const image = pullImage(`${name}-image`, args.image, { parent: this });
    const data = namedVolume(`${name}-data`, { parent: this });
    const configPath = secretFilePath(CONFIG_FILE);
    const container = createLocalContainer(
      name,
      {
        image: image.imageId,
        networkName: args.network.networkName,
        alias: ALIAS,
        // AOF persistence keeps queued ingest jobs across restarts.
        secretFiles: [
          {
            fileName: CONFIG_FILE,
            value: pulumi.interpolate`requirepass ${password.result}\nappendonly yes\ndir /data\n`,
          },
        ],
        command: ["redis-server", configPath],
        volumes: [{ volumeName: data.name, containerPath: "/data" }],
        publish: args.hostPort ? [{ containerPort: 6379, hostPort: args.hostPort }] : [],
        healthCheck: {
          test: [
            "CMD-SHELL",
            `redis-cli --no-auth-warning -a "$(sed -n 's/^requirepass //p' ${configPath})" ping | grep -q PONG`,
          ],
        },
      },
      { parent: this },
    );
    this.password = pulumi.secret(password.result);
    this.endpoint = {
      host: onceUp(container, ALIAS),
      port: pulumi.output(6379),
      password: { kind: "generated", value: this.password },
      tls: false,
    };
    this.registerOutputs({ host: this.endpoint.host });
  }
}
