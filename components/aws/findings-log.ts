/**
 * A region's security findings as a log: an EventBridge rule takes every GuardDuty, Security Hub
 * and Macie finding into a CloudWatch Logs group of its own (encrypted, with a retention), from
 * where the SIEM export reads it like the other audit logs (a Firehose subscription, or the OTLP
 * forwarder's CloudWatch Logs receiver).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument } from "./account";
import type { KmsKey } from "./kms-key";

/** The sources of findings EventBridge forwards. */
export const FINDING_SOURCES = ["aws.guardduty", "aws.securityhub", "aws.macie"] as const;

export interface FindingsLogArgs {
  /** Encrypts the log group (its policy lets CloudWatch Logs use it). */
  readonly kmsKey: KmsKey;
  /** Days the findings are kept in the group. */
  readonly retentionDays: number;
}

export class FindingsLog extends pulumi.ComponentResource {
  readonly logGroupName: pulumi.Output<string>;
  readonly logGroupArn: pulumi.Output<string>;

  constructor(name: string, args: FindingsLogArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:FindingsLog", name, {}, opts);
    const parent = { parent: this };
    // EventBridge writes only to groups under /aws/events/.
    const group = new aws.cloudwatch.LogGroup(
      name,
      {
        name: `/aws/events/rag/${name}`,
        retentionInDays: args.retentionDays,
        kmsKeyId: args.kmsKey.arn,
      },
      parent,
    );
    const rule = new aws.cloudwatch.EventRule(
      name,
      {
        description: "GuardDuty, Security Hub and Macie findings to the SIEM",
        eventPattern: JSON.stringify({ source: [...FINDING_SOURCES] }),
      },
      parent,
    );
    // A log group target is written by EventBridge under the group's resource policy, not a role.
    const write = new aws.cloudwatch.LogResourcePolicy(
      name,
      {
        policyName: name,
        policyDocument: policyDocument([
          {
            Sid: "EventBridgeWritesTheFindings",
            Effect: "Allow",
            Principal: { Service: ["events.amazonaws.com", "delivery.logs.amazonaws.com"] },
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: pulumi.interpolate`${group.arn}:*`,
          },
        ]),
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      name,
      { rule: rule.name, arn: group.arn },
      { parent: this, dependsOn: [write] },
    );
    this.logGroupName = group.name;
    this.logGroupArn = group.arn;
    this.registerOutputs({ logGroupName: this.logGroupName });
  }
}
