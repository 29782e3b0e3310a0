/**
 * The configuration rules of each cloud: its size names, its certificate references, the network
 * keys it takes. The registry (stacks/registry.ts) says which cloud's rules a stack gets.
 */
import type { ConfigInput } from "./config";
import {
  AKS_OVERLAY,
  MAX_VNET_PREFIX as MAX_AZURE_VNET_PREFIX,
} from "../components/azure/subnet-plan";
import { cidrsOverlap } from "../components/shared/cidr";
import {
  AKS_KUBERNETES_VERSIONS,
  GKE_KUBERNETES_VERSIONS,
  supportRange,
  supportsMinor,
} from "./versions";
import {
  MAX_GKE_VPC_PREFIX,
  MAX_VPC_PREFIX as MAX_GCP_VPC_PREFIX,
} from "../components/gcp/subnet-plan";

/** Reports one problem: the key's path and what is allowed (the key and value are added). */
export type Problem = (path: (string | number)[], message: string) => void;

const EXISTING_NETWORK_KEYS = [
  "existingNetworkId",
  "existingPublicSubnetIds",
  "existingPrivateSubnetIds",
] as const;

/** Each admin principal (kubernetes.adminPrincipals) must be one this cloud can grant cluster-admin. */
function checkAdminPrincipals(
  cfg: ConfigInput,
  problem: Problem,
  pattern: RegExp,
  what: string,
): void {
  cfg.kubernetes.adminPrincipals.forEach((principal, i) => {
    if (!pattern.test(principal)) problem(["kubernetes", "adminPrincipals", i], `must be ${what}`);
  });
}

/**
 * Docker: every container the stack runs publishes on 127.0.0.1 a port no other takes (Qdrant's
 * only with vectorDb.mode qdrant, the tools' only with dev.tools).
 */
export function checkDocker(cfg: ConfigInput, problem: Problem): void {
  const ports = cfg.dev.hostPorts;
  const used: [keyof typeof ports, boolean][] = [
    ["api", true],
    ["postgres", true],
    ["redis", true],
    ["qdrant", cfg.vectorDb.mode === "qdrant"],
    ["ollama", true],
    ["redisInsight", cfg.dev.tools],
    ["prometheus", cfg.dev.tools],
    ["grafana", cfg.dev.tools],
  ];
  const taken = new Map<number, string>();
  for (const [key, inUse] of used) {
    if (!inUse) continue;
    const other = taken.get(ports[key]);
    if (other)
      problem(
        ["dev", "hostPorts", key],
        `must differ from dev.hostPorts.${other} (both would bind 127.0.0.1:${ports[key]})`,
      );
    else taken.set(ports[key], key);
  }
}

/** AWS: deploying into an existing VPC needs its subnets; certificates are ACM's. */
export function checkAws(cfg: ConfigInput, problem: Problem): void {
  checkAdminPrincipals(
    cfg,
    problem,
    /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+$/,
    "an IAM role or user ARN on aws",
  );
  const n = cfg.network;
  if (n.existingNetworkId) {
    if (!n.existingPrivateSubnetIds || n.existingPrivateSubnetIds.length < 2) {
      problem(
        ["network", "existingPrivateSubnetIds"],
        "needs at least 2 subnet ids (in different zones) when network.existingNetworkId is set",
      );
    }
    if (cfg.domain?.certificate && (n.existingPublicSubnetIds?.length ?? 0) < 2) {
      problem(
        ["network", "existingPublicSubnetIds"],
        "needs at least 2 public subnet ids (in different zones) for the internet-facing load balancer that domain.certificate asks for",
      );
    }
  } else {
    for (const key of ["existingPublicSubnetIds", "existingPrivateSubnetIds"] as const) {
      if (n[key]) problem(["network", key], "only used together with network.existingNetworkId");
    }
  }
  const certificate = cfg.domain.certificate;
  if (
    certificate &&
    !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/.test(certificate)
  ) {
    problem(
      ["domain", "certificate"],
      "must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
    );
  }
}

/** Azure names its sizes its own way, and the Azure platform builds what these rules allow. */
export function checkAzure(cfg: ConfigInput, problem: Problem): void {
  checkAdminPrincipals(
    cfg,
    problem,
    /^(user|group|servicePrincipal):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    "a Microsoft Entra principal on azure (user:<object id>, group:<object id> or servicePrincipal:<object id>)",
  );
  const n = cfg.network;
  for (const key of EXISTING_NETWORK_KEYS) {
    if (n[key] !== undefined)
      problem(
        ["network", key],
        "only used on aws (the Azure platform creates its virtual network)",
      );
  }
  if (Number(n.cidr.split("/")[1]) > MAX_AZURE_VNET_PREFIX) {
    problem(
      ["network", "cidr"],
      `is too small for the Azure subnets (allowed: a /${MAX_AZURE_VNET_PREFIX} or larger, e.g. 10.40.0.0/16)`,
    );
  }
  if (cfg.tier !== "staging") {
    // AKS's pods and Services take these ranges outside the network.
    const taken = [AKS_OVERLAY.podCidr, AKS_OVERLAY.serviceCidr].filter((r) =>
      cidrsOverlap(n.cidr, r),
    );
    if (taken.length > 0)
      problem(
        ["network", "cidr"],
        `overlaps the range AKS gives pods and Services (${taken.join(", ")}); pick another private range, e.g. 10.50.0.0/16`,
      );
    if (!supportsMinor(AKS_KUBERNETES_VERSIONS, cfg.kubernetes.version))
      problem(
        ["kubernetes", "version"],
        `is not a version AKS supports (allowed: ${supportRange(AKS_KUBERNETES_VERSIONS)}; ${AKS_KUBERNETES_VERSIONS.source})`,
      );
  }
  const pg = cfg.postgres;
  if (!/^Standard_[BDE]\d+[a-z]*(_v\d+)?$/.test(pg.size)) {
    problem(
      ["postgres", "size"],
      "must be an Azure PostgreSQL flexible server size (allowed: Standard_B<n>… burstable, Standard_D<n>ds_v5… general purpose, Standard_E<n>ds_v5… memory optimized)",
    );
  } else if (pg.highAvailability && pg.size.startsWith("Standard_B")) {
    problem(
      ["postgres", "highAvailability"],
      `needs a general purpose or memory optimized size on azure, not the burstable ${pg.size} (e.g. Standard_D2ds_v5)`,
    );
  }
  if (pg.storageGiB > 32767)
    problem(
      ["postgres", "storageGiB"],
      "must be at most 32767 on azure (the largest flexible server)",
    );
  if (!/^(Balanced_B|MemoryOptimized_M|ComputeOptimized_X)\d+$/.test(cfg.redis.size)) {
    problem(
      ["redis", "size"],
      "must be an Azure Managed Redis size (allowed: Balanced_B<n>, MemoryOptimized_M<n>, ComputeOptimized_X<n>, e.g. Balanced_B1)",
    );
  }
  if (cfg.domain.certificate !== undefined) {
    if (
      !/^https:\/\/[a-z0-9-]{3,24}\.vault\.azure\.net\/secrets\/[A-Za-z0-9-]+(\/[0-9a-f]{32})?$/.test(
        cfg.domain.certificate,
      )
    ) {
      problem(
        ["domain", "certificate"],
        "must be a Key Vault certificate's secret URL on azure (https://<vault>.vault.azure.net/secrets/<certificate>)",
      );
    }
    if (!cfg.domain.hostname)
      problem(
        ["domain", "hostname"],
        "required with domain.certificate on azure (the certificate is bound to the API's custom domain)",
      );
  }
}

/** GCP names its sizes its own way, and the GCP platform builds what these rules allow. */
export function checkGcp(cfg: ConfigInput, problem: Problem): void {
  checkAdminPrincipals(
    cfg,
    problem,
    /^(user|group|serviceAccount|domain):[^\s:]+$/,
    "an IAM member on gcp (user:<email>, group:<email>, serviceAccount:<email> or domain:<domain>)",
  );
  const n = cfg.network;
  for (const key of EXISTING_NETWORK_KEYS) {
    if (n[key] !== undefined)
      problem(["network", key], "only used on aws (the GCP platform creates its VPC network)");
  }
  if (Number(n.cidr.split("/")[1]) > MAX_GCP_VPC_PREFIX) {
    problem(
      ["network", "cidr"],
      `is too small for the GCP subnet (allowed: a /${MAX_GCP_VPC_PREFIX} or larger, e.g. 10.40.0.0/16)`,
    );
  }
  if (!cfg.gcpProject) {
    problem(["gcpProject"], "required when cloud is gcp (the project id resources are created in)");
  }
  if (cfg.tier !== "staging") checkGke(cfg, problem);
  if (!/^db-(custom-\d+-\d+|perf-optimized-N-\d+)$/.test(cfg.postgres.size)) {
    problem(
      ["postgres", "size"],
      "must be a Cloud SQL machine type (allowed: db-custom-<vCPUs>-<MiB>, e.g. db-custom-2-7680, or db-perf-optimized-N-<vCPUs>)",
    );
  }
  const redis = /^(BASIC|STANDARD_HA)-(\d+)$/.exec(cfg.redis.size);
  if (!redis || Number(redis[2]) < 1 || Number(redis[2]) > 300) {
    problem(
      ["redis", "size"],
      "must be a Memorystore tier and size in GB (allowed: BASIC-<1-300>, STANDARD_HA-<1-300>, e.g. STANDARD_HA-1)",
    );
  } else if (redis[1] === "BASIC" && (cfg.redis.highAvailability || cfg.redis.replicas > 0)) {
    problem(
      ["redis", "size"],
      `got a BASIC instance, which has no replica; redis.replicas and redis.highAvailability need STANDARD_HA (e.g. STANDARD_HA-${redis[2]})`,
    );
  }
  if (cfg.domain.certificate !== undefined) {
    if (
      cfg.domain.certificate !== "google-managed" &&
      !/^projects\/[a-z][a-z0-9-]+\/global\/sslCertificates\/[a-z]([-a-z0-9]*[a-z0-9])?$/.test(
        cfg.domain.certificate,
      )
    ) {
      problem(
        ["domain", "certificate"],
        'must be "google-managed" or a Compute Engine SSL certificate on gcp (projects/<project>/global/sslCertificates/<name>)',
      );
    }
    if (!cfg.domain.hostname)
      problem(
        ["domain", "hostname"],
        "required with domain.certificate on gcp (the load balancer's certificate is for that name)",
      );
  }
}

/** GKE's rules: its ranges, its versions, the GPU pool's zones, the Gateway's certificate. */
function checkGke(cfg: ConfigInput, problem: Problem): void {
  if (Number(cfg.network.cidr.split("/")[1]) > MAX_GKE_VPC_PREFIX)
    problem(
      ["network", "cidr"],
      `is too small for a GKE cluster's nodes, pods, Services and load balancers' proxies (allowed: a /${MAX_GKE_VPC_PREFIX} or larger, e.g. 10.60.0.0/16)`,
    );
  if (!supportsMinor(GKE_KUBERNETES_VERSIONS, cfg.kubernetes.version))
    problem(
      ["kubernetes", "version"],
      `is not a version GKE supports (allowed: ${supportRange(GKE_KUBERNETES_VERSIONS)}; ${GKE_KUBERNETES_VERSIONS.source})`,
    );
  const region = cfg.regions[0];
  cfg.kubernetes.gpuZones?.forEach((zone, i) => {
    if (region && !zone.startsWith(`${region}-`))
      problem(["kubernetes", "gpuZones", i], `must be a zone of ${region}, e.g. ${region}-b`);
  });
  const { hostname, certificate } = cfg.domain;
  if (hostname && certificate === undefined)
    problem(
      ["domain", "hostname"],
      'names the public API on GKE and needs domain.certificate ("google-managed" or a certificate path); without both the Gateway is internal, on its address',
    );
  const project = /^projects\/([^/]+)\//.exec(certificate ?? "")?.[1];
  if (project && cfg.gcpProject && project !== cfg.gcpProject)
    problem(
      ["domain", "certificate"],
      `must be in the stack's project on GKE (${cfg.gcpProject}): the Gateway's load balancer takes certificates of its own project`,
    );
}
