/**
 * The one way this product creates a local container: every container gets a health check, a
 * restart policy, loopback-only published ports, bounded logs, the project labels and its
 * secrets as read-only files (never as environment values).
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Restart policy for every long-running local container. */
export const RESTART_POLICY = "unless-stopped";

/** Published ports bind here only: nothing in the dev tier is reachable from the network. */
export const LOOPBACK = "127.0.0.1";

/** Where secret files are mounted inside containers (the Docker/Compose convention). */
export const SECRETS_DIR = "/run/secrets";

export interface HealthCheck {
  /** Docker's test form: ["CMD", ...] or ["CMD-SHELL", "..."]. */
  readonly test: string[];
  /** @default "10s" */
  readonly interval?: string;
  /** @default "5s" */
  readonly timeout?: string;
  /** @default 5 */
  readonly retries?: number;
  /** @default "20s" */
  readonly startPeriod?: string;
}

export interface SecretFile {
  /** File name under /run/secrets. */
  readonly fileName: string;
  readonly value: pulumi.Input<string>;
  /** Numeric uid that must read the file. @default - root; the file is then world-readable (0444) so an image that drops privileges can still read it */
  readonly ownerUid?: number;
}

export interface LocalContainerArgs {
  /** The image reference (an image id or a pinned tag). */
  readonly image: pulumi.Input<string>;
  /** The private network to join and the DNS alias other containers use. */
  readonly networkName: pulumi.Input<string>;
  readonly alias: string;
  readonly healthCheck: HealthCheck;
  /** Container port -> host port, published on 127.0.0.1 only. @default - nothing published */
  readonly publish?: ReadonlyArray<{ readonly containerPort: number; readonly hostPort: number }>;
  /** Plain (non-secret) environment. @default - none */
  readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Secrets, written as files under /run/secrets. @default - none */
  readonly secretFiles?: readonly SecretFile[];
  /** Other files to write into the container (config files). @default - none */
  readonly files?: ReadonlyArray<{
    readonly path: string;
    readonly content: pulumi.Input<string>;
    readonly executable?: boolean;
  }>;
  readonly volumes?: ReadonlyArray<{
    readonly volumeName: pulumi.Input<string>;
    readonly containerPath: string;
  }>;
  /** @default - the image's entrypoint */
  readonly entrypoint?: string[];
  /** @default - the image's command */
  readonly command?: pulumi.Input<string>[];
  /** Expose all NVIDIA GPUs to the container. @default false */
  readonly gpus?: boolean;
  /** Wait for the health check to pass before dependants are created. @default true */
  readonly waitForHealthy?: boolean;
  /** @default 180 */
  readonly waitTimeoutSec?: number;
  /** Seconds `docker stop` waits after SIGTERM before it kills the process. @default - Docker's 10 */
  readonly stopTimeoutSec?: number;
}

/**
 * A health check asking an HTTP endpoint inside the container with wget, as busybox (Alpine and
 * busybox-based images) ships it: healthy on a 2xx answer.
 */
export function wgetHealthCheck(port: number, path: string): HealthCheck {
  return { test: ["CMD-SHELL", `wget -q -O /dev/null http://127.0.0.1:${port}${path}`] };
}

export function secretFilePath(fileName: string): string {
  return `${SECRETS_DIR}/${fileName}`;
}

function uploads(args: LocalContainerArgs): docker.types.input.ContainerUpload[] {
  const secrets = (args.secretFiles ?? []).map((s) => ({
    file: secretFilePath(s.fileName),
    content: pulumi.secret(s.value),
    permissions: s.ownerUid === undefined ? "0444" : "0400",
    ...(s.ownerUid === undefined ? {} : { owner: String(s.ownerUid), group: String(s.ownerUid) }),
  }));
  const files = (args.files ?? []).map((f) => ({
    file: f.path,
    content: f.content,
    executable: f.executable ?? false,
  }));
  return [...secrets, ...files];
}

export function createLocalContainer(
  name: string,
  args: LocalContainerArgs,
  opts: pulumi.CustomResourceOptions,
): docker.Container {
  const hc = args.healthCheck;
  return new docker.Container(
    name,
    {
      name,
      image: args.image,
      restart: RESTART_POLICY,
      networksAdvanced: [{ name: args.networkName, aliases: [args.alias] }],
      ports: (args.publish ?? []).map((p) => ({
        internal: p.containerPort,
        external: p.hostPort,
        ip: LOOPBACK,
        protocol: "tcp",
      })),
      envs: Object.entries(args.env ?? {}).map(([k, v]) => pulumi.interpolate`${k}=${v}`),
      uploads: uploads(args),
      volumes: (args.volumes ?? []).map((v) => ({
        volumeName: v.volumeName,
        containerPath: v.containerPath,
      })),
      entrypoints: args.entrypoint,
      command: args.command,
      gpus: args.gpus ? "all" : undefined,
      healthcheck: {
        tests: hc.test,
        interval: hc.interval ?? "10s",
        timeout: hc.timeout ?? "5s",
        retries: hc.retries ?? 5,
        startPeriod: hc.startPeriod ?? "20s",
      },
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
      labels: [
        { label: "com.rag-platform.service", value: args.alias },
        { label: "com.rag-platform.managed-by", value: "pulumi" },
      ],
      stopTimeout: args.stopTimeoutSec,
      wait: args.waitForHealthy ?? true,
      waitTimeout: args.waitTimeoutSec ?? 180,
    },
    opts,
  );
}

/**
 * A value (an address) known once the container is up, healthy when it waits for its health
 * check: containers configured with it are created after, as compose's depends_on
 * `service_healthy` would order them.
 */
export function onceUp<T>(container: docker.Container, value: T): pulumi.Output<T> {
  return container.id.apply(() => value);
}

/** Pulls a pinned image and keeps it locally; containers reference its id. */
export function pullImage(
  name: string,
  image: string,
  opts: pulumi.CustomResourceOptions,
): docker.RemoteImage {
  return new docker.RemoteImage(name, { name: image, keepLocally: true }, opts);
}

export function namedVolume(name: string, opts: pulumi.CustomResourceOptions): docker.Volume {
  return new docker.Volume(
    name,
    { name, labels: [{ label: "com.rag-platform.managed-by", value: "pulumi" }] },
    { ...opts, retainOnDelete: true },
  );
}
