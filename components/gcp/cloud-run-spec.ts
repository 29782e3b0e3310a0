/**
 * How the runtime's contract becomes a Cloud Run container: sizes Cloud Run accepts, secrets as
 * Secret Manager volumes (one directory each: Cloud Run mounts one secret per path), plain values
 * as environment variables, probes.
 */
import type { cloudrunv2 } from "@pulumi/gcp/types/input";
import * as pulumi from "@pulumi/pulumi";
import { FILE_SUFFIX, type EnvName } from "../../runtime/src/config";
import { type RuntimeEnvironment, type SecretRef, secretEntries } from "../contracts";
import { SECRETS_DIR } from "../shared/runtime-image";

/** The CPU counts Cloud Run offers, and the least memory (MiB) each needs. */
const CPU_MIN_MEMORY_MIB: readonly [number, number][] = [
  [1, 512],
  [2, 512],
  [4, 2048],
  [6, 4096],
  [8, 4096],
];
/** The most memory each CPU count allows (MiB). */
const CPU_MAX_MEMORY_MIB: Record<number, number> = {
  1: 4096,
  2: 8192,
  4: 16384,
  6: 24576,
  8: 32768,
};

/** The smallest Cloud Run size with at least the CPU and memory asked for. */
export function cloudRunSize(
  cpuMillicores: number,
  memoryMiB: number,
): { cpu: string; memory: string } {
  for (const [cpu, minMemory] of CPU_MIN_MEMORY_MIB) {
    if (cpu * 1000 < cpuMillicores || CPU_MAX_MEMORY_MIB[cpu]! < memoryMiB) continue;
    return {
      cpu: String(cpu),
      memory: `${Math.max(minMemory, Math.ceil(memoryMiB / 128) * 128)}Mi`,
    };
  }
  throw new Error(
    `no Cloud Run size has ${cpuMillicores} millicores and ${memoryMiB} MiB (at most 8 vCPU and 32 GiB)`,
  );
}

/** A file the container reads: a secret's, or a CA certificate kept in Secret Manager to be mounted. */
export interface MountedFile {
  readonly variable: EnvName;
  readonly ref: SecretRef;
}

function secretIdOf(file: MountedFile): pulumi.Output<string> {
  const ref = file.ref;
  switch (ref.kind) {
    case "gcp-secretmanager":
      return ref.secretId;
    case "generated":
    case "aws-secretsmanager":
    case "azure-keyvault":
      throw new Error(
        `${file.variable}: Cloud Run mounts files from Secret Manager only; got a ${ref.kind} secret`,
      );
    default: {
      const unreachable: never = ref;
      throw new Error(`${file.variable}: unknown secret reference ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Where a variable's file is: its own directory under SECRETS_DIR, named after it. */
export function mountedPath(variable: EnvName): string {
  return `${SECRETS_DIR}/${variable.toLowerCase()}/${variable}`;
}

/** Every secret of the environment, then the extra files (CA certificates), as files. */
export function filesOf(
  env: RuntimeEnvironment,
  extra: readonly MountedFile[] = [],
): MountedFile[] {
  return [...secretEntries(env).map(([variable, ref]) => ({ variable, ref })), ...extra];
}

/** A Secret Manager volume: the shape services and jobs both take. */
export interface SecretVolume {
  readonly name: string;
  readonly secret: {
    readonly secret: pulumi.Output<string>;
    readonly items: { readonly path: string; readonly version: string }[];
  };
}

/** One Secret Manager volume per file (its latest version) and where each is mounted. */
export function secretVolumes(files: readonly MountedFile[]): {
  volumes: SecretVolume[];
  mounts: cloudrunv2.ServiceTemplateContainerVolumeMount[];
} {
  const name = (f: MountedFile) => `file-${f.variable.toLowerCase().replace(/_/g, "-")}`;
  return {
    volumes: files.map((f) => ({
      name: name(f),
      secret: { secret: secretIdOf(f), items: [{ path: f.variable, version: "latest" }] },
    })),
    mounts: files.map((f) => ({
      name: name(f),
      mountPath: `${SECRETS_DIR}/${f.variable.toLowerCase()}`,
    })),
  };
}

/**
 * Plain values as they are; each secret as `<NAME>_FILE`, the path of its file (never its value);
 * each extra file's variable set to its path (PGSSLROOTCERT, REDIS_TLS_CA_FILE).
 */
export function environmentVariables(
  env: RuntimeEnvironment,
  extra: Record<string, pulumi.Input<string>>,
  files: readonly MountedFile[],
): { name: string; value: pulumi.Input<string> }[] {
  const plain = Object.entries({ ...env.plain, ...extra } as Record<string, pulumi.Input<string>>)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => ({ name, value }));
  const secretNames = new Set(secretEntries(env).map(([variable]) => variable as EnvName));
  const paths = files.map((f) => ({
    name: secretNames.has(f.variable) ? `${f.variable}${FILE_SUFFIX}` : f.variable,
    value: mountedPath(f.variable),
  }));
  return [...plain, ...paths];
}

/** A startup probe giving the process `graceSeconds` to answer /healthz (it waits for its backends), then liveness on /healthz. */
export interface HttpProbe {
  readonly httpGet: { readonly path: string; readonly port: number };
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly failureThreshold: number;
}

export function probes(
  port: number,
  graceSeconds: number,
): { startupProbe: HttpProbe; livenessProbe: HttpProbe } {
  const period = 60;
  return {
    startupProbe: {
      httpGet: { path: "/healthz", port },
      periodSeconds: period,
      timeoutSeconds: 5,
      failureThreshold: Math.ceil(graceSeconds / period),
    },
    livenessProbe: {
      httpGet: { path: "/healthz", port },
      periodSeconds: 15,
      timeoutSeconds: 5,
      failureThreshold: 3,
    },
  };
}
