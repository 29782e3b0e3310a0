/** Compliant and violating cases for the enterprise tier's multi-region rules (aws v7 and kubernetes shapes). */
import type { ResourceView } from "../../policies/rules/types";
import type { RuleCase } from "./cases";
import { res } from "./fixtures";

const KEY = "arn:aws:kms:eu-west-1:123456789012:key/mrk-abc";
const one = (r: ResourceView) => [r];

const aurora = {
  engine: "aurora-postgresql",
  storageEncrypted: true,
  kmsKeyId: KEY,
  iamDatabaseAuthenticationEnabled: true,
  deletionProtection: true,
  backupRetentionPeriod: 35,
};
const msk = {
  clientAuthentication: { sasl: { iam: true }, unauthenticated: false },
  encryptionInfo: {
    encryptionAtRestKmsKeyArn: KEY,
    encryptionInTransit: { clientBroker: "TLS", inCluster: true },
  },
  brokerNodeGroupInfo: { connectivityInfo: { publicAccess: { type: "DISABLED" } } },
  loggingInfo: { brokerLogs: { cloudwatchLogs: { enabled: true, logGroup: "/aws/msk/x" } } },
};
const replicationRule = {
  id: "to-eu-central-1",
  status: "Enabled",
  sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
  destination: { bucket: "arn:aws:s3:::b", encryptionConfiguration: { replicaKmsKeyId: KEY } },
};
const patch = (base: Record<string, unknown>, path: string, value: unknown) => {
  const copy = structuredClone(base);
  const keys = path.split(".");
  let o = copy;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
  if (value === undefined) delete o[keys.at(-1)!];
  else o[keys.at(-1)!] = value;
  return copy;
};

const bucket = res("aws:s3/bucket:Bucket", {});
const sse = () =>
  res(
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    {
      rules: [
        { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY } },
      ],
    },
    { bucket: [bucket] },
  );
/** The resource as a child of the document store component (its URN's type chain says so). */
const documentStore = (r: ResourceView): ResourceView => ({
  ...r,
  urn: r.urn.replace("::aws:s3/", "::rag:aws:DocumentStore$aws:s3/"),
});
const replication = res(
  "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
  { rules: [replicationRule] },
  { bucket: [bucket] },
);

const LABELS = { "app.kubernetes.io/name": "api" };
const ZONE_SPREAD = [
  { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule" },
];
const workload = (replicas: number, spread = ZONE_SPREAD) =>
  res("kubernetes:apps/v1:Deployment", {
    spec: {
      replicas,
      selector: { matchLabels: LABELS },
      template: {
        metadata: { labels: LABELS },
        spec: { containers: [{ name: "c", image: "i" }], topologySpreadConstraints: spread },
      },
    },
  });
const pdb = res("kubernetes:policy/v1:PodDisruptionBudget", {
  spec: { maxUnavailable: 1, selector: { matchLabels: LABELS } },
});
/** A Deployment named `name` in namespace rag, `replicas` of a pod naming `priorityClassName`. */
const named = (name: string, replicas: number, priorityClassName?: string) =>
  res("kubernetes:apps/v1:Deployment", {
    metadata: { name, namespace: "rag" },
    spec: {
      replicas,
      selector: { matchLabels: LABELS },
      template: {
        metadata: { labels: LABELS },
        spec: {
          containers: [{ name: "c", image: "i" }],
          topologySpreadConstraints: ZONE_SPREAD,
          ...(priorityClassName ? { priorityClassName } : {}),
        },
      },
    },
  });
/** KEDA's ScaledObject of Deployment `target`, held at 0 (a standby) when `paused`. */
const scaler = (target: string, paused: boolean) =>
  res("kubernetes:keda.sh/v1alpha1:ScaledObject", {
    metadata: {
      name: target,
      namespace: "rag",
      ...(paused ? { annotations: { "autoscaling.keda.sh/paused-replicas": "0" } } : {}),
    },
    spec: { scaleTargetRef: { name: target }, minReplicaCount: 2, maxReplicaCount: 12 },
  });
const healthCheck = res("aws:route53/healthCheck:HealthCheck", { type: "HTTPS" });
const record = (extra: Record<string, unknown>, links: Record<string, ResourceView[]> = {}) =>
  res(
    "aws:route53/record:Record",
    {
      name: "rag.example.com",
      type: "CNAME",
      records: ["lb"],
      setIdentifier: "eu-west-1",
      latencyRoutingPolicies: [{ region: "eu-west-1" }],
      ...extra,
    },
    links,
  );

/** A primary's cluster, its password's secret and version, and that secret's rotation (when given). */
const passwordKept = (rotation?: Record<string, unknown>) => {
  const password = res("random:index/randomPassword:RandomPassword", { length: 40 });
  const cluster = res(
    "aws:rds/cluster:Cluster",
    { ...aurora, masterUsername: "rag_admin", masterPassword: "[secret]" },
    { masterPassword: [password] },
  );
  const secret = res("aws:secretsmanager/secret:Secret", { kmsKeyId: KEY });
  const version = res(
    "aws:secretsmanager/secretVersion:SecretVersion",
    { secretString: "[secret]" },
    { secretId: [secret], secretString: [password] },
  );
  const fn = res("aws:serverlessrepository/cloudFormationStack:CloudFormationStack", {});
  const rotations = rotation
    ? [
        res("aws:secretsmanager/secretRotation:SecretRotation", rotation, {
          secretId: [secret],
          rotationLambdaArn: [fn],
        }),
      ]
    : [];
  return [password, cluster, secret, version, fn, ...rotations];
};
const ROTATION = { rotationRules: { automaticallyAfterDays: 30 } };

export const MULTI_REGION_CASES: Record<string, RuleCase> = {
  "aws-aurora-protected": {
    compliant: one(res("aws:rds/cluster:Cluster", aurora)),
    violating: {
      unencrypted: one(res("aws:rds/cluster:Cluster", { ...aurora, storageEncrypted: false })),
      "AWS's key": one(res("aws:rds/cluster:Cluster", patch(aurora, "kmsKeyId", undefined))),
      "no IAM auth": one(
        res("aws:rds/cluster:Cluster", { ...aurora, iamDatabaseAuthenticationEnabled: false }),
      ),
      "short backups": one(res("aws:rds/cluster:Cluster", { ...aurora, backupRetentionPeriod: 7 })),
      deletable: one(res("aws:rds/cluster:Cluster", { ...aurora, deletionProtection: false })),
    },
  },
  "aws-aurora-password-rotated": {
    compliant: [
      ...passwordKept(ROTATION),
      res("aws:rds/cluster:Cluster", { ...aurora, manageMasterUserPassword: true }),
      // A global database's secondary: no password of its own.
      res("aws:rds/cluster:Cluster", { ...aurora, globalClusterIdentifier: "g" }),
    ],
    violating: {
      "never rotated": passwordKept(),
      "rotation turned off": passwordKept({ rotationEnabled: false }),
      "no schedule": passwordKept({}),
      "a literal password": one(res("aws:rds/cluster:Cluster", { ...aurora, masterPassword: "x" })),
    },
  },
  "aws-msk-encrypted-private": {
    compliant: one(res("aws:msk/cluster:Cluster", msk)),
    violating: {
      "plaintext clients": one(
        res(
          "aws:msk/cluster:Cluster",
          patch(msk, "encryptionInfo.encryptionInTransit.clientBroker", "TLS_PLAINTEXT"),
        ),
      ),
      "plaintext between brokers": one(
        res(
          "aws:msk/cluster:Cluster",
          patch(msk, "encryptionInfo.encryptionInTransit.inCluster", false),
        ),
      ),
      "AWS's key": one(
        res(
          "aws:msk/cluster:Cluster",
          patch(msk, "encryptionInfo.encryptionAtRestKmsKeyArn", undefined),
        ),
      ),
      unauthenticated: one(
        res(
          "aws:msk/cluster:Cluster",
          patch(msk, "clientAuthentication", { unauthenticated: true }),
        ),
      ),
      public: one(
        res(
          "aws:msk/cluster:Cluster",
          patch(
            msk,
            "brokerNodeGroupInfo.connectivityInfo.publicAccess.type",
            "SERVICE_PROVIDED_EIPS",
          ),
        ),
      ),
      "no broker logs": one(
        res(
          "aws:msk/cluster:Cluster",
          patch(msk, "loggingInfo.brokerLogs.cloudwatchLogs.enabled", false),
        ),
      ),
    },
  },
  "aws-s3-replication-encrypted": {
    compliant: one(
      res("aws:s3/bucketReplicationConfig:BucketReplicationConfig", { rules: [replicationRule] }),
    ),
    violating: {
      "replicas on AWS's key": one(
        res("aws:s3/bucketReplicationConfig:BucketReplicationConfig", {
          rules: [patch(replicationRule, "destination.encryptionConfiguration", undefined)],
        }),
      ),
      "KMS objects left behind": one(
        res("aws:s3/bucketReplicationConfig:BucketReplicationConfig", {
          rules: [patch(replicationRule, "sourceSelectionCriteria", undefined)],
        }),
      ),
      "no rule": one(res("aws:s3/bucketReplicationConfig:BucketReplicationConfig", { rules: [] })),
    },
  },
  "aws-s3-documents-replicated": {
    compliant: [bucket, documentStore(sse()), replication],
    violating: { "not replicated": [bucket, documentStore(sse())] },
  },
  "aws-route53-regional-record-health-checked": {
    compliant: [
      healthCheck,
      record({ healthCheckId: "hc-1" }, { healthCheckId: [healthCheck] }),
      res("aws:route53/record:Record", { name: "a", type: "CNAME", records: ["b"] }),
    ],
    violating: { "latency record without a check": one(record({})) },
  },
  "k8s-enterprise-workload-resilience": {
    // A stand-by ingest stage, held at 0 by its paused scaler, has nothing a zone could take down.
    compliant: [workload(2), pdb, named("rag-ingest-parse", 0), scaler("rag-ingest-parse", true)],
    violating: {
      "one replica": [workload(1), pdb],
      "no zone spread": [workload(3, []), pdb],
      "no budget": [workload(3)],
      "0 replicas, scaler not paused": [
        named("rag-ingest-parse", 0),
        scaler("rag-ingest-parse", false),
        pdb,
      ],
      "0 replicas, another workload's scaler paused": [
        named("rag-ingest-parse", 0),
        scaler("rag-ingest-embed", true),
        pdb,
      ],
    },
  },
  "k8s-enterprise-priority-class": {
    compliant: [
      named("rag-api", 2, "rag-serving"),
      named("rag-ingest-index", 2, "rag-batch-ingest"),
    ],
    violating: {
      "no priority class": one(named("rag-api", 2)),
      "an empty one": one(named("rag-api", 2, "")),
      "a Job without one": one(
        res("kubernetes:batch/v1:Job", {
          spec: {
            template: { spec: { containers: [{ name: "c", image: "i" }], restartPolicy: "Never" } },
          },
        }),
      ),
    },
  },
};
