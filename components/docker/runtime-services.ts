import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ENV, FILE_SUFFIX } from "../../runtime/src/config";
import { type ApiEndpoint, type RuntimeEnvironment, secretEntries } from "../contracts";
import { apiEndpointAt, RUNTIME_PROCESSES, RUNTIME_UID, processEnv } from "../shared/runtime-image";
import { createLocalContainer, LOOPBACK, secretFilePath, type SecretFile } from "./local-container";
import type { LocalNetwork } from "./network";
import type { ScrapeTarget } from "./prometheus";

export interface LocalRuntimeServicesArgs {
  readonly network: LocalNetwork;
  /** The runtime's environment (plain values and secret references). */
  readonly env: RuntimeEnvironment;
  /** The named volume holding uploaded documents, mounted at `documentsPath`. */
  readonly documentsVolumeName: pulumi.Input<string>;
  readonly documentsPath: string;
  /** Host port for the API, published on 127.0.0.1. @default 8080 */
  readonly apiHostPort?: number;
  /** Build context, relative to the Pulumi project directory. @default "." */
  readonly buildContext?: string;
  /** @default "runtime/Dockerfile" */
  readonly dockerfile?: string;
  /** The local image name. @default "rag-platform/runtime:dev" */
  readonly imageName?: string;
}

const API_PORT = RUNTIME_PROCESSES.api.port;
const WORKER_HEALTH_PORT = RUNTIME_PROCESSES.worker.port;
const API_ALIAS = "api";
const WORKER_ALIAS = "worker";

/** Local secrets become files readable only by the runtime user, named by `<NAME>_FILE`. */
export function secretFilesFor(runtimeEnv: RuntimeEnvironment): {
  files: SecretFile[];
  env: Record<string, string>;
} {
  const files: SecretFile[] = [];
  const env: Record<string, string> = {};
  for (const [name, ref] of secretEntries(runtimeEnv)) {
    if (ref.kind !== "generated") {
      throw new Error(
        `LocalRuntimeServices: secret ${name} is a ${ref.kind} reference; the Docker platform only holds generated secrets`,
      );
    }
    const fileName = name.toLowerCase();
    files.push({ fileName, value: ref.value, ownerUid: RUNTIME_UID });
    env[`${name}${FILE_SUFFIX}`] = secretFilePath(fileName);
  }
  return { files, env };
}

/**
 * The runtime image built from runtime/Dockerfile, run twice: the HTTP API and the ingest
 * worker. Both share the documents volume; secrets arrive as files, never env values.
 */
export class LocalRuntimeServices extends pulumi.ComponentResource {
  readonly api: ApiEndpoint;
  readonly imageName: pulumi.Output<string>;
  /**
   * Where each process serves /metrics on the network, unauthenticated: the API on its own port
   * (no METRICS_PORT locally), the worker on its health port.
   */
  readonly metricsTargets: readonly ScrapeTarget[] = [
    { job: "rag-api", address: `${API_ALIAS}:${API_PORT}` },
    { job: "rag-worker", address: `${WORKER_ALIAS}:${WORKER_HEALTH_PORT}` },
  ];

  constructor(
    name: string,
    args: LocalRuntimeServicesArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("rag:docker:RuntimeServices", name, {}, opts);
    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: args.imageName ?? "rag-platform/runtime:dev",
        build: {
          context: args.buildContext ?? ".",
          dockerfile: args.dockerfile ?? "runtime/Dockerfile",
        },
        skipPush: true,
      },
      { parent: this },
    );
    const secrets = secretFilesFor(args.env);
    const env = { ...args.env.plain, ...secrets.env, [ENV.host]: "0.0.0.0" };
    const volumes = [{ volumeName: args.documentsVolumeName, containerPath: args.documentsPath }];
    const apiHostPort = args.apiHostPort ?? API_PORT;
    const healthcheck = (port: number) => ({
      test: ["CMD", "node", "dist/healthcheck.js", String(port)],
    });

    createLocalContainer(
      `${name}-api`,
      {
        image: image.repoDigest,
        networkName: args.network.networkName,
        alias: API_ALIAS,
        env: { ...env, [ENV.port]: String(API_PORT), ...processEnv("api") },
        secretFiles: secrets.files,
        volumes,
        command: [...RUNTIME_PROCESSES.api.command],
        publish: [{ containerPort: API_PORT, hostPort: apiHostPort }],
        healthCheck: healthcheck(API_PORT),
        stopTimeoutSec: RUNTIME_PROCESSES.api.stopGraceSeconds,
      },
      { parent: this },
    );
    createLocalContainer(
      `${name}-worker`,
      {
        image: image.repoDigest,
        networkName: args.network.networkName,
        alias: WORKER_ALIAS,
        env: {
          ...env,
          [ENV.workerHealthPort]: String(WORKER_HEALTH_PORT),
          ...processEnv("worker"),
        },
        secretFiles: secrets.files,
        volumes,
        command: [...RUNTIME_PROCESSES.worker.command],
        healthCheck: healthcheck(WORKER_HEALTH_PORT),
        stopTimeoutSec: RUNTIME_PROCESSES.worker.stopGraceSeconds,
      },
      { parent: this },
    );
    this.imageName = image.imageName;
    this.api = apiEndpointAt(`http://${LOOPBACK}:${apiHostPort}`);
    this.registerOutputs({ apiUrl: this.api.url });
  }
}
