import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Seconds between a health checker's requests (Route 53's fast interval). */
export const HEALTH_CHECK_INTERVAL_SECONDS = 10;
/** Failed checks in a row before a region is unhealthy. */
export const HEALTH_CHECK_FAILURES = 3;
/** Seconds the records are cached by resolvers: how long a client may keep a region that left. */
export const RECORD_TTL_SECONDS = 60;

export interface LatencyRoutingArgs {
  /** The name users reach (not the zone's apex: the records are CNAMEs). */
  readonly hostname: string;
  readonly zoneId: string;
  /** Every region's API: its region (the latency answer's region) and readiness URL. */
  readonly regions: readonly {
    readonly region: string;
    readonly code: string;
    /** The regional load balancer's readiness URL (https://<alb>/readyz?check=database). */
    readonly healthCheckUrl: pulumi.Output<string>;
  }[];
}

/**
 * Route 53 latency-based routing over the regional load balancers: one record per region under
 * `hostname`, each tied to a health check of that region's API readiness (HTTPS, every 10 s, 3
 * failures). Route 53 answers each resolver with the lowest-latency healthy region; an unhealthy
 * region leaves the answers after about 30 s of failures, and clients follow once the 60 s TTL
 * has passed.
 */
export function latencyRouting(
  name: string,
  args: LatencyRoutingArgs,
  opts: pulumi.CustomResourceOptions,
): { healthCheckIds: Record<string, pulumi.Output<string>> } {
  const healthCheckIds: Record<string, pulumi.Output<string>> = {};
  for (const r of args.regions) {
    const url = r.healthCheckUrl.apply((u) => new URL(u));
    const check = new aws.route53.HealthCheck(
      `${name}-${r.code}`,
      {
        type: "HTTPS",
        fqdn: url.hostname,
        port: 443,
        enableSni: true,
        resourcePath: url.apply((u) => `${u.pathname}${u.search}`),
        requestInterval: HEALTH_CHECK_INTERVAL_SECONDS,
        failureThreshold: HEALTH_CHECK_FAILURES,
        measureLatency: true,
        tags: { Name: `${args.hostname} in ${r.region}` },
      },
      opts,
    );
    new aws.route53.Record(
      `${name}-${r.code}`,
      {
        zoneId: args.zoneId,
        name: args.hostname,
        type: "CNAME",
        ttl: RECORD_TTL_SECONDS,
        records: [url.hostname],
        setIdentifier: r.region,
        latencyRoutingPolicies: [{ region: r.region }],
        healthCheckId: check.id,
      },
      opts,
    );
    healthCheckIds[r.region] = check.id;
  }
  return { healthCheckIds };
}
