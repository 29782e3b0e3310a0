import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HEALTH_CHECK_FAILURES, HEALTH_CHECK_INTERVAL_SECONDS } from "./latency-routing";

/** Global Accelerator's API is in us-west-2 only: its resources take a provider there. */
export const GLOBAL_ACCELERATOR_API_REGION = "us-west-2";

export interface AcceleratorRoutingArgs {
  /** The name users reach: an alias to the accelerator in `zoneId`. */
  readonly hostname: string;
  readonly zoneId: string;
  /** Every region's API behind its load balancer. */
  readonly regions: readonly {
    readonly region: string;
    readonly code: string;
    /** The regional Application Load Balancer (its ARN), which terminates TLS with the region's certificate. */
    readonly loadBalancerArn: pulumi.Input<string>;
    /** The readiness path the load balancer's target group checks. */
    readonly healthCheckPath: string;
    /** The share of its nearby traffic the region keeps. @default 100 */
    readonly trafficDialPercent?: number;
  }[];
  /** A provider in us-west-2 (GLOBAL_ACCELERATOR_API_REGION), for the accelerator, listener and groups. */
  readonly acceleratorProvider: aws.Provider;
  /** A provider for the alias record (any region: Route 53 is global). */
  readonly dnsProvider: aws.Provider;
}

export interface AcceleratorRouting {
  readonly acceleratorArn: pulumi.Output<string>;
  readonly dnsName: pulumi.Output<string>;
  /** The two static anycast addresses clients reach. */
  readonly staticIps: pulumi.Output<string[]>;
  /** Each region's endpoint group: its traffic dial takes the region out (0) and back (100). */
  readonly endpointGroupArns: Record<string, pulumi.Output<string>>;
}

/**
 * AWS Global Accelerator over the regional load balancers: two static anycast addresses at
 * AWS's edge, a TCP listener on 443 passed through to each region's ALB (TLS ends there, with
 * the region's certificate), an endpoint group per region, and `hostname` as an alias of the
 * accelerator. Traffic enters AWS's network at the edge nearest the client and goes to the
 * nearest healthy region; an unhealthy region leaves within seconds of its load balancer
 * turning unhealthy, with no DNS answer to expire.
 */
export function acceleratorRouting(name: string, args: AcceleratorRoutingArgs): AcceleratorRouting {
  const onApi = { provider: args.acceleratorProvider };
  const accelerator = new aws.globalaccelerator.Accelerator(
    name,
    { name, ipAddressType: "IPV4", enabled: true, tags: { Name: args.hostname } },
    onApi,
  );
  const listener = new aws.globalaccelerator.Listener(
    name,
    {
      acceleratorArn: accelerator.arn,
      protocol: "TCP",
      portRanges: [{ fromPort: 443, toPort: 443 }],
      // A client stays on one endpoint while it is healthy, as a resolver's cached answer would.
      clientAffinity: "SOURCE_IP",
    },
    onApi,
  );
  const endpointGroupArns: Record<string, pulumi.Output<string>> = {};
  for (const r of args.regions) {
    const group = new aws.globalaccelerator.EndpointGroup(
      `${name}-${r.code}`,
      {
        listenerArn: listener.arn,
        endpointGroupRegion: r.region,
        trafficDialPercentage: r.trafficDialPercent ?? 100,
        // For a load balancer endpoint Global Accelerator follows the load balancer's own target
        // health (its target group checks the same readiness path); these apply to any other kind.
        healthCheckProtocol: "HTTPS",
        healthCheckPort: 443,
        healthCheckPath: r.healthCheckPath,
        healthCheckIntervalSeconds: HEALTH_CHECK_INTERVAL_SECONDS,
        thresholdCount: HEALTH_CHECK_FAILURES,
        endpointConfigurations: [
          // The client's address reaches the load balancer (X-Forwarded-For, access logs).
          { endpointId: r.loadBalancerArn, clientIpPreservationEnabled: true, weight: 128 },
        ],
      },
      onApi,
    );
    endpointGroupArns[r.region] = group.arn;
  }
  new aws.route53.Record(
    name,
    {
      zoneId: args.zoneId,
      name: args.hostname,
      type: "A",
      aliases: [
        {
          name: accelerator.dnsName,
          zoneId: accelerator.hostedZoneId,
          evaluateTargetHealth: false,
        },
      ],
    },
    { provider: args.dnsProvider },
  );
  return {
    acceleratorArn: accelerator.arn,
    dnsName: accelerator.dnsName,
    staticIps: accelerator.ipSets.apply((sets) => sets.flatMap((s) => s.ipAddresses ?? [])),
    endpointGroupArns,
  };
}
