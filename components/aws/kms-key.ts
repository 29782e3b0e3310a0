import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument, type AwsAccount, type Statement } from "./account";

export interface KmsKeyArgs {
  readonly account: AwsAccount;
  readonly description: string;
  /** Let CloudWatch Logs in this region encrypt log groups of this account with the key. @default false */
  readonly allowCloudWatchLogs?: boolean;
  /** AWS services (e.g. "cloudwatch.amazonaws.com" for alarms to an encrypted topic) that may use the key. @default - none */
  readonly allowServicePrincipals?: readonly string[];
  /** Let those services also describe the key (CloudTrail checks the key it is given). @default false */
  readonly servicesDescribeKey?: boolean;
  /**
   * Let this account's principals use the key for EBS volumes, through EC2 only (the policy of
   * AWS's own aws/ebs key). EC2 Auto Scaling's service-linked role launches the EKS node groups,
   * and it needs the key of their encrypted root volumes: without this, no node starts. Named
   * through conditions, not as a principal, since that role only exists once the account has had
   * an Auto Scaling group. @default false
   */
  readonly allowEbsThroughEc2?: boolean;
  /** Days before a scheduled deletion happens. @default 30 */
  readonly deletionWindowDays?: number;
  /**
   * Keep the key when the stack is destroyed (its alias goes, so a new stack can take the name).
   * For the key of data the stack keeps: without it, what is kept turns unreadable once the
   * deletion window passes. @default false
   */
  readonly retainOnDelete?: boolean;
  /**
   * A multi-region key: its replicas in other regions (`replicaOf`) share its key material and
   * id, so what one region encrypts another decrypts (replicated buckets, secrets, databases).
   * @default false
   */
  readonly multiRegion?: boolean;
  /** This region's replica of a multi-region key (its ARN), instead of a key of its own. @default - a key of its own */
  readonly replicaOf?: pulumi.Input<string>;
}

/** A customer-managed KMS key with yearly rotation on and an alias. */
export class KmsKey extends pulumi.ComponentResource {
  readonly arn: pulumi.Output<string>;
  readonly keyId: pulumi.Output<string>;

  constructor(name: string, args: KmsKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:KmsKey", name, {}, opts);
    const { accountId, partition, region } = args.account;
    const statements: Statement[] = [
      {
        Sid: "AccountAdministers",
        Effect: "Allow",
        Principal: { AWS: pulumi.interpolate`arn:${partition}:iam::${accountId}:root` },
        Action: "kms:*",
        Resource: "*",
      },
    ];
    if (args.allowCloudWatchLogs) {
      statements.push({
        Sid: "CloudWatchLogsEncrypt",
        Effect: "Allow",
        Principal: { Service: `logs.${region}.amazonaws.com` },
        Action: [
          "kms:Encrypt*",
          "kms:Decrypt*",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:Describe*",
        ],
        Resource: "*",
        Condition: {
          ArnLike: {
            "kms:EncryptionContext:aws:logs:arn": pulumi.interpolate`arn:${partition}:logs:${region}:${accountId}:log-group:*`,
          },
        },
      });
    }
    if (args.allowEbsThroughEc2) {
      const throughEc2 = {
        "kms:ViaService": `ec2.${region}.amazonaws.com`,
        "kms:CallerAccount": accountId,
      };
      statements.push(
        {
          Sid: "EbsThroughEc2",
          Effect: "Allow",
          Principal: { AWS: "*" },
          Action: [
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:DescribeKey",
          ],
          Resource: "*",
          Condition: { StringEquals: throughEc2 },
        },
        {
          Sid: "EbsGrantsThroughEc2",
          Effect: "Allow",
          Principal: { AWS: "*" },
          Action: "kms:CreateGrant",
          Resource: "*",
          Condition: { StringEquals: throughEc2, Bool: { "kms:GrantIsForAWSResource": "true" } },
        },
      );
    }
    if (args.allowServicePrincipals && args.allowServicePrincipals.length > 0) {
      statements.push({
        Sid: "ServicesUseKey",
        Effect: "Allow",
        Principal: { Service: [...args.allowServicePrincipals] },
        Action: [
          "kms:GenerateDataKey*",
          "kms:Decrypt",
          ...(args.servicesDescribeKey ? ["kms:DescribeKey"] : []),
        ],
        Resource: "*",
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
      });
    }
    const keep = { parent: this, retainOnDelete: args.retainOnDelete ?? false };
    // A replica rotates with its primary (rotation is set there only).
    const key = args.replicaOf
      ? new aws.kms.ReplicaKey(
          name,
          {
            primaryKeyArn: args.replicaOf,
            description: args.description,
            deletionWindowInDays: args.deletionWindowDays ?? 30,
            policy: policyDocument(statements),
          },
          keep,
        )
      : new aws.kms.Key(
          name,
          {
            description: args.description,
            enableKeyRotation: true,
            rotationPeriodInDays: 365,
            deletionWindowInDays: args.deletionWindowDays ?? 30,
            policy: policyDocument(statements),
            ...(args.multiRegion ? { multiRegion: true } : {}),
          },
          keep,
        );
    new aws.kms.Alias(name, { name: `alias/${name}`, targetKeyId: key.keyId }, { parent: this });
    this.arn = key.arn;
    this.keyId = key.keyId;
    this.registerOutputs({ arn: this.arn });
  }
}
