import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { PostgresEndpoint } from "../contracts";
import {
  createLocalContainer,
  namedVolume,
  onceUp,
  pullImage,
  secretFilePath,
} from "./local-container";
import type { LocalNetwork } from "./network";

export interface LocalPostgresArgs {
  readonly network: LocalNetwork;
  /** A pinned pgvector/pgvector image. */
  readonly image: string;
  /** @default "rag" */
  readonly databaseName?: string;
  /** @default "rag" */
  readonly username?: string;
  /** Host port published on 127.0.0.1. @default - not published */
  readonly hostPort?: number;
}

const ALIAS = "postgres";
const PASSWORD_FILE = "postgres_password";

/** Postgres with pgvector in a local container; the password is generated and mounted as a file. */
export class LocalPostgres extends pulumi.ComponentResource {
  readonly endpoint: PostgresEndpoint;
  readonly password: pulumi.Output<string>;

  constructor(name: string, args: LocalPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:docker:Postgres", name, {}, opts);
    const databaseName = args.databaseName ?? "rag";
    const username = args.username ?? "rag";
    const password = new random.RandomPassword(
      `${name}-password`,
      { length: 32, special: false },
      { parent: this },
    );
    const image = pullImage(`${name}-image`, args.image, { parent: this });
    const data = namedVolume(`${name}-data`, { parent: this });
    const container = createLocalContainer(
      name,
      {
        image: image.imageId,
        networkName: args.network.networkName,
        alias: ALIAS,
        env: {
          POSTGRES_DB: databaseName,
          POSTGRES_USER: username,
          POSTGRES_PASSWORD_FILE: secretFilePath(PASSWORD_FILE),
          PGDATA: "/var/lib/postgresql/data/pgdata",
        },
        secretFiles: [{ fileName: PASSWORD_FILE, value: password.result }],
        volumes: [{ volumeName: data.name, containerPath: "/var/lib/postgresql/data" }],
        publish: args.hostPort ? [{ containerPort: 5432, hostPort: args.hostPort }] : [],
        healthCheck: {
          test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", username, "-d", databaseName],
        },
      },
      { parent: this },
    );
    this.password = pulumi.secret(password.result);
    this.endpoint = {
      resourceId: container.name,
      host: onceUp(container, ALIAS),
      port: pulumi.output(5432),
      database: pulumi.output(databaseName),
      username: pulumi.output(username),
      password: { kind: "generated", value: this.password },
      sslMode: "disable",
    };
    this.registerOutputs({ host: this.endpoint.host });
  }
}
