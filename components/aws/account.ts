import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The account, partition and region resources are created in; looked up once per provider. */
export interface AwsAccount {
  readonly accountId: pulumi.Output<string>;
  readonly partition: pulumi.Output<string>;
  readonly region: string;
}

export function lookupAccount(region: string, provider: aws.Provider): AwsAccount {
  const identity = aws.getCallerIdentityOutput({}, { provider });
  const partition = aws.getPartitionOutput({}, { provider });
  return { accountId: identity.accountId, partition: partition.partition, region };
}

/** A policy statement in IAM's JSON shape. */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: pulumi.Input<Record<string, pulumi.Input<string | string[]>>> | "*";
  readonly Action: pulumi.Input<string> | pulumi.Input<string>[];
  readonly Resource?: pulumi.Input<string> | pulumi.Input<string>[];
  readonly Condition?: Record<string, Record<string, pulumi.Input<string | string[]>>>;
}

export function policyDocument(statements: readonly Statement[]): pulumi.Output<string> {
  return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });
}

/** Trust policy letting one AWS service assume a role. */
export function assumedBy(service: string): pulumi.Output<string> {
  return policyDocument([{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }]);
}
