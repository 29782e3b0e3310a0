import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { API_DRAIN_SECONDS } from "../kubernetes/runtime-workloads";
import {
  API_DRAIN_LIMIT_SECONDS,
  API_IDLE_TIMEOUT_SECONDS,
  API_READINESS_PATH,
} from "../shared/runtime-image";
import type { LoadBalancerLogs } from "./document-store";
import type { Network } from "./network";

/** TLS 1.2/1.3 only, forward-secret ciphers. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

export interface ApiLoadBalancerArgs {
  readonly network: Network;
  /** The workloads' security group: it gets an ingress rule from this load balancer only. */
  readonly targetSecurityGroupId: pulumi.Input<string>;
  readonly targetPort: number;
  /** @default "/healthz" */
  readonly healthCheckPath?: string;
  /**
   * An ACM certificate: the load balancer is then internet-facing with HTTPS on 443. Without one
   * it is internal (reachable from the VPC and networks peered with it) on HTTP 80: never a
   * public plain-HTTP endpoint.
   * @default - internal, HTTP inside the VPC
   */
  readonly certificateArn?: pulumi.Input<string>;
  /** @default false */
  readonly deletionProtection?: boolean;
  /** Access logs (every request: client, path, status, latencies) to this bucket and prefix. @default - none */
  readonly accessLogs?: LoadBalancerLogs;
}

/** An Application Load Balancer in front of the API, forwarding to IP targets (Fargate tasks). */
export class ApiLoadBalancer extends pulumi.ComponentResource {
  readonly dnsName: pulumi.Output<string>;
  readonly url: pulumi.Output<string>;
  readonly arnSuffix: pulumi.Output<string>;
  readonly targetGroupArn: pulumi.Output<string>;
  readonly targetGroupArnSuffix: pulumi.Output<string>;
  /** ECS refuses a target group no listener forwards to yet: services wait for this. */
  readonly listener: aws.lb.Listener;
  readonly internetFacing: boolean;

  constructor(name: string, args: ApiLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:ApiLoadBalancer", name, {}, opts);
    const parent = { parent: this };
    this.internetFacing = args.certificateArn !== undefined;
    if (this.internetFacing && args.network.publicSubnetIds.length < 2) {
      throw new Error(
        `ApiLoadBalancer ${name}: an internet-facing load balancer needs at least 2 public subnets (the network has ${args.network.publicSubnetIds.length})`,
      );
    }
    const sg = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      { vpcId: args.network.vpcId, description: `${name}: API load balancer`, egress: [] },
      parent,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-listener`,
      this.internetFacing
        ? {
            securityGroupId: sg.id,
            ipProtocol: "tcp",
            fromPort: 443,
            toPort: 443,
            cidrIpv4: "0.0.0.0/0",
            description: "HTTPS from the internet",
          }
        : {
            securityGroupId: sg.id,
            ipProtocol: "tcp",
            fromPort: 80,
            toPort: 80,
            cidrIpv4: args.network.vpcCidr,
            description: "HTTP from inside the VPC",
          },
      parent,
    );
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-to-targets`,
      {
        securityGroupId: sg.id,
        ipProtocol: "tcp",
        fromPort: args.targetPort,
        toPort: args.targetPort,
        referencedSecurityGroupId: args.targetSecurityGroupId,
        description: "to the API tasks",
      },
      parent,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-into-targets`,
      {
        securityGroupId: args.targetSecurityGroupId,
        ipProtocol: "tcp",
        fromPort: args.targetPort,
        toPort: args.targetPort,
        referencedSecurityGroupId: sg.id,
        description: "from the API load balancer",
      },
      parent,
    );
    const alb = new aws.lb.LoadBalancer(
      name,
      {
        namePrefix: "rag-",
        loadBalancerType: "application",
        internal: !this.internetFacing,
        subnets: this.internetFacing ? args.network.publicSubnetIds : args.network.privateSubnetIds,
        securityGroups: [sg.id],
        dropInvalidHeaderFields: true,
        enableDeletionProtection: args.deletionProtection ?? false,
        idleTimeout: API_IDLE_TIMEOUT_SECONDS,
        ...(args.accessLogs
          ? {
              accessLogs: {
                enabled: true,
                bucket: args.accessLogs.bucket,
                prefix: args.accessLogs.prefix,
              },
            }
          : {}),
      },
      // AWS tests the bucket's permission when logging is turned on.
      { parent: this, dependsOn: args.accessLogs ? [args.accessLogs.grant] : [] },
    );
    const tg = new aws.lb.TargetGroup(
      name,
      {
        namePrefix: "rag-",
        vpcId: args.network.vpcId,
        targetType: "ip",
        port: args.targetPort,
        protocol: "HTTP",
        // ECS stops a task only once its target has drained: answers in flight finish first.
        deregistrationDelay: API_DRAIN_LIMIT_SECONDS,
        healthCheck: {
          path: args.healthCheckPath ?? "/healthz",
          matcher: "200",
          interval: 15,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
      },
      parent,
    );
    this.listener = new aws.lb.Listener(
      name,
      this.internetFacing
        ? {
            loadBalancerArn: alb.arn,
            port: 443,
            protocol: "HTTPS",
            sslPolicy: TLS_POLICY,
            certificateArn: args.certificateArn,
            defaultActions: [{ type: "forward", targetGroupArn: tg.arn }],
          }
        : {
            loadBalancerArn: alb.arn,
            port: 80,
            protocol: "HTTP",
            defaultActions: [{ type: "forward", targetGroupArn: tg.arn }],
          },
      parent,
    );
    this.dnsName = alb.dnsName;
    this.url = pulumi.interpolate`${this.internetFacing ? "https" : "http"}://${alb.dnsName}`;
    this.arnSuffix = alb.arnSuffix;
    this.targetGroupArn = tg.arn;
    this.targetGroupArnSuffix = tg.arnSuffix;
    this.registerOutputs({ url: this.url });
  }
}

export interface AlbIngressArgs {
  readonly network: Network;
  /** An ACM certificate: internet-facing on HTTPS 443. @default - internal, HTTP 80 inside the VPC */
  readonly certificateArn?: pulumi.Input<string>;
  /** Where the ALB writes its access logs (the log bucket, which lets this region's ALBs write). */
  readonly accessLogs: LoadBalancerLogs;
}

/**
 * The AWS Load Balancer Controller's annotations for the runtime API's Ingress: an ALB with IP
 * targets, internal on HTTP, or internet-facing on HTTPS 443 with the certificate and TLS_POLICY;
 * the API's readiness check, invalid headers dropped, its idle timeout, access logs to S3, and
 * targets that keep their connections while a stopping pod drains.
 */
export function albIngressAnnotations(args: AlbIngressArgs): Record<string, pulumi.Input<string>> {
  const { network, certificateArn, accessLogs } = args;
  const subnets = certificateArn ? network.publicSubnetIds : network.privateSubnetIds;
  return {
    "alb.ingress.kubernetes.io/scheme": certificateArn ? "internet-facing" : "internal",
    "alb.ingress.kubernetes.io/target-type": "ip",
    "alb.ingress.kubernetes.io/healthcheck-path": API_READINESS_PATH,
    "alb.ingress.kubernetes.io/listen-ports": certificateArn ? '[{"HTTPS":443}]' : '[{"HTTP":80}]',
    "alb.ingress.kubernetes.io/inbound-cidrs": certificateArn ? "0.0.0.0/0" : network.vpcCidr,
    "alb.ingress.kubernetes.io/load-balancer-attributes": pulumi.interpolate`routing.http.drop_invalid_header_fields.enabled=true,idle_timeout.timeout_seconds=${API_IDLE_TIMEOUT_SECONDS},access_logs.s3.enabled=true,access_logs.s3.bucket=${accessLogs.bucket},access_logs.s3.prefix=${accessLogs.prefix}`,
    // A stopping pod's target keeps its connections while the pod finishes what it holds (AWS's default is 300 s).
    "alb.ingress.kubernetes.io/target-group-attributes": `deregistration_delay.timeout_seconds=${API_DRAIN_SECONDS + API_DRAIN_LIMIT_SECONDS}`,
    // Named rather than discovered by their kubernetes.io/role tags, which subnets of an existing VPC may lack.
    "alb.ingress.kubernetes.io/subnets": pulumi.all(subnets).apply((ids) => ids.join(",")),
    ...(certificateArn
      ? {
          "alb.ingress.kubernetes.io/certificate-arn": certificateArn,
          "alb.ingress.kubernetes.io/ssl-policy": TLS_POLICY,
        }
      : {}),
  };
}
