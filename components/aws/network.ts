import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { assumedBy, policyDocument } from "./account";
import { subnetPlan } from "../shared/cidr";
import type { KmsKey } from "./kms-key";

/** An existing VPC to deploy into instead of creating one. */
export interface ExistingVpc {
  readonly vpcId: string;
  /** Private subnets, one per zone (at least 2). */
  readonly privateSubnetIds: readonly string[];
  /** Public subnets; needed only for an internet-facing load balancer. @default - none */
  readonly publicSubnetIds?: readonly string[];
}

export interface NetworkArgs {
  /** The region the VPC is in (names the endpoint services). */
  readonly region: string;
  /** The VPC range. Ignored with `existing`. */
  readonly vpcCidr: string;
  /** Availability zones to span (2 or 3). Ignored with `existing`. */
  readonly azCount: number;
  /** One NAT gateway for the VPC, or one per zone (no cross-zone dependency). @default "single" */
  readonly natGateways?: "single" | "per-az";
  /** Key for the flow-log group (must allow CloudWatch Logs). */
  readonly logsKey: KmsKey;
  /** @default 30 */
  readonly flowLogRetentionDays?: number;
  /** Deploy into this VPC; then no VPC, subnet, NAT, endpoint or flow log is created. @default - a new VPC */
  readonly existing?: ExistingVpc;
}

/** Interface endpoints that keep AWS API traffic from private subnets off the internet. */
export const INTERFACE_ENDPOINTS = [
  "ecr.api",
  "ecr.dkr",
  "secretsmanager",
  "ssm",
  "ssmmessages",
  "ec2messages",
  "logs",
] as const;

/**
 * The VPC: private subnets for everything that runs, public subnets for load balancers and NAT,
 * VPC endpoints for the AWS APIs the platform calls, flow logs to an encrypted log group.
 */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly vpcCidr: pulumi.Output<string>;
  readonly privateSubnetIds: pulumi.Output<string>[];
  readonly publicSubnetIds: pulumi.Output<string>[];

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:Network", name, {}, opts);
    if (args.existing) {
      const vpc = aws.ec2.getVpcOutput({ id: args.existing.vpcId }, { parent: this });
      this.vpcId = pulumi.output(args.existing.vpcId);
      this.vpcCidr = vpc.cidrBlock;
      this.privateSubnetIds = args.existing.privateSubnetIds.map((id) => pulumi.output(id));
      this.publicSubnetIds = (args.existing.publicSubnetIds ?? []).map((id) => pulumi.output(id));
    } else {
      const built = this.createVpc(name, args);
      this.vpcId = built.vpc.id;
      this.vpcCidr = built.vpc.cidrBlock;
      this.privateSubnetIds = built.privateSubnets.map((s) => s.id);
      this.publicSubnetIds = built.publicSubnets.map((s) => s.id);
      this.createEndpoints(
        name,
        args.region,
        built.vpc,
        built.privateSubnets,
        built.privateRouteTables,
      );
      this.createFlowLogs(name, built.vpc, args);
    }
    this.registerOutputs({ vpcId: this.vpcId });
  }

  private createVpc(name: string, args: NetworkArgs) {
    const parent = { parent: this };
    const zones = aws.getAvailabilityZonesOutput({ state: "available" }, parent);
    const plan = subnetPlan(args.vpcCidr, args.azCount);
    const vpc = new aws.ec2.Vpc(
      name,
      {
        cidrBlock: args.vpcCidr,
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: { Name: name },
      },
      parent,
    );
    // AWS turns on a default security group that allows all traffic between its members: empty it.
    new aws.ec2.DefaultSecurityGroup(
      `${name}-default-sg`,
      { vpcId: vpc.id, ingress: [], egress: [] },
      parent,
    );
    const igw = new aws.ec2.InternetGateway(
      `${name}-igw`,
      { vpcId: vpc.id, tags: { Name: `${name}-igw` } },
      parent,
    );
    const zone = (i: number) => zones.names.apply((names) => names[i]!);

    const publicRt = new aws.ec2.RouteTable(
      `${name}-public`,
      { vpcId: vpc.id, tags: { Name: `${name}-public` } },
      parent,
    );
    new aws.ec2.Route(
      `${name}-public-default`,
      { routeTableId: publicRt.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
      parent,
    );
    const publicSubnets = plan.publicCidrs.map((cidrBlock, i) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-public-${i}`,
        {
          vpcId: vpc.id,
          cidrBlock,
          availabilityZone: zone(i),
          mapPublicIpOnLaunch: false,
          tags: { Name: `${name}-public-${i}`, "kubernetes.io/role/elb": "1" },
        },
        parent,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-public-${i}`,
        { subnetId: subnet.id, routeTableId: publicRt.id },
        parent,
      );
      return subnet;
    });

    const natCount = args.natGateways === "per-az" ? args.azCount : 1;
    const nats = Array.from({ length: natCount }, (_, i) => {
      const eip = new aws.ec2.Eip(
        `${name}-nat-${i}`,
        { domain: "vpc", tags: { Name: `${name}-nat-${i}` } },
        parent,
      );
      return new aws.ec2.NatGateway(
        `${name}-nat-${i}`,
        {
          allocationId: eip.id,
          subnetId: publicSubnets[i]!.id,
          tags: { Name: `${name}-nat-${i}` },
        },
        { parent: this, dependsOn: [igw] },
      );
    });

    const privateRouteTables: aws.ec2.RouteTable[] = [];
    const privateSubnets = plan.privateCidrs.map((cidrBlock, i) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-private-${i}`,
        {
          vpcId: vpc.id,
          cidrBlock,
          availabilityZone: zone(i),
          mapPublicIpOnLaunch: false,
          tags: { Name: `${name}-private-${i}`, "kubernetes.io/role/internal-elb": "1" },
        },
        parent,
      );
      const rt = new aws.ec2.RouteTable(
        `${name}-private-${i}`,
        { vpcId: vpc.id, tags: { Name: `${name}-private-${i}` } },
        parent,
      );
      new aws.ec2.Route(
        `${name}-private-${i}-default`,
        {
          routeTableId: rt.id,
          destinationCidrBlock: "0.0.0.0/0",
          natGatewayId: nats[Math.min(i, natCount - 1)]!.id,
        },
        parent,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-private-${i}`,
        { subnetId: subnet.id, routeTableId: rt.id },
        parent,
      );
      privateRouteTables.push(rt);
      return subnet;
    });
    return { vpc, publicSubnets, privateSubnets, privateRouteTables };
  }

  private createEndpoints(
    name: string,
    region: string,
    vpc: aws.ec2.Vpc,
    subnets: aws.ec2.Subnet[],
    routeTables: aws.ec2.RouteTable[],
  ): void {
    const parent = { parent: this };
    new aws.ec2.VpcEndpoint(
      `${name}-s3`,
      {
        vpcId: vpc.id,
        serviceName: `com.amazonaws.${region}.s3`,
        vpcEndpointType: "Gateway",
        routeTableIds: routeTables.map((rt) => rt.id),
      },
      parent,
    );
    const sg = new aws.ec2.SecurityGroup(
      `${name}-endpoints`,
      { vpcId: vpc.id, description: "HTTPS to VPC interface endpoints from inside the VPC" },
      parent,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-endpoints-https`,
      {
        securityGroupId: sg.id,
        ipProtocol: "tcp",
        fromPort: 443,
        toPort: 443,
        cidrIpv4: vpc.cidrBlock,
        description: "HTTPS from the VPC",
      },
      parent,
    );
    for (const service of INTERFACE_ENDPOINTS) {
      new aws.ec2.VpcEndpoint(
        `${name}-${service.replace(".", "-")}`,
        {
          vpcId: vpc.id,
          serviceName: `com.amazonaws.${region}.${service}`,
          vpcEndpointType: "Interface",
          privateDnsEnabled: true,
          subnetIds: subnets.map((s) => s.id),
          securityGroupIds: [sg.id],
        },
        parent,
      );
    }
  }

  private createFlowLogs(name: string, vpc: aws.ec2.Vpc, args: NetworkArgs): void {
    const parent = { parent: this };
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-flow-logs`,
      {
        namePrefix: `/rag/${name}/flow-logs-`,
        kmsKeyId: args.logsKey.arn,
        retentionInDays: args.flowLogRetentionDays ?? 30,
      },
      parent,
    );
    const role = new aws.iam.Role(
      `${name}-flow-logs`,
      { assumeRolePolicy: assumedBy("vpc-flow-logs.amazonaws.com") },
      parent,
    );
    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-flow-logs`,
      {
        role: role.id,
        policy: policyDocument([
          {
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            Resource: [logGroup.arn, pulumi.interpolate`${logGroup.arn}:*`],
          },
        ]),
      },
      parent,
    );
    new aws.ec2.FlowLog(
      `${name}-flow-logs`,
      {
        vpcId: vpc.id,
        trafficType: "ALL",
        logDestinationType: "cloud-watch-logs",
        logDestination: logGroup.arn,
        iamRoleArn: role.arn,
        maxAggregationInterval: 60,
      },
      // Delivery starts with the role's permission in place (no "Access error" status to begin with).
      { parent: this, dependsOn: [rolePolicy] },
    );
  }
}
