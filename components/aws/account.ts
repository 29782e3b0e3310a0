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

/** The service principal that delivers load balancer logs in the regions opened since August 2022. */
export const ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com";

/**
 * Who writes Application Load Balancer access logs into a bucket in this provider's region. AWS
 * documents one principal per region: the region's Elastic Load Balancing account for regions
 * opened before August 2022, the log-delivery service principal for the newer ones. The provider's
 * `elb.getServiceAccount` knows the accounts and refuses a region that has none: then only the
 * service principal is granted.
 */
export function elbLogDeliveryPrincipal(
  opts: pulumi.InvokeOptions,
): pulumi.Output<Record<string, string>> {
  const principal: Promise<Record<string, string>> = aws.elb.getServiceAccount({}, opts).then(
    (elb) => ({ AWS: elb.arn, Service: ELB_LOG_DELIVERY_SERVICE }),
    () => ({ Service: ELB_LOG_DELIVERY_SERVICE }),
  );
  return pulumi.output(principal);
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
  return policyDocument([
    { Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" },
  ]);
}
