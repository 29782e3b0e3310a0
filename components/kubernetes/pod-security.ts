/**
 * The restricted pod shape every workload of ours uses: non-root, no privilege escalation,
 * read-only root filesystem, all capabilities dropped, seccomp RuntimeDefault, requests and
 * limits, spread across zones, no service-account token unless asked.
 */
import type * as k8s from "@pulumi/kubernetes";

/** A container whose security context, if given, is a plain object the defaults merge into. */
export type RestrictedContainer = Omit<k8s.types.input.core.v1.Container, "securityContext"> & {
  securityContext?: k8s.types.input.core.v1.SecurityContext;
};
type PodSpec = k8s.types.input.core.v1.PodSpec;

export const ZONE_KEY = "topology.kubernetes.io/zone";

export interface ComputeSize {
  /** Requested CPU in millicores (the limit is twice this, bounded bursts). */
  readonly cpuMillicores: number;
  /** Requested and limited memory in MiB (memory is not overcommitted). */
  readonly memoryMiB: number;
}

export function resources(
  size: ComputeSize,
  extraLimits: Record<string, string> = {},
): k8s.types.input.core.v1.ResourceRequirements {
  return {
    requests: { cpu: `${size.cpuMillicores}m`, memory: `${size.memoryMiB}Mi`, ...extraLimits },
    limits: { cpu: `${size.cpuMillicores * 2}m`, memory: `${size.memoryMiB}Mi`, ...extraLimits },
  };
}

export const CONTAINER_SECURITY: k8s.types.input.core.v1.SecurityContext = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  privileged: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

export function podSecurity(uid: number): k8s.types.input.core.v1.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Where Kubernetes projects a pod's service-account token. */
export const SERVICE_ACCOUNT_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * For a chart whose pods run its own service account with no setting to keep the token out: an
 * empty volume for the pod and its mount at the token's path for the container (the
 * ServiceAccount admission plugin projects no token into a container that already mounts
 * something there).
 */
export const NO_TOKEN = {
  volume: { name: "no-service-account-token", emptyDir: { sizeLimit: "1Mi" } },
  mount: {
    name: "no-service-account-token",
    mountPath: SERVICE_ACCOUNT_TOKEN_PATH,
    readOnly: true,
  },
} as const;

/** Spread replicas over zones (hard) and nodes (soft). */
export function zoneSpread(
  labels: Record<string, string>,
): k8s.types.input.core.v1.TopologySpreadConstraint[] {
  return [
    {
      maxSkew: 1,
      topologyKey: ZONE_KEY,
      whenUnsatisfiable: "DoNotSchedule",
      labelSelector: { matchLabels: labels },
    },
    {
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: labels },
    },
  ];
}

/** A pod spec with the restricted defaults; containers get CONTAINER_SECURITY. */
export function restrictedPod(args: {
  uid: number;
  labels: Record<string, string>;
  containers: RestrictedContainer[];
  serviceAccountName: string;
  /** @default false */
  automountToken?: boolean;
  volumes?: k8s.types.input.core.v1.Volume[];
  extra?: Partial<PodSpec>;
}): PodSpec {
  return {
    serviceAccountName: args.serviceAccountName,
    automountServiceAccountToken: args.automountToken ?? false,
    securityContext: podSecurity(args.uid),
    topologySpreadConstraints: zoneSpread(args.labels),
    terminationGracePeriodSeconds: 60,
    containers: args.containers.map((c) => ({
      ...c,
      securityContext: { ...CONTAINER_SECURITY, ...c.securityContext },
    })),
    volumes: [{ name: "tmp", emptyDir: { sizeLimit: "1Gi" } }, ...(args.volumes ?? [])],
    ...(args.extra ?? {}),
  };
}
