import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { elbLogDeliveryPrincipal, type AwsAccount, type Statement } from "./account";
import type { KmsKey } from "./kms-key";
import { createVersionedBucket, logAccess, restrictBucket } from "./private-bucket";

/** What the runtime needs on the document bucket (its ECS task role, its EKS Pod Identity role): objects and their versions (secure delete), and the key. */
export function documentAccessStatements(
  bucketArn: pulumi.Input<string>,
  keyArn: pulumi.Input<string>,
): Statement[] {
  return [
    // Listing is an action on the bucket itself: granted on its objects (`bucket/*`), S3 refuses it.
    {
      Sid: "ListDocuments",
      Effect: "Allow",
      Action: ["s3:ListBucket", "s3:ListBucketVersions"],
      Resource: bucketArn,
    },
    {
      Sid: "ReadWriteDocuments",
      Effect: "Allow",
      Action: [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:GetObjectVersion",
      ],
      Resource: pulumi.interpolate`${bucketArn}/*`,
    },
    {
      Sid: "UseTheDocumentKey",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: keyArn,
    },
  ];
}

/**
 * What a region's runtime needs on its replica of the primary's document bucket (enterprise): to
 * read its copies, and to remove every version of a deleted document's (secure deletion, which S3
 * replication does not carry). No write: uploads go to the primary's bucket.
 */
export function replicaAccessStatements(
  bucketArn: pulumi.Input<string>,
  keyArn: pulumi.Input<string>,
): Statement[] {
  return [
    {
      Sid: "ListReplicaVersions",
      Effect: "Allow",
      Action: ["s3:ListBucket", "s3:ListBucketVersions"],
      Resource: bucketArn,
    },
    {
      Sid: "ReadAndSecurelyDeleteReplicas",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion"],
      Resource: pulumi.interpolate`${bucketArn}/*`,
    },
    { Sid: "DecryptReplicas", Effect: "Allow", Action: "kms:Decrypt", Resource: keyArn },
  ];
}

/** Where a load balancer writes its access logs: the log bucket, under a prefix it may write to. */
export interface LoadBalancerLogs {
  readonly bucket: pulumi.Output<string>;
  readonly prefix: string;
  /** The bucket policy that lets Elastic Load Balancing write there (AWS checks it when logging is turned on). */
  readonly grant: pulumi.Resource;
}

/** The prefix of load balancer access logs in the log bucket. */
export const LOAD_BALANCER_LOG_PREFIX = "alb";

export interface DocumentStoreArgs {
  readonly account: AwsAccount;
  /** Encrypts documents (SSE-KMS with a bucket key). */
  readonly kmsKey: KmsKey;
  /** Days a replaced or deleted document version is kept before it expires. */
  readonly noncurrentVersionRetentionDays: number;
  /** Days access logs are kept. @default 90 */
  readonly accessLogRetentionDays?: number;
  /** Keep the buckets (and their objects) when the stack is destroyed. @default true */
  readonly retainOnDelete?: boolean;
}

/**
 * The document bucket: SSE-KMS, versioning, every public access blocked, TLS-only, old versions
 * expiring after the retention, server access logs to a second bucket (SSE-S3, the only encryption
 * S3 and load balancer log delivery write to) with the same protections and an expiry. The API's
 * load balancer writes its access logs to that bucket too (`loadBalancerLogs`).
 */
export class DocumentStore extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly logBucketName: pulumi.Output<string>;
  readonly loadBalancerLogs: LoadBalancerLogs;

  constructor(name: string, args: DocumentStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:DocumentStore", name, {}, opts);
    const retain = args.retainOnDelete ?? true;
    const logs = createVersionedBucket(`${name}-access-logs`, retain, this);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-access-logs`,
      {
        bucket: logs.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
      },
      { parent: this },
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-access-logs`,
      {
        bucket: logs.id,
        rules: [
          {
            id: "expire-access-logs",
            status: "Enabled",
            filter: {},
            expiration: { days: args.accessLogRetentionDays ?? 90 },
            noncurrentVersionExpiration: { noncurrentDays: 1 },
          },
        ],
      },
      { parent: this },
    );
    const logsPolicy = restrictBucket(this, `${name}-access-logs`, logs, [
      {
        Sid: "S3ServerAccessLogsDelivery",
        Effect: "Allow" as const,
        Principal: { Service: "logging.s3.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: pulumi.interpolate`${logs.arn}/*`,
        Condition: { StringEquals: { "aws:SourceAccount": args.account.accountId } },
      },
      {
        // Only this account's load balancers, only under their prefix.
        Sid: "LoadBalancerAccessLogsDelivery",
        Effect: "Allow" as const,
        Principal: elbLogDeliveryPrincipal({ parent: this }),
        Action: "s3:PutObject",
        Resource: pulumi.interpolate`${logs.arn}/${LOAD_BALANCER_LOG_PREFIX}/AWSLogs/${args.account.accountId}/*`,
      },
    ]);
    this.loadBalancerLogs = {
      bucket: logs.bucket,
      prefix: LOAD_BALANCER_LOG_PREFIX,
      grant: logsPolicy,
    };

    const bucket = createVersionedBucket(name, retain, this);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      name,
      {
        bucket: bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: {
              sseAlgorithm: "aws:kms",
              kmsMasterKeyId: args.kmsKey.arn,
            },
            bucketKeyEnabled: true,
          },
        ],
      },
      { parent: this },
    );
    new aws.s3.BucketLifecycleConfiguration(
      name,
      {
        bucket: bucket.id,
        rules: [
          {
            id: "expire-old-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionRetentionDays },
          },
          {
            id: "abort-incomplete-uploads",
            status: "Enabled",
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
          },
        ],
      },
      { parent: this },
    );
    logAccess(this, name, bucket, { bucket: logs.id }, "documents/");
    restrictBucket(this, name, bucket, []);

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.logBucketName = logs.bucket;
    this.registerOutputs({ bucketName: this.bucketName });
  }
}
