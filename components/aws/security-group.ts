import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/**
 * A security group that admits one TCP port from the given source groups only, and sends
 * nothing out (data services answer connections; they open none).
 */
export function serviceSecurityGroup(
  name: string,
  args: {
    vpcId: pulumi.Input<string>;
    port: number;
    description: string;
    allowedFrom: readonly pulumi.Input<string>[];
  },
  opts: pulumi.CustomResourceOptions,
): aws.ec2.SecurityGroup {
  const sg = new aws.ec2.SecurityGroup(
    name,
    { vpcId: args.vpcId, description: args.description, egress: [] },
    opts,
  );
  args.allowedFrom.forEach((source, i) => {
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-from-${i}`,
      {
        securityGroupId: sg.id,
        ipProtocol: "tcp",
        fromPort: args.port,
        toPort: args.port,
        referencedSecurityGroupId: source,
        description: args.description,
      },
      opts,
    );
  });
  return sg;
}

/**
 * The security group of the platform's own workloads (API, worker): no ingress of its own (the
 * load balancer adds its rule), egress to HTTPS anywhere (AWS APIs, hosted models) and to the
 * data services' ports inside the VPC.
 */
export function workloadSecurityGroup(
  name: string,
  args: {
    vpcId: pulumi.Input<string>;
    vpcCidr: pulumi.Input<string>;
    dataPorts: readonly number[];
  },
  opts: pulumi.CustomResourceOptions,
): aws.ec2.SecurityGroup {
  const sg = new aws.ec2.SecurityGroup(
    name,
    { vpcId: args.vpcId, description: "rag-platform workloads (API, ingest worker)", egress: [] },
    opts,
  );
  new aws.vpc.SecurityGroupEgressRule(
    `${name}-https`,
    {
      securityGroupId: sg.id,
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: "0.0.0.0/0",
      description: "HTTPS: AWS APIs, hosted models",
    },
    opts,
  );
  for (const port of args.dataPorts) {
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-vpc-${port}`,
      {
        securityGroupId: sg.id,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        cidrIpv4: args.vpcCidr,
        description: `data service port ${port} inside the VPC`,
      },
      opts,
    );
  }
  return sg;
}
