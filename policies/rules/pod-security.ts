/** Kubernetes pod security (the restricted profile) and pinned images everywhere. */
import { get, isFalse, isTrue, list, text } from "./helpers";
import type { Rule } from "./types";
import { eachContainer, eachPod, WORKLOAD_TYPES } from "./workloads";

/** A container setting, falling back to the pod's securityContext where Kubernetes does. */
function effective(c: Record<string, unknown>, pod: Record<string, unknown>, key: string): unknown {
  const own = get(c, `securityContext.${key}`);
  return own !== undefined ? own : get(pod, `securityContext.${key}`);
}

/** Digests an image reference may be pinned by: the algorithm and its lowercase hex length. */
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/** What keeps an image reference from being pinned to a version or a digest, if anything. */
export function imageProblem(image: unknown): string | undefined {
  if (typeof image !== "string" || image === "") return `image ${String(image)} is not pinned`;
  const at = image.lastIndexOf("@");
  if (at >= 0 || image.startsWith("sha256:"))
    return DIGEST.test(at >= 0 ? image.slice(at + 1) : image)
      ? undefined
      : `image ${image} has a malformed digest (sha256: and 64 lowercase hex digits)`;
  const lastSegment = image.slice(image.lastIndexOf("/") + 1);
  const tag = lastSegment.includes(":") ? lastSegment.slice(lastSegment.indexOf(":") + 1) : "";
  return tag !== "" && tag !== "latest" && /\d/.test(tag)
    ? undefined
    : `image ${image} is not pinned`;
}

const workloads = [...WORKLOAD_TYPES];

const pinnedContainerImages = eachContainer(({ container: c }) => imageProblem(c.image));

export const podSecurityRules: Rule[] = [
  {
    name: "k8s-run-as-non-root",
    area: "pod-security",
    description: "Containers run as a non-root user.",
    severity: "high",
    remediation: "Set securityContext.runAsNonRoot: true and a non-zero runAsUser.",
    checkov: "CKV_K8S_23",
    resourceTypes: workloads,
    check: eachContainer(({ container: c }, pod) =>
      isTrue(effective(c, pod, "runAsNonRoot")) && effective(c, pod, "runAsUser") !== 0
        ? undefined
        : "may run as root",
    ),
  },
  {
    name: "k8s-no-privilege-escalation",
    area: "pod-security",
    description:
      "Containers cannot gain privileges (allowPrivilegeEscalation false, not privileged).",
    severity: "critical",
    remediation: "Set securityContext.allowPrivilegeEscalation: false and privileged: false.",
    checkov: "CKV_K8S_20",
    resourceTypes: workloads,
    check: eachContainer(({ container: c }) =>
      isFalse(get(c, "securityContext.allowPrivilegeEscalation")) &&
      !isTrue(get(c, "securityContext.privileged"))
        ? undefined
        : "privilege escalation is possible",
    ),
  },
  {
    name: "k8s-read-only-root-fs",
    area: "pod-security",
    description:
      "Containers have a read-only root filesystem (writable paths are explicit volumes).",
    severity: "medium",
    remediation:
      "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the process writes.",
    checkov: "CKV_K8S_22",
    resourceTypes: workloads,
    check: eachContainer(({ container: c }) =>
      isTrue(get(c, "securityContext.readOnlyRootFilesystem"))
        ? undefined
        : "the root filesystem is writable",
    ),
  },
  {
    name: "k8s-drop-all-capabilities",
    area: "pod-security",
    description: "Containers drop all Linux capabilities.",
    severity: "medium",
    remediation: 'Set securityContext.capabilities.drop: ["ALL"].',
    checkov: "CKV_K8S_28",
    resourceTypes: workloads,
    check: eachContainer(({ container: c }) =>
      list(get(c, "securityContext.capabilities.drop")).includes("ALL")
        ? undefined
        : "capabilities are not all dropped",
    ),
  },
  {
    name: "k8s-seccomp-runtime-default",
    area: "pod-security",
    description: "Pods use the RuntimeDefault (or a Localhost) seccomp profile.",
    severity: "medium",
    remediation: "Set securityContext.seccompProfile.type: RuntimeDefault on the pod.",
    checkov: "CKV_K8S_31",
    resourceTypes: workloads,
    check: eachContainer(({ container: c }, pod) =>
      ["RuntimeDefault", "Localhost"].includes(String(effective(c, pod, "seccompProfile.type")))
        ? undefined
        : "no seccomp profile",
    ),
  },
  {
    name: "k8s-no-service-account-token",
    area: "pod-security",
    description: "Pods that do not call the Kubernetes API do not mount a service-account token.",
    severity: "low",
    remediation: "Set automountServiceAccountToken: false on the pod (or its service account).",
    checkov: "CKV_K8S_38",
    resourceTypes: workloads,
    check: eachPod((pod) =>
      isFalse(pod.automountServiceAccountToken) ? [] : ["the service-account token is mounted"],
    ),
  },
  {
    name: "k8s-namespace-restricted",
    area: "pod-security",
    description: "Namespaces enforce a Pod Security Standard (restricted for the platform's own).",
    severity: "medium",
    remediation: "Label the namespace pod-security.kubernetes.io/enforce: restricted.",
    resourceTypes: ["kubernetes:core/v1:Namespace"],
    check: (r) => {
      const level = get(r.props, "metadata.labels") as Record<string, unknown> | undefined;
      const enforce = level?.["pod-security.kubernetes.io/enforce"];
      return enforce === "restricted" || enforce === "baseline"
        ? []
        : ["no Pod Security Standard is enforced"];
    },
  },
  {
    name: "images-pinned",
    area: "pod-security",
    description:
      "Every image is pinned to a version or a well-formed digest, never `latest` or untagged (containers, pulled images, charts' versions).",
    severity: "high",
    remediation:
      "Reference images by an exact version tag or @sha256 digest; pin Helm chart versions.",
    checkov: "CKV_K8S_14",
    resourceTypes: [
      ...workloads,
      "docker:index/remoteImage:RemoteImage",
      "docker:index/container:Container",
      "kubernetes:helm.sh/v3:Release",
    ],
    check: (r, ctx) => {
      switch (r.type) {
        case "docker:index/remoteImage:RemoteImage":
          return [imageProblem(r.props.name) ?? []].flat();
        case "docker:index/container:Container":
          return [imageProblem(r.props.image) ?? []].flat();
        case "kubernetes:helm.sh/v3:Release":
          return /^v?\d+\.\d+\.\d+$/.test(text(r.props.version) ?? "")
            ? []
            : [`chart ${String(r.props.chart)} is not pinned to an exact version`];
        default:
          return pinnedContainerImages(r, ctx);
      }
    },
  },
];
