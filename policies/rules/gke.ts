/**
 * GKE and its Gateway: hardened nodes under the customer key, NetworkPolicies enforced, Workload
 * Identity granting one Kubernetes service account at a time, logs, upgrades and zones; Gateways
 * that serve HTTPS only with an SSL policy, and log the requests they route.
 */
import { get, isFalse, isObject, isTrue, list, records, strings, text } from "./helpers";
import { eachObject, kubernetesTypes } from "./kubernetes";
import type { ResourceView, Rule, RuleContext } from "./types";

export const GKE_CLUSTER = "gcp:container/cluster:Cluster";
export const GKE_NODE_POOL = "gcp:container/nodePool:NodePool";
const STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass";
const GATEWAYS = kubernetesTypes("Gateway", [
  "gateway.networking.k8s.io/v1",
  "gateway.networking.k8s.io/v1beta1",
]);
const HTTP_ROUTES = kubernetesTypes("HTTPRoute", [
  "gateway.networking.k8s.io/v1",
  "gateway.networking.k8s.io/v1beta1",
]);
const GATEWAY_POLICY = "kubernetes:networking.gke.io/v1:GCPGatewayPolicy";
const BACKEND_POLICY = "kubernetes:networking.gke.io/v1:GCPBackendPolicy";
/** GCP's IAM grants a workload's principal can hold. */
const GCP_GRANTS = [
  "gcp:projects/iAMMember:IAMMember",
  "gcp:projects/iAMBinding:IAMBinding",
  "gcp:storage/bucketIAMMember:BucketIAMMember",
  "gcp:secretmanager/secretIamMember:SecretIamMember",
  "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
  "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
  "gcp:serviceaccount/iAMMember:IAMMember",
];
/** The tiers that run a cluster, where resilience rules apply. */
const CLUSTER_TIERS = ["sme", "enterprise"] as const;
/** Where GKE's Gateway controller takes a listener's certificate from, besides certificateRefs. */
const GKE_CERTIFICATE_OPTIONS = [
  "networking.gke.io/pre-shared-certs",
  "networking.gke.io/cert-manager-certs",
];

/** The node pools a GKE resource declares: a NodePool is one; a cluster has its inline nodePools. */
function nodePools(r: ResourceView): { pool: Record<string, unknown>; label: string }[] {
  if (r.type === GKE_NODE_POOL) return [{ pool: r.props, label: "the pool" }];
  return Array.from(list(r.props.nodePools)).map((entry, i) => {
    const pool = isObject(entry) ? entry : {};
    return { pool, label: `pool ${text(pool.name) ?? i}` };
  });
}

/**
 * A Workload Identity principal's trouble, if any: a grant to a whole namespace or pool, or a
 * service account name with a wildcard, instead of exactly one Kubernetes service account.
 */
function broadWorkloadPrincipal(member: string): string | undefined {
  if (/^principalSet:\/\/.*\.svc\.id\.goog/.test(member))
    return `grants ${member}: every service account of a namespace or pool`;
  const exact =
    /^principal:\/\/iam\.googleapis\.com\/projects\/[^/]+\/locations\/global\/workloadIdentityPools\/[^/]+\.svc\.id\.goog\/subject\/ns\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/sa\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;
  if (/^principal:\/\/.*\.svc\.id\.goog/.test(member) && !exact.test(member))
    return `grants ${member}: not one service account (subject/ns/<namespace>/sa/<name>)`;
  const legacy = /^serviceAccount:[^[]+\.svc\.id\.goog\[(.*)\]$/.exec(member);
  if (legacy && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(legacy[1]!))
    return `grants ${member}: not one service account ([<namespace>/<name>])`;
  return undefined;
}

/** A Gateway's class is GKE's controller's. */
const isGkeGateway = (gateway: Record<string, unknown>) =>
  /^gke-l7-/.test(text(get(gateway, "spec.gatewayClassName")) ?? "");

/** The objects of a type in the stack that target a resource of `kind` named `name` in `namespace`. */
function targeting(
  ctx: RuleContext,
  type: string,
  kind: string,
  name: unknown,
  namespace: unknown,
): Record<string, unknown>[] {
  return ctx.resources
    .filter((r) => r.type === type)
    .map((r) => r.props)
    .filter(
      (p) =>
        get(p, "spec.targetRef.kind") === kind &&
        get(p, "spec.targetRef.name") === name &&
        get(p, "metadata.namespace") === namespace,
    );
}

/** Why a Gateway listener serves plain HTTP or a certificate it cannot show, if so. */
function listenerProblems(listener: Record<string, unknown>, label: string): string[] {
  const protocol = text(listener.protocol) ?? "unset";
  if (protocol !== "HTTPS" && protocol !== "TLS")
    return [`${label} listens on ${protocol}, not HTTPS`];
  if (get(listener, "tls.mode") === "Passthrough") return [];
  const options = get(listener, "tls.options");
  const certificates =
    records(get(listener, "tls.certificateRefs")).length > 0 ||
    GKE_CERTIFICATE_OPTIONS.some((key) => text(isObject(options) ? options[key] : undefined));
  return certificates ? [] : [`${label} names no certificate`];
}

export const gkeRules: Rule[] = [
  {
    name: "gcp-gke-nodes-hardened",
    area: "exposure",
    description:
      "GKE nodes are Shielded (Secure Boot, integrity monitoring), give pods the GKE metadata server (not the node's identity), run as an account of their own and close the kubelet's read-only port.",
    severity: "high",
    remediation:
      'Set nodeConfig.shieldedInstanceConfig { enableSecureBoot, enableIntegrityMonitoring }, workloadMetadataConfig.mode "GKE_METADATA", serviceAccount, kubeletConfig.insecureKubeletReadonlyPortEnabled "FALSE".',
    checkov: "CKV_GCP_68",
    resourceTypes: [GKE_NODE_POOL, GKE_CLUSTER],
    check: (r) =>
      nodePools(r).flatMap(({ pool, label }) => {
        const config = get(pool, "nodeConfig");
        const account = text(get(config, "serviceAccount"));
        return [
          ...(isTrue(get(config, "shieldedInstanceConfig.enableSecureBoot")) &&
          !isFalse(get(config, "shieldedInstanceConfig.enableIntegrityMonitoring"))
            ? []
            : [`${label}: nodes are not Shielded with Secure Boot and integrity monitoring`]),
          ...(get(config, "workloadMetadataConfig.mode") === "GKE_METADATA"
            ? []
            : [`${label}: pods reach the node's metadata and identity (not GKE_METADATA)`]),
          ...(account && account !== "default"
            ? []
            : [`${label}: nodes run as Compute Engine's default service account`]),
          ...(get(config, "kubeletConfig.insecureKubeletReadonlyPortEnabled") === "TRUE"
            ? [`${label}: the kubelet's read-only port is open`]
            : []),
        ];
      }),
  },
  {
    name: "gcp-gke-customer-key",
    area: "encryption",
    description:
      "GKE's node boot disks and persistent-disk StorageClasses encrypt with a Cloud KMS key.",
    severity: "high",
    remediation:
      'Set nodeConfig.bootDiskKmsKey on every pool, and parameters["disk-encryption-kms-key"] on every pd.csi.storage.gke.io StorageClass.',
    resourceTypes: [GKE_NODE_POOL, GKE_CLUSTER, STORAGE_CLASS],
    check: (r) => {
      if (r.type === STORAGE_CLASS)
        return r.props.provisioner === "pd.csi.storage.gke.io" &&
          !text(get(r.props, "parameters.disk-encryption-kms-key"))
          ? ["its disks are encrypted with a Google-managed key only"]
          : [];
      return nodePools(r).flatMap(({ pool, label }) =>
        text(get(pool, "nodeConfig.bootDiskKmsKey"))
          ? []
          : [`${label}: boot disks are encrypted with a Google-managed key only`],
      );
    },
  },
  {
    name: "gcp-gke-network-policy",
    area: "exposure",
    description:
      "GKE enforces Kubernetes NetworkPolicies (Dataplane V2, or the Calico network policy), so the workloads' policies isolate them.",
    severity: "high",
    remediation:
      'Set datapathProvider "ADVANCED_DATAPATH" (Dataplane V2), or networkPolicy { enabled: true } with addonsConfig.networkPolicyConfig.',
    checkov: "CKV_GCP_12",
    resourceTypes: [GKE_CLUSTER],
    check: (r) =>
      r.props.datapathProvider === "ADVANCED_DATAPATH" ||
      isTrue(get(r.props, "networkPolicy.enabled"))
        ? []
        : [
            `NetworkPolicies are not enforced (datapathProvider ${text(r.props.datapathProvider) ?? "unset"})`,
          ],
  },
  {
    name: "gcp-gke-workload-identity",
    area: "access",
    description:
      "GKE pods get Google identities through Workload Identity only (no client certificate), and every grant to a workload names exactly one Kubernetes service account.",
    severity: "high",
    remediation:
      'Set workloadIdentityConfig.workloadPool and masterAuth.clientCertificateConfig.issueClientCertificate false; grant principal://.../subject/ns/<namespace>/sa/<name>, never a principalSet or "*".',
    resourceTypes: [GKE_CLUSTER, ...GCP_GRANTS],
    check: (r) => {
      if (r.type !== GKE_CLUSTER)
        return strings([r.props.member, ...list(r.props.members)]).flatMap(
          (member) => broadWorkloadPrincipal(member) ?? [],
        );
      return [
        ...(text(get(r.props, "workloadIdentityConfig.workloadPool"))
          ? []
          : ["Workload Identity is off: pods act as the nodes' account"]),
        ...(isTrue(get(r.props, "masterAuth.clientCertificateConfig.issueClientCertificate"))
          ? ["a client certificate is issued (a static credential of the cluster)"]
          : []),
      ];
    },
  },
  {
    name: "gcp-gke-logged",
    area: "logging",
    description:
      "GKE sends its control plane's, its system's and the workloads' logs to Cloud Logging.",
    severity: "medium",
    remediation:
      'Set loggingConfig.enableComponents to include "SYSTEM_COMPONENTS", "APISERVER" and "WORKLOADS" (and leave loggingService on).',
    checkov: "CKV_GCP_1",
    resourceTypes: [GKE_CLUSTER],
    check: (r) => {
      if (r.props.loggingService === "none") return ["logging is off (loggingService none)"];
      const components = strings(get(r.props, "loggingConfig.enableComponents"));
      return ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"]
        .filter((c) => !components.includes(c))
        .map((c) => `${c} logs are not collected`);
    },
  },
  {
    name: "gcp-gke-upgrades",
    area: "resilience",
    description:
      "GKE follows a release channel in a maintenance window, and repairs and upgrades every node pool itself.",
    severity: "medium",
    remediation:
      "Set releaseChannel.channel (REGULAR, STABLE or RAPID) and a maintenancePolicy window; leave management.autoRepair and autoUpgrade true on every pool.",
    resourceTypes: [GKE_CLUSTER, GKE_NODE_POOL],
    tiers: CLUSTER_TIERS,
    check: (r) => {
      const pools = nodePools(r).flatMap(({ pool, label }) =>
        ["autoRepair", "autoUpgrade"]
          .filter((k) => isFalse(get(pool, `management.${k}`)))
          .map((k) => `${label}: ${k} is off`),
      );
      if (r.type === GKE_NODE_POOL) return pools;
      const channel = text(get(r.props, "releaseChannel.channel")) ?? "UNSPECIFIED";
      const policy = get(r.props, "maintenancePolicy");
      const window = [
        "recurringWindow",
        "dailyMaintenanceWindow",
        "recurringMaintenanceWindow",
      ].some((k) => isObject(get(policy, k)));
      return [
        ...(["REGULAR", "STABLE", "RAPID", "EXTENDED"].includes(channel)
          ? []
          : [`no release channel (${channel})`]),
        ...(window ? [] : ["no maintenance window: GKE upgrades at any hour"]),
        ...pools,
      ];
    },
  },
  {
    name: "gcp-gke-zone-redundant",
    area: "resilience",
    description:
      "A GKE cluster is regional (its control plane in three zones), and every pool autoscales; a pool without GPUs spans zones.",
    severity: "medium",
    remediation:
      "Set the cluster's location to a region, and autoscaling bounds on every pool; give a CPU pool nodeLocations in two zones or more.",
    resourceTypes: [GKE_CLUSTER, GKE_NODE_POOL],
    tiers: CLUSTER_TIERS,
    check: (r) => {
      const pools = nodePools(r).flatMap(({ pool, label }) => {
        const autoscaling = get(pool, "autoscaling");
        const scales =
          isObject(autoscaling) &&
          ["maxNodeCount", "totalMaxNodeCount"].some((k) => Number(autoscaling[k]) > 0);
        const gpus = records(get(pool, "nodeConfig.guestAccelerators")).length > 0;
        const zones = get(pool, "nodeLocations");
        return [
          ...(scales ? [] : [`${label} does not autoscale`]),
          ...(!gpus && Array.isArray(zones) && zones.length < 2 ? [`${label} is in one zone`] : []),
        ];
      });
      if (r.type === GKE_NODE_POOL) return pools;
      const location = text(r.props.location) ?? "unset";
      return [
        ...(/^[a-z]+-[a-z]+\d+$/.test(location)
          ? []
          : [`the control plane is zonal (location ${location}), not regional`]),
        ...pools,
      ];
    },
  },
  {
    name: "gke-gateway-https",
    area: "transit",
    description:
      "A Gateway serves HTTPS only, every listener with its certificate; a GKE Gateway also holds TLS 1.2 and up through an SSL policy its GCPGatewayPolicy attaches.",
    severity: "high",
    remediation:
      "Give every listener protocol HTTPS with tls.certificateRefs or the networking.gke.io/pre-shared-certs option; attach a GCPGatewayPolicy with spec.default.sslPolicy (profile MODERN or RESTRICTED, minTlsVersion TLS_1_2).",
    resourceTypes: [...GATEWAYS, GATEWAY_POLICY],
    check: eachObject((gateway, r, ctx) => {
      if (r.type === GATEWAY_POLICY) return [];
      const listeners = get(gateway, "spec.listeners");
      const plain = Array.isArray(listeners)
        ? Array.from(listeners as unknown[]).flatMap((l, i) =>
            isObject(l)
              ? listenerProblems(l, `listener ${text(l.name) ?? i}`)
              : [`listener ${i} cannot be read`],
          )
        : ["its listeners cannot be read"];
      if (!isGkeGateway(gateway)) return plain;
      const attached = targeting(
        ctx,
        GATEWAY_POLICY,
        "Gateway",
        get(gateway, "metadata.name"),
        get(gateway, "metadata.namespace"),
      ).some((p) => text(get(p, "spec.default.sslPolicy")));
      return [
        ...plain,
        ...(attached ? [] : ["no SSL policy attached (Google's default admits TLS 1.0)"]),
      ];
    }),
  },
  {
    name: "gke-gateway-request-logs",
    area: "logging",
    description:
      "Every Service a route of a GKE Gateway sends to logs its requests (a GCPBackendPolicy with logging enabled).",
    severity: "medium",
    remediation:
      "Attach a GCPBackendPolicy to the Service with spec.default.logging { enabled: true, sampleRate: 1000000 }.",
    resourceTypes: [...HTTP_ROUTES, BACKEND_POLICY],
    check: eachObject((route, r, ctx) => {
      if (r.type === BACKEND_POLICY)
        return isFalse(get(route, "spec.default.logging.enabled"))
          ? ["request logging is turned off"]
          : [];
      const namespace = get(route, "metadata.namespace");
      const gkeParent = records(get(route, "spec.parentRefs")).some((ref) =>
        ctx.resources.some(
          (g) =>
            GATEWAYS.includes(g.type) &&
            get(g.props, "metadata.name") === ref.name &&
            get(g.props, "metadata.namespace") === (ref.namespace ?? namespace) &&
            isGkeGateway(g.props),
        ),
      );
      if (!gkeParent) return [];
      return records(get(route, "spec.rules"))
        .flatMap((rule) => records(rule.backendRefs))
        .filter((backend) => (text(backend.kind) ?? "Service") === "Service")
        .flatMap((backend) =>
          targeting(
            ctx,
            BACKEND_POLICY,
            "Service",
            backend.name,
            backend.namespace ?? namespace,
          ).some((p) => isTrue(get(p, "spec.default.logging.enabled")))
            ? []
            : [
                `Service ${String(backend.name)} logs no requests (no GCPBackendPolicy with logging)`,
              ],
        );
    }),
  },
];
