/**
 * The enterprise tier's multi-region pieces: the Aurora global database, the MSK ingest log, the
 * replicated document bucket, the latency records, and every workload's disruption budget, zone
 * spread and priority class. Graded mandatory at enterprise (high), where these pieces live.
 */
import { MIN_BACKUP_DAYS } from "./resilience";
import { cannotRead, podsOf, REPLICATED_TYPES, WORKLOAD_TYPES } from "./workloads";
import { get, isObject, isTrue, list, referenced, referencing, text } from "./helpers";
import type { ResourceView, Rule, RuleContext, Tier } from "./types";

const ENTERPRISE: readonly Tier[] = ["enterprise"];
const PDB = "kubernetes:policy/v1:PodDisruptionBudget";
const ZONE = "topology.kubernetes.io/zone";

/** A regional record: one of several answers for a name, chosen by a routing policy. */
const ROUTING_POLICIES = [
  "latencyRoutingPolicies",
  "weightedRoutingPolicies",
  "failoverRoutingPolicies",
  "geolocationRoutingPolicies",
  "geoproximityRoutingPolicy",
  "cidrRoutingPolicy",
] as const;

/** The document store component's type: its buckets hold the originals. */
const DOCUMENT_STORE = "rag:aws:DocumentStore";

/** True when the URN's type chain (parent types, then the resource's own) names `type`. */
function inComponent(urn: string, type: string): boolean {
  return (urn.split("::")[2] ?? "").split("$").includes(type);
}

const SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion";
const SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation";

/** The rotations of the secrets holding the cluster's master password (a version written from the same source). */
function rotationsOfPassword(ctx: RuleContext, cluster: ResourceView): ResourceView[] {
  const sources = cluster.propertyDependencies.masterPassword ?? [];
  const versions = ctx.resources.filter(
    (v) =>
      v.type === SECRET_VERSION &&
      (v.propertyDependencies.secretString ?? []).some((u) => sources.includes(u)),
  );
  return versions
    .flatMap((v) => referenced(ctx, v, "secretId"))
    .flatMap((secret) => referencing(ctx, SECRET_ROTATION, "secretId", secret));
}

/** A rotation that runs: enabled, on a schedule, through a function. */
function rotates(rotation: ResourceView): boolean {
  const p = rotation.props;
  const scheduled =
    typeof get(p, "rotationRules.automaticallyAfterDays") === "number" ||
    text(get(p, "rotationRules.scheduleExpression")) !== undefined;
  const runner =
    text(p.rotationLambdaArn) !== undefined ||
    (rotation.propertyDependencies.rotationLambdaArn ?? []).length > 0;
  return p.rotationEnabled !== false && scheduled && runner;
}

const SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject";
/** KEDA's annotation holding a ScaledObject's target at a replica count, its scaling paused. */
const PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas";

/**
 * A standby: a workload at 0 replicas that a KEDA ScaledObject holds there, paused (a region's
 * stand-by ingest stage, started by a failover). A zone's outage takes nothing down.
 */
function pausedAtZero(r: ResourceView, resources: readonly ResourceView[]): boolean {
  const name = text(get(r.props, "metadata.name"));
  const namespace = text(get(r.props, "metadata.namespace"));
  return resources.some((s) => {
    const annotations = get(s.props, "metadata.annotations");
    return (
      s.type === SCALED_OBJECT &&
      text(get(s.props, "spec.scaleTargetRef.name")) === name &&
      text(get(s.props, "metadata.namespace")) === namespace &&
      isObject(annotations) &&
      annotations[PAUSED_REPLICAS] === "0"
    );
  });
}

export const multiRegionRules: Rule[] = [
  {
    name: "aws-aurora-protected",
    area: "resilience",
    description:
      "Aurora clusters are encrypted with a customer key, use IAM authentication, keep backups for the tier and refuse deletion.",
    severity: "high",
    remediation:
      "Set storageEncrypted with kmsKeyId, iamDatabaseAuthenticationEnabled, deletionProtection and backupRetentionPeriod (postgres.*).",
    checkov: "CKV_AWS_96",
    resourceTypes: ["aws:rds/cluster:Cluster"],
    tiers: ENTERPRISE,
    check: (r, ctx) => {
      const p = r.props;
      const min = MIN_BACKUP_DAYS[ctx.tier ?? "enterprise"];
      const days = Number(p.backupRetentionPeriod ?? 1);
      return [
        ...(isTrue(p.storageEncrypted) ? [] : ["storage is not encrypted"]),
        ...(text(p.kmsKeyId) ? [] : ["no customer key (kmsKeyId)"]),
        ...(isTrue(p.iamDatabaseAuthenticationEnabled) ? [] : ["IAM authentication is off"]),
        ...(isTrue(p.deletionProtection) ? [] : ["deletion protection is off"]),
        ...(days >= min ? [] : [`backups are kept ${days} days; enterprise needs ${min}`]),
      ];
    },
  },
  {
    name: "aws-aurora-password-rotated",
    area: "secrets",
    description:
      "An Aurora cluster's master password is managed by RDS (manageMasterUserPassword) or kept in a Secrets Manager secret with a rotation schedule; a global database's secondary, which has none of its own, passes.",
    severity: "high",
    remediation:
      "Set manageMasterUserPassword, or (a global database's primary, where RDS refuses it) store the password in a secret with a SecretRotation (rotationRules and a rotation function).",
    resourceTypes: ["aws:rds/cluster:Cluster"],
    check: (r, ctx) => {
      const p = r.props;
      if (isTrue(p.manageMasterUserPassword)) return [];
      if (p.masterPassword === undefined && p.masterPasswordWo === undefined) return [];
      return rotationsOfPassword(ctx, r).some(rotates)
        ? []
        : ["the master password is set once and nothing rotates it"];
    },
  },
  {
    name: "aws-msk-encrypted-private",
    area: "transit",
    description:
      "MSK clusters take TLS only (between brokers too), encrypt at rest with a customer key, authenticate by IAM or SCRAM, refuse public access and log their brokers.",
    severity: "high",
    remediation:
      "Set encryptionInTransit {clientBroker: TLS, inCluster: true}, encryptionAtRestKmsKeyArn, clientAuthentication.sasl (iam or scram) without unauthenticated, publicAccess DISABLED, and broker logs.",
    checkov: "CKV_AWS_81",
    resourceTypes: ["aws:msk/cluster:Cluster"],
    tiers: ENTERPRISE,
    check: (r) => {
      const p = r.props;
      const transit = get(p, "encryptionInfo.encryptionInTransit");
      const sasl = get(p, "clientAuthentication.sasl");
      const publicAccess = text(get(p, "brokerNodeGroupInfo.connectivityInfo.publicAccess.type"));
      const logs = get(p, "loggingInfo.brokerLogs");
      const logging =
        isObject(logs) &&
        ["cloudwatchLogs", "firehose", "s3"].some((sink) => isTrue(get(logs, `${sink}.enabled`)));
      return [
        // MSK's default is TLS_PLAINTEXT: TLS must be said.
        ...(text(get(transit, "clientBroker")) === "TLS"
          ? []
          : ["clients may connect in plaintext"]),
        ...(get(transit, "inCluster") === false ? ["brokers talk in plaintext"] : []),
        ...(text(get(p, "encryptionInfo.encryptionAtRestKmsKeyArn"))
          ? []
          : ["storage is encrypted with AWS's key, not a customer key"]),
        ...(isTrue(get(sasl, "iam")) || isTrue(get(sasl, "scram"))
          ? []
          : ["no IAM or SCRAM authentication"]),
        ...(isTrue(get(p, "clientAuthentication.unauthenticated"))
          ? ["unauthenticated clients are let in"]
          : []),
        ...(publicAccess && publicAccess !== "DISABLED" ? ["brokers are public"] : []),
        ...(logging ? [] : ["broker logs go nowhere"]),
      ];
    },
  },
  {
    name: "aws-s3-replication-encrypted",
    area: "encryption",
    description:
      "S3 replication re-encrypts every object with a customer key in the destination and replicates the KMS-encrypted objects.",
    severity: "high",
    remediation:
      "Give each rule destination.encryptionConfiguration.replicaKmsKeyId and sourceSelectionCriteria.sseKmsEncryptedObjects Enabled.",
    resourceTypes: ["aws:s3/bucketReplicationConfig:BucketReplicationConfig"],
    check: (r) => {
      const rules = list(r.props.rules).filter((rule) => text(get(rule, "status")) !== "Disabled");
      if (rules.length === 0) return ["replicates nothing"];
      return rules.flatMap((rule, i) => {
        const id = text(get(rule, "id")) ?? `rule ${i}`;
        return [
          ...(text(get(rule, "destination.encryptionConfiguration.replicaKmsKeyId"))
            ? []
            : [`${id}: replicas are not encrypted with a customer key`]),
          ...(text(get(rule, "sourceSelectionCriteria.sseKmsEncryptedObjects.status")) === "Enabled"
            ? []
            : [`${id}: KMS-encrypted objects are not replicated`]),
        ];
      });
    },
  },
  {
    name: "aws-s3-documents-replicated",
    area: "resilience",
    description:
      "At enterprise, the document store's bucket (a bucket of a rag:aws:DocumentStore) has a replication configuration: each region keeps a copy. Buckets kept in one region on purpose (logs, traces, the audit trail) are not judged.",
    severity: "high",
    remediation:
      "Replicate the document bucket to every other region (BucketReplicationConfig on the primary's bucket).",
    resourceTypes: [
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    ],
    tiers: ENTERPRISE,
    check: (r, ctx) => {
      const kms = list(r.props.rules).some(
        (rule) => text(get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm")) === "aws:kms",
      );
      // The store's access-log bucket is SSE-S3 (S3's log delivery cannot use a KMS key).
      if (!kms || !inComponent(r.urn, DOCUMENT_STORE)) return [];
      const bucket = r.propertyDependencies.bucket ?? [];
      const replicated = ctx.resources.some(
        (x) =>
          x.type === "aws:s3/bucketReplicationConfig:BucketReplicationConfig" &&
          (x.propertyDependencies.bucket ?? []).some((u) => bucket.includes(u)),
      );
      return replicated ? [] : ["the bucket is not replicated to another region"];
    },
  },
  {
    name: "aws-route53-regional-record-health-checked",
    area: "resilience",
    description:
      "Every regional Route 53 record (latency, weighted, failover, geo) has a health check, so an unhealthy region leaves the answers.",
    severity: "high",
    remediation: "Give the record a healthCheckId (a check of that region's /readyz).",
    resourceTypes: ["aws:route53/record:Record"],
    check: (r) => {
      const regional =
        text(r.props.setIdentifier) !== undefined ||
        ROUTING_POLICIES.some((k) => r.props[k] !== undefined);
      if (!regional) return [];
      return text(r.props.healthCheckId) || (r.propertyDependencies.healthCheckId ?? []).length > 0
        ? []
        : ["a regional answer without a health check stays in the answers when its region is down"];
    },
  },
  {
    name: "k8s-enterprise-workload-resilience",
    area: "resilience",
    description:
      "At enterprise every workload runs at least two replicas, spread over zones, with a PodDisruptionBudget. A standby held at 0 replicas by a paused KEDA ScaledObject has nothing to lose.",
    severity: "high",
    remediation:
      "Run 2+ replicas with a topologySpreadConstraint on topology.kubernetes.io/zone and a PodDisruptionBudget selecting them.",
    resourceTypes: [...REPLICATED_TYPES],
    tiers: ENTERPRISE,
    check: (r, ctx) =>
      podsOf(r).flatMap((pod) => {
        if (!pod.spec) return [cannotRead(pod, pod.specProblem!)];
        const replicas = get(pod.object, "spec.replicas");
        const n = typeof replicas === "number" ? replicas : 1;
        const labels = get(pod.object, "spec.selector.matchLabels");
        const selected = isObject(labels) ? labels : {};
        const budget = ctx.resources.some((p) => {
          const sel = get(p.props, "spec.selector.matchLabels");
          return (
            p.type === PDB &&
            isObject(sel) &&
            Object.keys(sel).length > 0 &&
            Object.entries(sel).every(([k, v]) => selected[k] === v)
          );
        });
        const spread = list(pod.spec.topologySpreadConstraints).some(
          (t) => get(t, "topologyKey") === ZONE,
        );
        const standby = n === 0 && pausedAtZero(r, ctx.resources);
        return [
          ...(n >= 2 || standby
            ? []
            : [`${pod.prefix}${n} replica: a zone's outage takes it down`]),
          ...(spread ? [] : [`${pod.prefix}replicas are not spread across zones`]),
          ...(budget ? [] : [`${pod.prefix}no PodDisruptionBudget`]),
        ];
      }),
  },
  {
    name: "k8s-enterprise-priority-class",
    area: "resilience",
    description:
      "At enterprise every pod-bearing workload names a PriorityClass, so that when the cluster runs short the scheduler keeps serving (the API, the model servers, the vector store) and lets batch ingest wait.",
    severity: "high",
    remediation:
      "Set priorityClassName on the pod template: rag-serving for what answers queries, rag-batch-ingest for ingest (components/kubernetes/priority-classes.ts).",
    resourceTypes: [...WORKLOAD_TYPES],
    tiers: ENTERPRISE,
    check: (r) =>
      podsOf(r).flatMap((pod) => {
        if (!pod.spec) return [cannotRead(pod, pod.specProblem!)];
        return text(pod.spec.priorityClassName)
          ? []
          : [
              `${pod.prefix}names no priorityClassName: when the cluster runs short, nothing tells serving from batch`,
            ];
      }),
  },
];
