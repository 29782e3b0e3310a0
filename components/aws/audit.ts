/**
 * The account's audit trail: a multi-region CloudTrail with log file validation, encrypted with
 * its own KMS key, written to a bucket under S3 Object Lock in compliance mode (no one, root
 * included, deletes or shortens a record before its retention ends), with the documents'
 * object-level reads, writes and deletes, and a copy in CloudWatch Logs the SIEM export reads.
 * One per account, in the primary region.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumedBy, policyDocument, type AwsAccount } from "./account";
import { KmsKey } from "./kms-key";
import {
  createVersionedBucket,
  logAccess,
  restrictBucket,
  type AccessLogBucket,
} from "./private-bucket";

export interface AuditTrailArgs {
  readonly account: AwsAccount;
  /** Days each record is locked (compliance mode) and kept. */
  readonly retentionDays: number;
  /** Buckets whose object-level API calls (data events) the trail records: the documents'. */
  readonly dataEventBucketArns: readonly pulumi.Input<string>[];
  /** Days the CloudWatch Logs copy is kept (the locked bucket is the record). @default 90 */
  readonly logGroupRetentionDays?: number;
  /** Where the trail bucket's server access logs go. @default - none recorded */
  readonly accessLogs?: AccessLogBucket;
}

/** The longest Object Lock retention S3 accepts, in days (100 years). */
const MAX_LOCK_DAYS = 36500;

export class AuditTrail extends pulumi.ComponentResource {
  readonly trailArn: pulumi.Output<string>;
  readonly bucketName: pulumi.Output<string>;
  /** The CloudWatch Logs copy, which the SIEM export subscribes to. */
  readonly logGroupName: pulumi.Output<string>;
  readonly logGroupArn: pulumi.Output<string>;
  readonly kmsKey: KmsKey;

  constructor(name: string, args: AuditTrailArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:AuditTrail", name, {}, opts);
    const days = args.retentionDays;
    if (!Number.isInteger(days) || days < 1 || days > MAX_LOCK_DAYS)
      throw new Error(
        `${name}: retentionDays must be a whole number of days from 1 to ${MAX_LOCK_DAYS}, got ${days}`,
      );
    const { accountId, partition, region } = args.account;
    const trailName = name;
    const trailArn = pulumi.interpolate`arn:${partition}:cloudtrail:${region}:${accountId}:trail/${trailName}`;
    this.kmsKey = new KmsKey(
      `${name}-key`,
      {
        account: args.account,
        description: "CloudTrail log files and their CloudWatch Logs copy",
        allowServicePrincipals: ["cloudtrail.amazonaws.com"],
        servicesDescribeKey: true,
        allowCloudWatchLogs: true,
        retainOnDelete: true,
      },
      { parent: this },
    );

    // Object Lock is chosen when a bucket is created; the records outlive the stack.
    const bucket = createVersionedBucket(name, true, this, { objectLockEnabled: true });
    const lock = new aws.s3.BucketObjectLockConfiguration(
      name,
      {
        bucket: bucket.id,
        objectLockEnabled: "Enabled",
        rule: { defaultRetention: { mode: "COMPLIANCE", days } },
      },
      { parent: this },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      name,
      {
        bucket: bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: {
              sseAlgorithm: "aws:kms",
              kmsMasterKeyId: this.kmsKey.arn,
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
            id: "expire-after-retention",
            status: "Enabled",
            filter: {},
            expiration: { days },
            noncurrentVersionExpiration: { noncurrentDays: 1 },
          },
        ],
      },
      { parent: this },
    );
    if (args.accessLogs) logAccess(this, name, bucket, args.accessLogs, "audit-trail/");
    const onlyThisTrail = { StringEquals: { "aws:SourceArn": trailArn } };
    const grant = restrictBucket(this, name, bucket, [
      {
        Sid: "CloudTrailChecksAcl",
        Effect: "Allow",
        Principal: { Service: "cloudtrail.amazonaws.com" },
        Action: "s3:GetBucketAcl",
        Resource: bucket.arn,
        Condition: onlyThisTrail,
      },
      {
        Sid: "CloudTrailWrites",
        Effect: "Allow",
        Principal: { Service: "cloudtrail.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: pulumi.interpolate`${bucket.arn}/AWSLogs/${accountId}/*`,
        Condition: {
          StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trailArn },
        },
      },
    ]);

    const logGroup = new aws.cloudwatch.LogGroup(
      name,
      {
        name: `/rag/audit/${name}`,
        retentionInDays: args.logGroupRetentionDays ?? 90,
        kmsKeyId: this.kmsKey.arn,
      },
      { parent: this },
    );
    const role = new aws.iam.Role(
      `${name}-to-logs`,
      { assumeRolePolicy: assumedBy("cloudtrail.amazonaws.com") },
      { parent: this },
    );
    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-to-logs`,
      {
        role: role.id,
        policy: policyDocument([
          {
            Sid: "WriteTheTrailsStream",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: pulumi.interpolate`${logGroup.arn}:log-stream:${accountId}_CloudTrail_${region}*`,
          },
        ]),
      },
      { parent: this },
    );

    const trail = new aws.cloudtrail.Trail(
      name,
      {
        name: trailName,
        s3BucketName: bucket.bucket,
        isMultiRegionTrail: true,
        includeGlobalServiceEvents: true,
        enableLogFileValidation: true,
        kmsKeyId: this.kmsKey.arn,
        cloudWatchLogsGroupArn: pulumi.interpolate`${logGroup.arn}:*`,
        cloudWatchLogsRoleArn: role.arn,
        advancedEventSelectors: [
          {
            name: "Management events",
            fieldSelectors: [{ field: "eventCategory", equals: ["Management"] }],
          },
          ...(args.dataEventBucketArns.length
            ? [
                {
                  name: "Document reads, writes and deletes",
                  fieldSelectors: [
                    { field: "eventCategory", equals: ["Data"] },
                    { field: "resources.type", equals: ["AWS::S3::Object"] },
                    {
                      field: "resources.ARN",
                      startsWiths: args.dataEventBucketArns.map(
                        (arn) => pulumi.interpolate`${arn}/`,
                      ),
                    },
                  ],
                },
              ]
            : []),
        ],
      },
      { parent: this, dependsOn: [grant, lock, rolePolicy] },
    );
    this.trailArn = trail.arn;
    this.bucketName = bucket.bucket;
    this.logGroupName = logGroup.name;
    this.logGroupArn = logGroup.arn;
    this.registerOutputs({ trailArn: this.trailArn, bucketName: this.bucketName });
  }
}
