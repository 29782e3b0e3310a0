/**
 * A region's export to the SIEM: one Firehose stream to Splunk's HTTP Event Collector or to any
 * HTTP endpoint (Elastic, Microsoft Sentinel's, a log pipeline), its credential read from Secrets
 * Manager by Firehose alone, and what feeds it: the CloudWatch
 * Logs groups named (CloudTrail's copy, the EKS control plane's audit log) through subscription
 * filters, and GuardDuty, Security Hub and Macie findings through EventBridge. Records Firehose
 * cannot deliver land in an encrypted backup bucket.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumedBy, policyDocument, type AwsAccount, type Statement } from "./account";
import type { KmsKey } from "./kms-key";
import {
  createVersionedBucket,
  logAccess,
  restrictBucket,
  type AccessLogBucket,
} from "./private-bucket";

export type SiemDestination =
  | { readonly kind: "splunk"; readonly hecEndpoint: string }
  /** Any endpoint speaking Firehose's HTTP delivery (Elastic, Sentinel's, Datadog...). */
  | { readonly kind: "http"; readonly name: string; readonly url: string };

export interface SiemExportArgs {
  readonly account: AwsAccount;
  readonly destination: SiemDestination;
  /** Encrypts the backup bucket and the stream. */
  readonly kmsKey: KmsKey;
  /**
   * The credential (Splunk's HEC token, or the endpoint's access key) in Secrets Manager, which
   * the operator fills, and the key it is encrypted with: Firehose alone reads it.
   */
  readonly credential: {
    readonly arn: pulumi.Input<string>;
    readonly keyArn: pulumi.Input<string>;
  };
  /** Log groups whose every event goes to the SIEM. */
  readonly logGroups: ReadonlyArray<{ readonly id: string; readonly name: pulumi.Input<string> }>;
  /** Days undeliverable records are kept in the backup bucket. @default 30 */
  readonly backupRetentionDays?: number;
  /** Where the backup bucket's server access logs go. @default - none recorded */
  readonly accessLogs?: AccessLogBucket;
}

/** The sources of findings EventBridge forwards. */
export const FINDING_SOURCES = ["aws.guardduty", "aws.securityhub", "aws.macie"] as const;

function checkDestination(name: string, d: SiemDestination): void {
  const url = d.kind === "splunk" ? d.hecEndpoint : d.url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${name}: the SIEM endpoint must be an https URL, got "${url}"`);
  }
  if (parsed.protocol !== "https:")
    throw new Error(`${name}: the SIEM endpoint must be an https URL, got "${url}"`);
}

export class SiemExport extends pulumi.ComponentResource {
  readonly streamArn: pulumi.Output<string>;
  /** Every role this export creates, for the identity review. */
  readonly roles: aws.iam.Role[] = [];

  constructor(name: string, args: SiemExportArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:SiemExport", name, {}, opts);
    checkDestination(name, args.destination);
    const parent = { parent: this };

    const backup = createVersionedBucket(`${name}-backup`, true, this);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-backup`,
      {
        bucket: backup.id,
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
      parent,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-backup`,
      {
        bucket: backup.id,
        rules: [
          {
            id: "expire-undelivered",
            status: "Enabled",
            filter: {},
            expiration: { days: args.backupRetentionDays ?? 30 },
            noncurrentVersionExpiration: { noncurrentDays: 1 },
          },
        ],
      },
      parent,
    );
    restrictBucket(this, `${name}-backup`, backup, []);
    if (args.accessLogs) logAccess(this, `${name}-backup`, backup, args.accessLogs, "siem-backup/");

    const firehoseRole = this.role(`${name}-firehose`, "firehose.amazonaws.com", [
      {
        Sid: "WriteUndelivered",
        Effect: "Allow",
        Action: [
          "s3:PutObject",
          "s3:AbortMultipartUpload",
          "s3:GetBucketLocation",
          "s3:ListBucket",
        ],
        Resource: [backup.arn, pulumi.interpolate`${backup.arn}/*`],
      },
      {
        Sid: "ReadTheCredential",
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource: args.credential.arn,
      },
      {
        Sid: "UseTheKeys",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Resource: [args.kmsKey.arn, args.credential.keyArn],
      },
    ]);
    const secrets = {
      enabled: true,
      secretArn: args.credential.arn,
      roleArn: firehoseRole.arn,
    };
    const s3Configuration = {
      roleArn: firehoseRole.arn,
      bucketArn: backup.arn,
      compressionFormat: "GZIP",
      kmsKeyArn: args.kmsKey.arn,
    };
    const d = args.destination;
    const stream = new aws.kinesis.FirehoseDeliveryStream(
      name,
      {
        name,
        serverSideEncryption: {
          enabled: true,
          keyType: "CUSTOMER_MANAGED_CMK",
          keyArn: args.kmsKey.arn,
        },
        ...(d.kind === "splunk"
          ? {
              destination: "splunk",
              splunkConfiguration: {
                hecEndpoint: d.hecEndpoint,
                hecEndpointType: "Event",
                secretsManagerConfiguration: secrets,
                s3BackupMode: "FailedEventsOnly",
                s3Configuration,
              },
            }
          : {
              destination: "http_endpoint",
              httpEndpointConfiguration: {
                name: d.name,
                url: d.url,
                roleArn: firehoseRole.arn,
                secretsManagerConfiguration: secrets,
                requestConfiguration: { contentEncoding: "GZIP" },
                s3BackupMode: "FailedDataOnly",
                s3Configuration,
              },
            }),
      },
      parent,
    );
    const put: Statement = {
      Sid: "PutIntoTheStream",
      Effect: "Allow",
      Action: ["firehose:PutRecord", "firehose:PutRecordBatch"],
      Resource: stream.arn,
    };

    const { region } = args.account;
    const logsRole = this.role(`${name}-from-logs`, `logs.${region}.amazonaws.com`, [put]);
    for (const group of args.logGroups)
      new aws.cloudwatch.LogSubscriptionFilter(
        `${name}-${group.id}`,
        {
          logGroup: group.name,
          filterPattern: "",
          destinationArn: stream.arn,
          roleArn: logsRole.arn,
        },
        parent,
      );

    const eventsRole = this.role(`${name}-from-events`, "events.amazonaws.com", [put]);
    const findings = new aws.cloudwatch.EventRule(
      `${name}-findings`,
      {
        description: "GuardDuty, Security Hub and Macie findings to the SIEM",
        eventPattern: JSON.stringify({ source: [...FINDING_SOURCES] }),
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-findings`,
      { rule: findings.name, arn: stream.arn, roleArn: eventsRole.arn },
      parent,
    );
    this.streamArn = stream.arn;
    this.registerOutputs({ streamArn: this.streamArn });
  }

  private role(name: string, service: string, statements: Statement[]): aws.iam.Role {
    const role = new aws.iam.Role(name, { assumeRolePolicy: assumedBy(service) }, { parent: this });
    new aws.iam.RolePolicy(
      name,
      { role: role.id, policy: policyDocument(statements) },
      { parent: this },
    );
    this.roles.push(role);
    return role;
  }
}
