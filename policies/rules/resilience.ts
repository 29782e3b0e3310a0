/** Resilience, graded by tier: backups, multi-AZ, deletion protection, versioning, replicas, spread. */
import { cannotRead, eachContainer, podsOf, REPLICATED_TYPES, WORKLOAD_TYPES } from "./workloads";
import {
  AKS_AGENT_POOL,
  AKS_CLUSTER,
  aksNodePools,
  get,
  isObject,
  isTrue,
  list,
  referencing,
  text,
} from "./helpers";
import type { Rule, Tier } from "./types";

const PRODUCTION: readonly Tier[] = ["sme", "enterprise"];
const CLOUD_TIERS: readonly Tier[] = ["staging", "sme", "enterprise"];
/** The tiers that run Kubernetes in a cloud. */
const CLUSTER_TIERS: readonly Tier[] = ["sme", "enterprise"];

/** Minimum backup retention (days) per tier. */
export const MIN_BACKUP_DAYS: Record<Tier, number> = {
  dev: 0,
  staging: 7,
  sme: 14,
  enterprise: 30,
};

function backupDays(tier: Tier | undefined): number {
  return MIN_BACKUP_DAYS[tier ?? "enterprise"];
}

const PDB = "kubernetes:policy/v1:PodDisruptionBudget";

/** A replicated workload's replicas (Kubernetes' default 1 when unset). */
function replicasOf(workload: unknown): number {
  const n = get(workload, "spec.replicas");
  return typeof n === "number" ? n : 1;
}

/** The labels a replicated workload's pods carry, as its selector names them. */
function labelsOf(workload: unknown): Record<string, unknown> {
  const labels =
    get(workload, "spec.selector.matchLabels") ?? get(workload, "spec.template.metadata.labels");
  return isObject(labels) ? labels : {};
}

function selects(selector: unknown, labels: Record<string, unknown>): boolean {
  const entries = isObject(selector) ? Object.entries(selector) : [];
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

export const resilienceRules: Rule[] = [
  {
    name: "aws-rds-backups",
    area: "resilience",
    description:
      "RDS keeps automated backups long enough for the tier (staging 7, sme 14, enterprise 30 days).",
    severity: "high",
    remediation: "Raise postgres.backupRetentionDays to the tier's minimum.",
    checkov: "CKV_AWS_133",
    tfsec: "aws-rds-specify-backup-retention",
    resourceTypes: ["aws:rds/instance:Instance"],
    tiers: CLOUD_TIERS,
    check: (r, ctx) => {
      const days = Number(r.props.backupRetentionPeriod ?? 0);
      const min = backupDays(ctx.tier);
      return days >= min
        ? []
        : [`backups are kept ${days} days; the ${ctx.tier ?? "strictest"} tier needs ${min}`];
    },
  },
  {
    name: "aws-rds-multi-az-protected",
    area: "resilience",
    description: "Production RDS runs multi-AZ with deletion protection.",
    severity: "high",
    remediation: "Set postgres.highAvailability and postgres.deletionProtection to true.",
    checkov: "CKV_AWS_157",
    tfsec: "aws-rds-enable-deletion-protection",
    resourceTypes: ["aws:rds/instance:Instance"],
    tiers: PRODUCTION,
    check: (r) => [
      ...(isTrue(r.props.multiAz) ? [] : ["not multi-AZ"]),
      ...(isTrue(r.props.deletionProtection) ? [] : ["deletion protection is off"]),
    ],
  },
  {
    name: "aws-rds-final-snapshot",
    area: "resilience",
    description:
      "Deleting the RDS instance (pulumi destroy, a replacement) first takes a final snapshot, under a name of its own.",
    severity: "medium",
    remediation:
      "Leave skipFinalSnapshot false and set finalSnapshotIdentifier (unique: snapshots outlive instances).",
    resourceTypes: ["aws:rds/instance:Instance"],
    tiers: CLOUD_TIERS,
    check: (r) => {
      if (isTrue(r.props.skipFinalSnapshot))
        return ["deleting it takes no final snapshot (skipFinalSnapshot)"];
      return typeof r.props.finalSnapshotIdentifier === "string" &&
        r.props.finalSnapshotIdentifier !== ""
        ? []
        : ["no finalSnapshotIdentifier: RDS refuses the deletion, or the name is not known yet"];
    },
  },
  {
    name: "aws-elasticache-failover",
    area: "resilience",
    description: "Production Redis has a replica in another zone with automatic failover.",
    severity: "medium",
    remediation: "Set redis.highAvailability true with at least one replica.",
    resourceTypes: ["aws:elasticache/replicationGroup:ReplicationGroup"],
    tiers: PRODUCTION,
    check: (r) => [
      ...(isTrue(r.props.automaticFailoverEnabled) ? [] : ["automatic failover is off"]),
      ...(isTrue(r.props.multiAzEnabled) ? [] : ["not multi-AZ"]),
      ...(Number(r.props.numCacheClusters ?? 1) >= 2 ? [] : ["no replica"]),
    ],
  },
  {
    name: "aws-s3-versioning",
    area: "resilience",
    description: "S3 buckets keep versions, so an overwrite or a delete can be undone.",
    severity: "medium",
    remediation: "Add an aws.s3.BucketVersioning with status Enabled.",
    checkov: "CKV_AWS_21",
    tfsec: "aws-s3-enable-versioning",
    resourceTypes: ["aws:s3/bucket:Bucket", "aws:s3/bucketVersioning:BucketVersioning"],
    tiers: CLOUD_TIERS,
    check: (r, ctx) => {
      if (r.type !== "aws:s3/bucket:Bucket") return [];
      const enabled = referencing(
        ctx,
        "aws:s3/bucketVersioning:BucketVersioning",
        "bucket",
        r,
      ).some((v) => get(v.props, "versioningConfiguration.status") === "Enabled");
      return enabled ? [] : ["versioning is not enabled"];
    },
  },
  {
    name: "azure-blob-versioning",
    area: "resilience",
    description:
      "Azure storage accounts keep blob versions, so an overwrite or a delete can be undone.",
    severity: "medium",
    remediation:
      "Add a storage.BlobServiceProperties on the account with isVersioningEnabled: true.",
    resourceTypes: [
      "azure-native:storage:StorageAccount",
      "azure-native:storage:BlobServiceProperties",
    ],
    tiers: CLOUD_TIERS,
    check: (r, ctx) => {
      if (r.type !== "azure-native:storage:StorageAccount") return [];
      const enabled = referencing(
        ctx,
        "azure-native:storage:BlobServiceProperties",
        "accountName",
        r,
      ).some((b) => isTrue(b.props.isVersioningEnabled));
      return enabled ? [] : ["blob versioning is not enabled"];
    },
  },
  {
    name: "gcp-bucket-versioning",
    area: "resilience",
    description:
      "Cloud Storage buckets keep noncurrent versions, so an overwrite or a delete can be undone.",
    severity: "medium",
    remediation:
      "Set versioning.enabled: true (and a lifecycle rule for how long old versions stay).",
    checkov: "CKV_GCP_78",
    resourceTypes: ["gcp:storage/bucket:Bucket"],
    tiers: CLOUD_TIERS,
    check: (r) => (isTrue(get(r.props, "versioning.enabled")) ? [] : ["versioning is not enabled"]),
  },
  {
    name: "azure-aks-upgrades",
    area: "resilience",
    description:
      "AKS patches Kubernetes and the node images itself, in maintenance windows of at least four hours.",
    severity: "medium",
    remediation:
      "Set autoUpgradeProfile.upgradeChannel (patch, stable or rapid) and nodeOSUpgradeChannel (NodeImage or SecurityPatch); give each maintenance configuration durationHours >= 4.",
    resourceTypes: [AKS_CLUSTER, "azure-native:containerservice:MaintenanceConfiguration"],
    tiers: CLUSTER_TIERS,
    check: (r) => {
      if (r.type !== AKS_CLUSTER) {
        const hours = Number(get(r.props, "maintenanceWindow.durationHours"));
        return get(r.props, "maintenanceWindow") === undefined || hours >= 4
          ? []
          : [`the maintenance window lasts ${hours} hours (at least 4)`];
      }
      const channel = text(get(r.props, "autoUpgradeProfile.upgradeChannel")) ?? "unset";
      const nodeOs = text(get(r.props, "autoUpgradeProfile.nodeOSUpgradeChannel")) ?? "unset";
      return [
        ...(["patch", "stable", "rapid"].includes(channel)
          ? []
          : [`Kubernetes is not patched automatically (upgradeChannel ${channel})`]),
        ...(["NodeImage", "SecurityPatch"].includes(nodeOs)
          ? []
          : [`node images are not updated (nodeOSUpgradeChannel ${nodeOs})`]),
      ];
    },
  },
  {
    name: "azure-aks-zone-redundant",
    area: "resilience",
    description:
      "AKS has the uptime SLA (Standard or Premium tier), its system pool spans zones, and every pool autoscales.",
    severity: "medium",
    remediation:
      'Set sku.tier "Standard", availabilityZones ["1","2","3"] on the system pool, and enableAutoScaling with minCount/maxCount on every pool.',
    resourceTypes: [AKS_CLUSTER, AKS_AGENT_POOL],
    tiers: CLUSTER_TIERS,
    check: (r) => {
      const pools = aksNodePools(r);
      const autoscaling = pools.flatMap(({ pool, label }) =>
        isTrue(pool.enableAutoScaling) ? [] : [`${label} does not autoscale`],
      );
      if (r.type === AKS_AGENT_POOL) return autoscaling;
      const system = (pools.find(({ pool }) => pool.mode === "System") ?? pools[0])?.pool;
      return [
        ...(["Standard", "Premium"].includes(String(get(r.props, "sku.tier")))
          ? []
          : ["the API server has no uptime SLA (Free tier)"]),
        ...(list(system?.availabilityZones).length >= 2 ? [] : ["the system pool is in one zone"]),
        ...autoscaling,
      ];
    },
  },
  {
    name: "azure-keyvault-recoverable",
    area: "resilience",
    description:
      "Key Vaults keep deleted secrets and keys recoverable (soft delete) and refuse to purge them early (purge protection): losing a key loses what it encrypts.",
    severity: "high",
    remediation:
      "Set properties.enableSoftDelete: true, softDeleteRetentionInDays 7-90 and enablePurgeProtection: true.",
    checkov: "CKV_AZURE_42",
    resourceTypes: ["azure-native:keyvault:Vault"],
    check: (r) => [
      ...(get(r.props, "properties.enableSoftDelete") === false ? ["soft delete is off"] : []),
      ...(isTrue(get(r.props, "properties.enablePurgeProtection"))
        ? []
        : ["purge protection is off"]),
    ],
  },
  {
    name: "aws-log-group-retention",
    area: "resilience",
    description:
      "Log groups have a retention (never-expiring logs grow without bound and keep data past policy).",
    severity: "low",
    remediation: "Set retentionInDays (observability.logRetentionDays).",
    checkov: "CKV_AWS_66",
    resourceTypes: ["aws:cloudwatch/logGroup:LogGroup"],
    check: (r) => (Number(r.props.retentionInDays ?? 0) > 0 ? [] : ["no retention"]),
  },
  {
    name: "k8s-pdb-for-replicated",
    area: "resilience",
    description: "Every workload with more than one replica has a PodDisruptionBudget.",
    severity: "medium",
    remediation: "Add a PodDisruptionBudget (maxUnavailable: 1) selecting the workload's pods.",
    resourceTypes: [...REPLICATED_TYPES, PDB],
    check: (r, ctx) =>
      podsOf(r).flatMap(({ prefix, object }) => {
        const replicas = replicasOf(object);
        if (replicas < 2) return [];
        const labels = labelsOf(object);
        const covered = ctx.resources.some(
          (p) => p.type === PDB && selects(get(p.props, "spec.selector.matchLabels"), labels),
        );
        return covered ? [] : [`${prefix}${replicas} replicas and no PodDisruptionBudget`];
      }),
  },
  {
    name: "k8s-zone-spread",
    area: "resilience",
    description: "Replicated production workloads spread across zones.",
    severity: "medium",
    remediation: "Add a topologySpreadConstraint on topology.kubernetes.io/zone.",
    resourceTypes: [...REPLICATED_TYPES],
    tiers: PRODUCTION,
    check: (r) =>
      podsOf(r).flatMap((pod) => {
        if (replicasOf(pod.object) < 2) return [];
        if (!pod.spec) return [cannotRead(pod, pod.specProblem!)];
        const spread = list(pod.spec.topologySpreadConstraints).some(
          (t) => get(t, "topologyKey") === "topology.kubernetes.io/zone",
        );
        return spread ? [] : [`${pod.prefix}replicas are not spread across zones`];
      }),
  },
  {
    name: "k8s-api-replicas",
    area: "resilience",
    description: "The runtime API runs at least two replicas in production.",
    severity: "high",
    remediation: "Set api.replicas and api.minReplicas to 2 or more.",
    resourceTypes: [...REPLICATED_TYPES],
    tiers: PRODUCTION,
    check: (r) =>
      podsOf(r).flatMap(({ prefix, object }) =>
        labelsOf(object)["app.kubernetes.io/name"] === "rag-api" && replicasOf(object) < 2
          ? [`${prefix}the API runs ${replicasOf(object)} replica`]
          : [],
      ),
  },
  {
    name: "gcp-azure-database-backups",
    area: "resilience",
    description:
      "Cloud SQL and Azure PostgreSQL keep backups (and point-in-time recovery on Cloud SQL).",
    severity: "high",
    remediation:
      "Enable settings.backupConfiguration (and pointInTimeRecoveryEnabled), or backup.backupRetentionDays >= 7.",
    checkov: "CKV_GCP_14",
    resourceTypes: [
      "gcp:sql/databaseInstance:DatabaseInstance",
      "azure-native:dbforpostgresql:Server",
    ],
    tiers: CLOUD_TIERS,
    check: (r) =>
      r.type === "gcp:sql/databaseInstance:DatabaseInstance"
        ? isTrue(get(r.props, "settings.backupConfiguration.enabled"))
          ? []
          : ["automated backups are off"]
        : Number(get(r.props, "backup.backupRetentionDays") ?? 0) >= 7
          ? []
          : ["backups are kept under 7 days"],
  },
  {
    name: "workloads-resource-bounded",
    area: "resilience",
    description:
      "Every container declares CPU and memory requests and limits, so one noisy pod cannot starve the node.",
    severity: "medium",
    remediation: "Set resources.requests and resources.limits (cpu, memory) on every container.",
    checkov: "CKV_K8S_13",
    resourceTypes: [...WORKLOAD_TYPES],
    // Ephemeral containers take no resources (Kubernetes refuses them).
    check: eachContainer(({ container: c, ephemeral }) =>
      ephemeral
        ? []
        : ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"]
            .filter((k) => get(c.resources, k) === undefined)
            .map((k) => `has no ${k}`),
    ),
  },
];
