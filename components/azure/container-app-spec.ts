/**
 * How the runtime's contract becomes a Container App's settings: sizes Azure accepts, secrets as
 * Key Vault references mounted as files, plain values as environment variables, probes.
 */
import type { app as ContainerAppInputs } from "@pulumi/azure-native/types/input";
import * as pulumi from "@pulumi/pulumi";
import { FILE_SUFFIX, type SecretEnvName } from "../../runtime/src/config";
import { type RuntimeEnvironment, type SecretRef, secretEntries } from "../contracts";
import { SECRETS_DIR } from "../shared/runtime-image";

/**
 * The smallest Consumption size with at least the CPU and memory asked for: 0.25 to 4 vCPU in
 * quarter steps, each with twice as many GiB of memory (the only pairs Azure accepts).
 */
export function containerAppSize(
  cpuMillicores: number,
  memoryMiB: number,
): { cpu: number; memory: string } {
  const quarters = Math.max(1, Math.ceil(cpuMillicores / 250), Math.ceil(memoryMiB / 512));
  if (quarters > 16)
    throw new Error(
      `no Container Apps Consumption size has ${cpuMillicores} millicores and ${memoryMiB} MiB (at most 4 vCPU and 8 GiB)`,
    );
  return { cpu: quarters / 4, memory: `${quarters / 2}Gi` };
}

/** A runtime variable's name as a Container App secret name (lowercase letters, digits, dashes). */
export function appSecretName(variable: SecretEnvName): string {
  return variable.toLowerCase().replace(/_/g, "-");
}

/** The app's secrets: each a Key Vault reference read with the runtime's identity. */
export function keyVaultSecrets(
  env: RuntimeEnvironment,
  identityId: pulumi.Input<string>,
): pulumi.Input<ContainerAppInputs.SecretArgs>[] {
  return secretEntries(env).map(([variable, ref]) => ({
    name: appSecretName(variable),
    keyVaultUrl: keyVaultUrl(ref, variable),
    identity: identityId,
  }));
}

function keyVaultUrl(ref: SecretRef, variable: string): pulumi.Output<string> {
  switch (ref.kind) {
    case "azure-keyvault":
      return ref.secretUri;
    case "generated":
    case "aws-secretsmanager":
    case "gcp-secretmanager":
      throw new Error(
        `${variable}: Container Apps read secrets from Key Vault only; got a ${ref.kind} secret`,
      );
    default: {
      const unreachable: never = ref;
      throw new Error(`${variable}: unknown secret reference ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The secrets as files under SECRETS_DIR, one per variable (named after it). */
export function secretsVolume(env: RuntimeEnvironment): ContainerAppInputs.VolumeArgs {
  return {
    name: "secrets",
    storageType: "Secret",
    secrets: secretEntries(env).map(([variable]) => ({
      secretRef: appSecretName(variable),
      path: variable,
    })),
  };
}

export const SECRETS_MOUNT: ContainerAppInputs.VolumeMountArgs = {
  volumeName: "secrets",
  mountPath: SECRETS_DIR,
};

/** Plain values as they are; each secret as `<NAME>_FILE`, the path of its file (never its value). */
export function environmentVariables(
  env: RuntimeEnvironment,
  extra: Record<string, pulumi.Input<string>>,
): ContainerAppInputs.EnvironmentVarArgs[] {
  const plain = Object.entries({ ...env.plain, ...extra } as Record<string, pulumi.Input<string>>)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => ({ name, value }));
  const files = secretEntries(env).map(([variable]) => ({
    name: `${variable}${FILE_SUFFIX}`,
    value: `${SECRETS_DIR}/${variable}`,
  }));
  return [...plain, ...files];
}

/** Container Apps' probe bounds: a period of at most 240 s, at most 10 failures. */
const PROBE_LIMITS = { periodSeconds: 240, failureThreshold: 10 } as const;

/**
 * A startup probe that gives the process `graceSeconds` to answer (it waits for its backends at
 * start), then liveness on /healthz and, where given, readiness on its own path.
 */
export function probes(
  port: number,
  graceSeconds: number,
  readinessPath?: string,
): ContainerAppInputs.ContainerAppProbeArgs[] {
  const startupPeriod = Math.min(
    PROBE_LIMITS.periodSeconds,
    Math.ceil(graceSeconds / PROBE_LIMITS.failureThreshold),
  );
  const http = (path: string) => ({ path, port, scheme: "HTTP" as const });
  return [
    {
      type: "Startup",
      httpGet: http("/healthz"),
      periodSeconds: startupPeriod,
      failureThreshold: PROBE_LIMITS.failureThreshold,
      timeoutSeconds: 3,
    },
    {
      type: "Liveness",
      httpGet: http("/healthz"),
      periodSeconds: 10,
      failureThreshold: 3,
      timeoutSeconds: 3,
    },
    ...(readinessPath
      ? [
          {
            type: "Readiness" as const,
            httpGet: http(readinessPath),
            periodSeconds: 10,
            failureThreshold: 3,
            timeoutSeconds: 3,
          },
        ]
      : []),
  ];
}
