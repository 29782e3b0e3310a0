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
  /** Days before a scheduled deletion happens. @default 30 */
  readonly deletionWindowDays?: number;
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
        Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        Resource: "*",
        Condition: {
          ArnLike: { "kms:EncryptionContext:aws:logs:arn": pulumi.interpolate`arn:${partition}:logs:${region}:${accountId}:log-group:*` },
        },
      });
    }
    if (args.allowServicePrincipals && args.allowServicePrincipals.length > 0) {
      statements.push({
        Sid: "ServicesUseKey",
        Effect: "Allow",
        Principal: { Service: [...args.allowServicePrincipals] },
        Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
        Resource: "*",
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
      });
    }
    const key = new aws.kms.Key(
      name,
      {
        description: args.description,
        enableKeyRotation: true,
        rotationPeriodInDays: 365,
        deletionWindowInDays: args.deletionWindowDays ?? 30,
        policy: policyDocument(statements),
      },
      { parent: this },
    );
    new aws.kms.Alias(name, { name: `alias/${name}`, targetKeyId: key.keyId }, { parent: this });
    this.arn = key.arn;
    this.keyId = key.keyId;
    this.registerOutputs({ arn: this.arn });
  }
}
