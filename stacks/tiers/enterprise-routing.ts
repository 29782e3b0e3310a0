/**
 * How users reach the enterprise tier's regions under one name, as `enterprise.routing` says:
 * Route 53 latency records with a health check each, or AWS Global Accelerator over the regional
 * load balancers. Either gives each region a handle the failover runbook drains it by.
 */
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  acceleratorRouting,
  GLOBAL_ACCELERATOR_API_REGION,
} from "../../components/aws/accelerator-routing";
import { latencyRouting } from "../../components/aws/latency-routing";
import { API_READINESS_PATH } from "../../components/shared/runtime-image";
import type { PlatformConfig } from "../config";
import type { EnterpriseEksHost } from "../platforms/aws-enterprise";
import { awsProviderIn } from "../platforms/aws-base";
import type { CoreOutputs } from "./core";

/** A region as the routing sees it. */
export interface RoutedRegion {
  readonly region: string;
  readonly code: string;
  readonly core: CoreOutputs;
  readonly host: EnterpriseEksHost;
}

export interface EnterpriseRouting {
  /** Per region: what drains it (a Route 53 health check id, or an endpoint group's ARN). */
  readonly handles: Record<string, pulumi.Output<string>>;
  /** Per region: outputs to add under the region's name. */
  readonly regionOutputs: Record<string, Record<string, pulumi.Output<unknown>>>;
  /** The stack's `routing` output. */
  readonly outputs: Record<string, pulumi.Input<unknown>>;
}

/** Builds the routing `cfg.enterprise.routing` names over `regions` (primary first). */
export function enterpriseRouting(
  cfg: PlatformConfig,
  regions: readonly RoutedRegion[],
  primaryProvider: aws.Provider,
): EnterpriseRouting {
  const name = `rag-${cfg.tier}-api`;
  const hostname = cfg.domain.hostname!;
  const zoneId = cfg.domain.hostedZoneId!;
  const routing = cfg.enterprise.routing;
  switch (routing) {
    case "route53-latency": {
      const { healthCheckIds } = latencyRouting(
        name,
        {
          hostname,
          zoneId,
          regions: regions.map((r) => ({
            region: r.region,
            code: r.code,
            healthCheckUrl: r.core.api.healthCheckUrl,
          })),
        },
        { provider: primaryProvider },
      );
      return {
        handles: healthCheckIds,
        regionOutputs: Object.fromEntries(
          Object.entries(healthCheckIds).map(([region, id]) => [region, { healthCheckId: id }]),
        ),
        outputs: { kind: routing, hostname },
      };
    }
    case "global-accelerator": {
      const dials = cfg.enterprise.trafficDialPercent ?? {};
      const accelerator = acceleratorRouting(name, {
        hostname,
        zoneId,
        regions: regions.map((r) => ({
          region: r.region,
          code: r.code,
          // The load balancer exists once the Ingress has its address.
          loadBalancerArn: r.host.apiLoadBalancerArn(r.core.api.healthCheckUrl),
          healthCheckPath: API_READINESS_PATH,
          trafficDialPercent: dials[r.region],
        })),
        acceleratorProvider: awsProviderIn(
          cfg,
          `rag-${cfg.tier}-global-accelerator-aws`,
          GLOBAL_ACCELERATOR_API_REGION,
        ),
        dnsProvider: primaryProvider,
      });
      const groups = accelerator.endpointGroupArns;
      return {
        handles: groups,
        regionOutputs: Object.fromEntries(
          Object.entries(groups).map(([region, arn]) => [region, { endpointGroupArn: arn }]),
        ),
        outputs: {
          kind: routing,
          hostname,
          accelerator: accelerator.acceleratorArn,
          acceleratorDnsName: accelerator.dnsName,
          staticIps: accelerator.staticIps,
        },
      };
    }
    default: {
      const unreachable: never = routing;
      throw new Error(`unknown enterprise routing ${String(unreachable)}`);
    }
  }
}
