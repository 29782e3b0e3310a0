/**
 * Pods keep to themselves: no host namespace, host port or host directory (the container
 * runtime's socket above all), and no capability added to a container.
 */
import {
  describeValue,
  get,
  isFalse,
  isObject,
  isTrue,
  SECRET_PLACEHOLDER,
  shown,
} from "./helpers";
import { eachObject, kubernetesTypes } from "./kubernetes";
import type { Rule } from "./types";
import { eachContainer, eachPod, WORKLOAD_TYPES } from "./workloads";

const workloads = [...WORKLOAD_TYPES];
const PERSISTENT_VOLUMES = kubernetesTypes("PersistentVolume", ["core/v1"]);

/** Kubernetes reads a field that is null as unset. */
const unset = (value: unknown) => value === undefined || value === null;

const unreadable = (what: string, value: unknown) =>
  `${what} cannot be read (it is ${describeValue(value)}), so it cannot be shown safe`;

/** A pod setting that must be off: unset or false passes, true fails, anything else cannot be read. */
function offInEveryPod(key: "hostPID" | "hostIPC" | "hostNetwork", what: string): Rule["check"] {
  return eachPod((pod) => {
    const value = pod[key];
    if (unset(value) || isFalse(value)) return [];
    return [isTrue(value) ? `${what} (${key})` : unreadable(key, value)];
  });
}

/** The messages for each entry of a list a pod or container holds; an unreadable list or entry fails. */
function eachEntry(
  value: unknown,
  what: string,
  check: (entry: Record<string, unknown>) => string[],
): string[] {
  if (unset(value)) return [];
  if (!Array.isArray(value)) return [unreadable(what, value)];
  return value.flatMap((entry: unknown, i) =>
    isObject(entry) ? check(entry) : [unreadable(`${what}[${i}]`, entry)],
  );
}

/**
 * A rule over every host path a resource mounts: its pods' hostPath volumes, or a persistent
 * volume's hostPath.
 */
function eachHostPath(check: (path: unknown) => string | undefined): Rule["check"] {
  const judge = (hostPath: unknown) => [check(get(hostPath, "path")) ?? []].flat();
  const inPods = eachPod((pod) =>
    eachEntry(pod.volumes, "volumes", (v) =>
      unset(v.hostPath) ? [] : judge(v.hostPath).map((m) => `volume ${shown(v.name)} ${m}`),
    ),
  );
  const inVolumes = eachObject((pv) => {
    const hostPath = get(pv, "spec.hostPath");
    return unset(hostPath) ? [] : judge(hostPath).map((m) => `the volume ${m}`);
  });
  return (r, ctx) => (PERSISTENT_VOLUMES.includes(r.type) ? inVolumes : inPods)(r, ctx);
}

/** A host path as a readable string (a secret's placeholder hides it). */
const readablePath = (path: unknown): path is string =>
  typeof path === "string" && path !== SECRET_PLACEHOLDER;

/** Socket files of container runtimes (Docker, containerd, CRI-O, Podman). */
const RUNTIME_SOCKETS = /(^|\/)(docker|containerd|crio|cri-dockerd|dockershim|podman)\.sock$/;
/** Where the runtimes keep their sockets: a host path that contains one of these exposes it. */
const SOCKET_LOCATIONS = [
  "/var/run/docker.sock",
  "/var/run/containerd/containerd.sock",
  "/var/run/crio/crio.sock",
  "/var/run/cri-dockerd.sock",
  "/run/docker.sock",
  "/run/containerd/containerd.sock",
  "/run/crio/crio.sock",
  "/run/k3s/containerd/containerd.sock",
  "/run/podman/podman.sock",
];

/** Does mounting this host path give the container the runtime's socket? */
export function exposesRuntimeSocket(path: string): boolean {
  const normalized = path.replace(/\/+$/, "") || "/";
  return (
    RUNTIME_SOCKETS.test(normalized) ||
    SOCKET_LOCATIONS.some((socket) => normalized === "/" || socket.startsWith(`${normalized}/`))
  );
}

/** The capabilities a container adds, or why they cannot be read. */
function addedCapabilities(c: Record<string, unknown>): string[] | { problem: string } {
  const add = get(c, "securityContext.capabilities.add");
  if (unset(add)) return [];
  return Array.isArray(add)
    ? add.map(String)
    : { problem: unreadable("securityContext.capabilities.add", add) };
}

export const hostAccessRules: Rule[] = [
  {
    name: "k8s-no-host-pid",
    area: "pod-security",
    description: "Pods do not share the host's process namespace (hostPID).",
    severity: "high",
    remediation: "Remove hostPID (or set it to false) from the pod spec.",
    checkov: "CKV_K8S_17",
    resourceTypes: workloads,
    check: offInEveryPod("hostPID", "shares the host's process namespace"),
  },
  {
    name: "k8s-no-host-ipc",
    area: "pod-security",
    description: "Pods do not share the host's IPC namespace (hostIPC).",
    severity: "high",
    remediation: "Remove hostIPC (or set it to false) from the pod spec.",
    checkov: "CKV_K8S_18",
    resourceTypes: workloads,
    check: offInEveryPod("hostIPC", "shares the host's IPC namespace"),
  },
  {
    name: "k8s-no-host-network",
    area: "pod-security",
    description:
      "Pods do not use the host's network namespace (hostNetwork): they get their own address, and NetworkPolicies apply.",
    severity: "high",
    remediation: "Remove hostNetwork (or set it to false) and expose the pod through a Service.",
    checkov: "CKV_K8S_19",
    resourceTypes: workloads,
    check: offInEveryPod("hostNetwork", "uses the host's network namespace"),
  },
  {
    name: "k8s-no-host-port",
    area: "pod-security",
    description:
      "No container publishes a port on its node (hostPort): traffic reaches pods through Services.",
    severity: "high",
    remediation: "Remove ports[].hostPort and put a Service in front of the pod.",
    checkov: "CKV_K8S_26",
    resourceTypes: workloads,
    check: eachContainer(({ container: c }) =>
      eachEntry(c.ports, "ports", (p) =>
        unset(p.hostPort) || p.hostPort === 0
          ? []
          : [
              `publishes port ${shown(p.containerPort)} on the node (hostPort ${shown(p.hostPort)})`,
            ],
      ),
    ),
  },
  {
    name: "k8s-no-host-path",
    area: "pod-security",
    description:
      "No pod or persistent volume mounts a directory of the node (hostPath): what is written there outlives the pod and reaches the host.",
    severity: "high",
    remediation:
      "Use an emptyDir, a ConfigMap or Secret volume, or a PersistentVolumeClaim instead of hostPath.",
    resourceTypes: [...workloads, ...PERSISTENT_VOLUMES],
    check: eachHostPath((path) =>
      readablePath(path)
        ? `mounts the node's ${path} (hostPath)`
        : unreadable("hostPath.path", path),
    ),
  },
  {
    name: "k8s-no-container-runtime-socket",
    area: "pod-security",
    description:
      "No pod or persistent volume mounts the container runtime's socket (docker.sock, containerd.sock, crio.sock) or a directory holding it: whoever holds it controls every container on the node.",
    severity: "critical",
    remediation:
      "Remove the hostPath volume; build images with a daemonless builder and read container state through the Kubernetes API.",
    checkov: "CKV_K8S_27",
    resourceTypes: [...workloads, ...PERSISTENT_VOLUMES],
    check: eachHostPath((path) => {
      if (!readablePath(path)) return unreadable("hostPath.path", path);
      return exposesRuntimeSocket(path)
        ? `mounts ${path}, which exposes the container runtime's socket`
        : undefined;
    }),
  },
  {
    name: "k8s-no-added-capabilities",
    area: "pod-security",
    description:
      "Containers add no Linux capability (securityContext.capabilities.add), whatever they drop.",
    severity: "high",
    remediation:
      "Remove securityContext.capabilities.add; bind ports above 1024 instead of adding NET_BIND_SERVICE.",
    checkov: "CKV_K8S_37",
    resourceTypes: workloads,
    check: eachContainer(({ container: c }) => {
      const added = addedCapabilities(c);
      if (!Array.isArray(added)) return added.problem;
      return added.length > 0 ? `adds the capabilities ${added.join(", ")}` : undefined;
    }),
  },
  {
    name: "k8s-no-sys-admin-capability",
    area: "pod-security",
    description:
      "No container adds CAP_SYS_ADMIN (or ALL): it is nearly root on the node (mounts, namespaces, BPF).",
    severity: "critical",
    remediation: "Remove SYS_ADMIN and ALL from securityContext.capabilities.add.",
    checkov: "CKV_K8S_39",
    resourceTypes: workloads,
    check: eachContainer(({ container: c }) => {
      const added = addedCapabilities(c);
      if (!Array.isArray(added)) return added.problem;
      const admin = added.filter((cap) => /^((CAP_)?SYS_ADMIN|ALL)$/i.test(cap));
      return admin.length > 0 ? `adds ${admin.join(", ")}` : undefined;
    }),
  },
];
