import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumedBy, policyDocument, type Statement } from "./account";
import type { DocumentStore } from "./document-store";
import type { KmsKey } from "./kms-key";

/** A document store and the key its objects are encrypted with. */
export interface ReplicatedStore {
  readonly store: DocumentStore;
  readonly key: KmsKey;
}

export interface DocumentReplicationArgs {
  /** The primary's store: where uploads land. */
  readonly source: ReplicatedStore;
  /** Every other region's store, with its region (its key is the multi-region key's replica). */
  readonly destinations: readonly (ReplicatedStore & { readonly region: string })[];
  /** Minutes within which S3 Replication Time Control replicates 99.99% of objects. @default 15 */
  readonly replicationMinutes?: number;
}

/**
 * S3 replication of the document bucket from the primary to every other region: each object
 * (SSE-KMS) re-encrypted with the destination's key, Replication Time Control (15 minutes) with
 * its metrics, and replica modification sync both ways, so a change a region makes to a replica's
 * metadata comes back. Versioning and the lifecycle are each bucket's own (DocumentStore).
 *
 * Deleting a version is never replicated by S3: secure deletion removes each region's copy itself
 * (the runtime's index role, OBJECT_STORE_REPLICA_URL). Delete markers (a plain DELETE, which the
 * runtime never sends) go from the primary to the replicas, so a replica hides what the primary
 * hides; never back: a marker left on a replica must not hide the primary's original.
 */
export function replicateDocuments(
  name: string,
  args: DocumentReplicationArgs,
  opts: pulumi.CustomResourceOptions,
): { roleArn: pulumi.Output<string>; configs: aws.s3.BucketReplicationConfig[] } {
  const all = [args.source, ...args.destinations];
  const role = new aws.iam.Role(
    name,
    { namePrefix: `${name}-`.slice(0, 38), assumeRolePolicy: assumedBy("s3.amazonaws.com") },
    opts,
  );
  const statements: Statement[] = [
    {
      Sid: "ReadTheSources",
      Effect: "Allow",
      Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"],
      Resource: all.map((s) => s.store.bucketArn),
    },
    {
      Sid: "ReadTheObjects",
      Effect: "Allow",
      Action: [
        "s3:GetObjectVersionForReplication",
        "s3:GetObjectVersionAcl",
        "s3:GetObjectVersionTagging",
        "s3:GetObjectRetention",
        "s3:GetObjectLegalHold",
      ],
      Resource: all.map((s) => pulumi.interpolate`${s.store.bucketArn}/*`),
    },
    {
      Sid: "WriteTheReplicas",
      Effect: "Allow",
      Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
      Resource: all.map((s) => pulumi.interpolate`${s.store.bucketArn}/*`),
    },
    {
      Sid: "DecryptTheSources",
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: all.map((s) => s.key.arn),
    },
    {
      Sid: "EncryptTheReplicas",
      Effect: "Allow",
      Action: ["kms:Encrypt", "kms:GenerateDataKey"],
      Resource: all.map((s) => s.key.arn),
    },
  ];
  const policy = new aws.iam.RolePolicy(
    name,
    { role: role.id, policy: policyDocument(statements) },
    opts,
  );
  const minutes = args.replicationMinutes ?? 15;
  const rule = (id: string, priority: number, to: ReplicatedStore, deleteMarkers: boolean) => ({
    id,
    priority,
    status: "Enabled",
    filter: {},
    deleteMarkerReplication: { status: deleteMarkers ? "Enabled" : "Disabled" },
    sourceSelectionCriteria: {
      sseKmsEncryptedObjects: { status: "Enabled" },
      replicaModifications: { status: "Enabled" },
    },
    destination: {
      bucket: to.store.bucketArn,
      encryptionConfiguration: { replicaKmsKeyId: to.key.arn },
      replicationTime: { status: "Enabled", time: { minutes } },
      metrics: { status: "Enabled", eventThreshold: { minutes } },
    },
  });
  const outbound = new aws.s3.BucketReplicationConfig(
    name,
    {
      bucket: args.source.store.bucketName,
      role: role.arn,
      rules: args.destinations.map((d, i) => rule(`to-${d.region}`, i + 1, d, true)),
    },
    { ...opts, dependsOn: [policy] },
  );
  // Each replica's changes (metadata, tags) come back to the primary: replica modification sync.
  const inbound = args.destinations.map(
    (d) =>
      new aws.s3.BucketReplicationConfig(
        `${name}-${d.region}`,
        {
          region: d.region,
          bucket: d.store.bucketName,
          role: role.arn,
          rules: [rule("to-primary", 1, args.source, false)],
        },
        { ...opts, dependsOn: [policy] },
      ),
  );
  return { roleArn: role.arn, configs: [outbound, ...inbound] };
}
