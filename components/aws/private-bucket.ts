import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument, type Statement } from "./account";

/** A bucket with owner-enforced objects and versioning (deletes and overwrites can be undone). */
export function createVersionedBucket(
  name: string,
  retain: boolean,
  parent: pulumi.Resource,
  more: Partial<aws.s3.BucketArgs> = {},
): aws.s3.Bucket {
  const bucket = new aws.s3.Bucket(
    name,
    { bucketPrefix: `${name}-`.slice(0, 37), forceDestroy: !retain, ...more },
    { parent, retainOnDelete: retain },
  );
  new aws.s3.BucketOwnershipControls(
    name,
    { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
    { parent },
  );
  new aws.s3.BucketVersioning(
    name,
    { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
    { parent },
  );
  return bucket;
}

/** Blocks all public access and denies any request not made over TLS 1.2+. */
export function restrictBucket(
  parent: pulumi.Resource,
  name: string,
  bucket: aws.s3.Bucket,
  extra: readonly Statement[],
): aws.s3.BucketPolicy {
  const block = new aws.s3.BucketPublicAccessBlock(
    name,
    {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    { parent },
  );
  const objects = [bucket.arn, pulumi.interpolate`${bucket.arn}/*`];
  return new aws.s3.BucketPolicy(
    name,
    {
      bucket: bucket.id,
      policy: policyDocument([
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: objects,
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
        {
          Sid: "DenyOutdatedTls",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: objects,
          Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
        },
        ...extra,
      ]),
    },
    { parent, dependsOn: [block] },
  );
}

/** A bucket that receives other buckets' server access logs (S3's log delivery may write to it). */
export interface AccessLogBucket {
  readonly bucket: pulumi.Input<string>;
}

/** `bucket`'s server access logs go to `logs`, under `prefix` ("documents/"). */
export function logAccess(
  parent: pulumi.Resource,
  name: string,
  bucket: aws.s3.Bucket,
  logs: AccessLogBucket,
  prefix: string,
): aws.s3.BucketLogging {
  return new aws.s3.BucketLogging(
    name,
    { bucket: bucket.id, targetBucket: logs.bucket, targetPrefix: prefix },
    { parent },
  );
}
