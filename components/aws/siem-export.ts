/**
 * A region's export to the SIEM through Firehose: one delivery stream per audit stream (the
 * trail's CloudWatch Logs copy, the EKS control plane's audit log, the findings' log group, the
 * runtime's audit group), each subscribed to its log group and landing in an index of its own:
 * for Splunk's HTTP Event Collector through a token of its own (whose defaults name the index and
 * sourcetype), for any other HTTP endpoint (Elastic, Sentinel's, a log pipeline) through the
 * `es_datastream_name` attribute Elastic routes by. Each stream decompresses CloudWatch Logs'
 * batches and sends the log lines themselves. Credentials are read from Secrets Manager by Firehose
 * alone. Records Firehose cannot deliver land in an encrypted backup bucket.
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

/** The audit streams a region sends to the SIEM, each kept apart there. */
export const SIEM_STREAMS = ["cloudtrail", "eks-audit", "findings", "runtime-audit"] as const;
export type SiemStream = (typeof SIEM_STREAMS)[number];

/**
 * Where each stream lands: the index and sourcetype its Splunk HEC token sets, and the Elastic
 * data stream an HTTP endpoint is told (`logs-<dataset>-<namespace>`).
 */
export const SIEM_STREAM_INDEXES: Record<
  SiemStream,
  { readonly splunkIndex: string; readonly splunkSourcetype: string; readonly dataStream: string }
> = {
  cloudtrail: {
    splunkIndex: "rag_cloudtrail",
    splunkSourcetype: "aws:cloudtrail",
    dataStream: "logs-rag.cloudtrail-default",
  },
  "eks-audit": {
    splunkIndex: "rag_eks_audit",
    splunkSourcetype: "rag:eks:audit",
    dataStream: "logs-rag.eks_audit-default",
  },
  findings: {
    splunkIndex: "rag_findings",
    splunkSourcetype: "rag:findings",
    dataStream: "logs-rag.findings-default",
  },
  "runtime-audit": {
    splunkIndex: "rag_runtime_audit",
    splunkSourcetype: "rag:runtime:audit",
    dataStream: "logs-rag.runtime_audit-default",
  },
};

/** The attribute Elastic's Firehose endpoint routes a request to a data stream by. */
export const DATA_STREAM_ATTRIBUTE = "es_datastream_name";

export type SiemDestination =
  | { readonly kind: "splunk"; readonly hecEndpoint: string }
  /** Any endpoint speaking Firehose's HTTP delivery (Elastic, Sentinel's, Datadog...). */
  | { readonly kind: "http"; readonly name: string; readonly url: string };

/** One audit stream: its log group and the secret Firehose authenticates its delivery with. */
export interface SiemSource {
  readonly stream: SiemStream;
  readonly logGroupName: pulumi.Input<string>;
  /** Splunk: this stream's HEC token; http: the endpoint's access key (one for every stream). */
  readonly credentialArn: pulumi.Input<string>;
}

export interface SiemExportArgs {
  readonly account: AwsAccount;
  readonly destination: SiemDestination;
  /** Encrypts the backup bucket and the streams. */
  readonly kmsKey: KmsKey;
  /** The key the credentials' secrets are encrypted with (Firehose decrypts them). */
  readonly credentialKeyArn: pulumi.Input<string>;
  /** The streams, each delivered on its own; a stream appears once. */
  readonly sources: readonly SiemSource[];
  /** Days undeliverable records are kept in the backup bucket. @default 30 */
  readonly backupRetentionDays?: number;
  /** Where the backup bucket's server access logs go. @default - none recorded */
  readonly accessLogs?: AccessLogBucket;
}

function checkArgs(name: string, args: SiemExportArgs): void {
  const d = args.destination;
  const url = d.kind === "splunk" ? d.hecEndpoint : d.url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${name}: the SIEM endpoint must be an https URL, got "${url}"`);
  }
  if (parsed.protocol !== "https:")
    throw new Error(`${name}: the SIEM endpoint must be an https URL, got "${url}"`);
  const streams = args.sources.map((s) => s.stream);
  const twice = streams.filter((s, i) => streams.indexOf(s) !== i);
  if (twice.length > 0)
    throw new Error(`${name}: each stream is exported once, got ${twice.join(", ")} twice`);
  if (streams.length === 0) throw new Error(`${name}: no stream to export`);
}

/** Firehose unpacks CloudWatch Logs' gzipped batches and sends each log line as a record. */
const FROM_CLOUDWATCH_LOGS = {
  enabled: true,
  processors: [
    {
      type: "Decompression",
      parameters: [{ parameterName: "CompressionFormat", parameterValue: "GZIP" }],
    },
    {
      type: "CloudWatchLogProcessing",
      parameters: [{ parameterName: "DataMessageExtraction", parameterValue: "true" }],
    },
  ],
};

export class SiemExport extends pulumi.ComponentResource {
  /** Each stream's delivery stream ARN. */
  readonly streamArns: Partial<Record<SiemStream, pulumi.Output<string>>> = {};
  /** Every role this export creates, for the identity review. */
  readonly roles: aws.iam.Role[] = [];

  constructor(name: string, args: SiemExportArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:SiemExport", name, {}, opts);
    checkArgs(name, args);
    const backup = this.backupBucket(name, args);
    const credentials = [...new Set(args.sources.map((s) => s.credentialArn))];
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
        Sid: "ReadTheCredentials",
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource: credentials,
      },
      {
        Sid: "UseTheKeys",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Resource: [args.kmsKey.arn, args.credentialKeyArn],
      },
    ]);
    const streams = args.sources.map((source) => ({
      source,
      stream: this.deliveryStream(`${name}-${source.stream}`, source, args, firehoseRole, backup),
    }));
    const logsRole = this.role(`${name}-from-logs`, `logs.${args.account.region}.amazonaws.com`, [
      {
        Sid: "PutIntoTheStreams",
        Effect: "Allow",
        Action: ["firehose:PutRecord", "firehose:PutRecordBatch"],
        Resource: streams.map((s) => s.stream.arn),
      },
    ]);
    for (const { source, stream } of streams) {
      new aws.cloudwatch.LogSubscriptionFilter(
        `${name}-${source.stream}`,
        {
          logGroup: source.logGroupName,
          filterPattern: "",
          destinationArn: stream.arn,
          roleArn: logsRole.arn,
        },
        { parent: this },
      );
      this.streamArns[source.stream] = stream.arn;
    }
    this.registerOutputs({});
  }

  /** Where undeliverable records go: encrypted, private, expiring. */
  private backupBucket(name: string, args: SiemExportArgs): aws.s3.Bucket {
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
    return backup;
  }

  /** One stream's delivery: its own index (Splunk: its token's; http: the data stream named). */
  private deliveryStream(
    name: string,
    source: SiemSource,
    args: SiemExportArgs,
    role: aws.iam.Role,
    backup: aws.s3.Bucket,
  ): aws.kinesis.FirehoseDeliveryStream {
    const secrets = { enabled: true, secretArn: source.credentialArn, roleArn: role.arn };
    const s3Configuration = {
      roleArn: role.arn,
      bucketArn: backup.arn,
      compressionFormat: "GZIP",
      kmsKeyArn: args.kmsKey.arn,
      prefix: `${source.stream}/`,
      errorOutputPrefix: `${source.stream}-failed/`,
    };
    const d = args.destination;
    return new aws.kinesis.FirehoseDeliveryStream(
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
                // Raw: each log line as sent, under the token's index and sourcetype.
                hecEndpointType: "Raw",
                secretsManagerConfiguration: secrets,
                processingConfiguration: FROM_CLOUDWATCH_LOGS,
                s3BackupMode: "FailedEventsOnly",
                s3Configuration,
              },
            }
          : {
              destination: "http_endpoint",
              httpEndpointConfiguration: {
                name: d.name,
                url: d.url,
                roleArn: role.arn,
                secretsManagerConfiguration: secrets,
                processingConfiguration: FROM_CLOUDWATCH_LOGS,
                requestConfiguration: {
                  contentEncoding: "GZIP",
                  commonAttributes: [
                    {
                      name: DATA_STREAM_ATTRIBUTE,
                      value: SIEM_STREAM_INDEXES[source.stream].dataStream,
                    },
                  ],
                },
                s3BackupMode: "FailedDataOnly",
                s3Configuration,
              },
            }),
      },
      { parent: this },
    );
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
