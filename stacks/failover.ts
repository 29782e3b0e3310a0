/**
 * Failover as code: the commands of a planned switchover and of a regional failover, for every
 * region that can take over, from the stack's own identifiers. `pulumi stack output failover`
 * prints them; docs/tiers/enterprise-aws.md says when to run which, and what to check.
 */
import * as pulumi from "@pulumi/pulumi";
import type { GlobalRouting } from "./choices";
import { GLOBAL_ACCELERATOR_API_REGION } from "../components/aws/accelerator-routing";

export interface FailoverRegion {
  readonly region: string;
  readonly prefix: string;
  /** The region's Aurora cluster (of the global database). */
  readonly clusterArn: pulumi.Input<string>;
  /** The region's MSK cluster. */
  readonly kafkaArn: pulumi.Input<string>;
  /** What drains the region: its Route 53 health check's id, or its accelerator endpoint group's ARN. */
  readonly routingId: pulumi.Input<string>;
  /**
   * The region's EKS cluster, where parse and embed stand by (ScaledObjects paused at 0) until
   * ingest moves here. @default - none: no stand-by ingest to start
   */
  readonly clusterName?: pulumi.Input<string>;
}

/** The stand-by ingest stages: their ScaledObjects, in the platform's namespace. */
export const STANDBY_STAGES = {
  namespace: "rag",
  scaledObjects: ["rag-ingest-parse", "rag-ingest-embed"],
};

/** Starts (or stops) a region's parse and embed: KEDA's paused-replicas annotation removed (or set to 0). */
function stages(region: string, clusterName: string, run: boolean): string[] {
  const { namespace, scaledObjects } = STANDBY_STAGES;
  const annotation = run
    ? "autoscaling.keda.sh/paused-replicas-"
    : "autoscaling.keda.sh/paused-replicas=0 --overwrite";
  return [
    `aws eks update-kubeconfig --region ${region} --name ${clusterName} --alias ${region}`,
    `kubectl --context ${region} -n ${namespace} annotate scaledobject ${scaledObjects.join(" ")} ${annotation}   # ${run ? "parse and embed resume from the replicated offsets" : "parse and embed stop here"}`,
  ];
}

export interface FailoverArgs {
  readonly globalClusterId: pulumi.Input<string>;
  /** How users reach the regions (what routingId names). */
  readonly routing: GlobalRouting;
  /** enterprise.homeRegion: kept as it is when the regions are reordered. */
  readonly homeRegion: string;
  /** Every region, primary first. */
  readonly regions: readonly FailoverRegion[];
  /** MSK Replicator of each non-primary region (from the primary). */
  readonly replicatorArns: Readonly<Record<string, pulumi.Input<string>>>;
}

export interface RegionRunbook {
  /** Planned: the primary is healthy; no data is lost (RPO 0). */
  readonly switchover: string[];
  /** Unplanned: the primary region is lost; what it had not replicated is lost (RPO: the lag). */
  readonly failover: string[];
}

/**
 * Takes a region out of the answers (or puts it back): Route 53 health check inversion, or the
 * accelerator endpoint group's traffic dial.
 */
function drain(routing: GlobalRouting, routingId: string, out: boolean): string {
  switch (routing) {
    case "route53-latency":
      return `aws route53 update-health-check --health-check-id ${routingId} --${out ? "" : "no-"}inverted`;
    case "global-accelerator":
      return `aws globalaccelerator update-endpoint-group --region ${GLOBAL_ACCELERATOR_API_REGION} --endpoint-group-arn ${routingId} --traffic-dial-percentage ${out ? 0 : 100}`;
    default: {
      const unreachable: never = routing;
      throw new Error(`unknown routing ${String(unreachable)}`);
    }
  }
}

/** The runbooks of promoting each non-primary region, as shell commands with the stack's ids. */
/**
 * The last step of either: the stack says who is primary now. The new primary is listed first,
 * the others keep their order, and the home region stays pinned, so the `pulumi up` moves the
 * writer's role, the replicators and the document replication, and replaces no key, secret,
 * database, bucket, Kafka cluster or network (test/enterprise-reorder.test.ts).
 */
export function reorderCommands(
  regions: readonly string[],
  newPrimary: string,
  homeRegion: string,
): string[] {
  const order = [newPrimary, ...regions.filter((r) => r !== newPrimary)];
  return [
    `pulumi config set --path rag-platform:enterprise.homeRegion ${homeRegion}   # pins the keys, secrets and global database where they are`,
    ...order.map((r, i) => `pulumi config set --path 'rag-platform:regions[${i}]' ${r}`),
    `pulumi preview --diff   # expect updates and the replicators re-created; no replace of a key, secret, database, bucket, Kafka cluster or VPC`,
    `pulumi up`,
  ];
}

export function failoverRunbooks(a: {
  globalClusterId: string;
  homeRegion: string;
  routing: GlobalRouting;
  regions: readonly (Omit<
    FailoverRegion,
    "clusterArn" | "kafkaArn" | "routingId" | "clusterName"
  > & {
    clusterArn: string;
    kafkaArn: string;
    routingId: string;
    clusterName?: string;
  })[];
  replicatorArns: Readonly<Record<string, string>>;
}): Record<string, RegionRunbook> {
  const [primary, ...others] = a.regions;
  if (!primary) throw new Error("failoverRunbooks: no region");
  const runbooks: Record<string, RegionRunbook> = {};
  for (const target of others) {
    const replicator = a.replicatorArns[target.region];
    const stopReplication = replicator
      ? `aws kafka delete-replicator --region ${target.region} --replicator-arn ${replicator}   # ingest now starts in ${target.region}`
      : `# no replicator into ${target.region}`;
    // With the replicator into it gone, this region's log is the one the others must follow:
    // the reorder's pulumi up re-creates their replicators from it.
    const reorder = reorderCommands(
      a.regions.map((r) => r.region),
      target.region,
      a.homeRegion,
    );
    const startStages = target.clusterName ? stages(target.region, target.clusterName, true) : [];
    const stopStages = primary.clusterName
      ? stages(primary.region, primary.clusterName, false)
      : [];
    runbooks[target.region] = {
      switchover: [
        `aws rds switchover-global-cluster --region ${target.region} --global-cluster-identifier ${a.globalClusterId} --target-db-cluster-identifier ${target.clusterArn}`,
        `aws rds wait db-cluster-available --region ${target.region} --db-cluster-identifier ${target.clusterArn}`,
        `aws kafka list-replicators --region ${target.region} --query "Replicators[].CurrentVersion"   # wait until the replicator's lag is 0 (CloudWatch ReplicationLatency)`,
        ...stopStages,
        stopReplication,
        ...startStages,
        ...reorder,
      ],
      failover: [
        drain(a.routing, primary.routingId, true),
        `aws rds failover-global-cluster --region ${target.region} --global-cluster-identifier ${a.globalClusterId} --target-db-cluster-identifier ${target.clusterArn} --allow-data-loss`,
        `aws rds wait db-cluster-available --region ${target.region} --db-cluster-identifier ${target.clusterArn}`,
        stopReplication,
        ...startStages,
        ...reorder,
        `# once ${primary.region} is back: ${drain(a.routing, primary.routingId, false)}, then rejoin it as a secondary (pulumi up)`,
      ],
    };
  }
  return runbooks;
}

/** The runbooks as a stack output, resolved once the ids are known. */
export function failoverCommands(a: FailoverArgs): pulumi.Output<Record<string, RegionRunbook>> {
  return pulumi
    .all([
      a.globalClusterId,
      pulumi.all(
        a.regions.map((r) =>
          pulumi
            .all([r.clusterArn, r.kafkaArn, r.routingId, r.clusterName])
            .apply(([clusterArn, kafkaArn, routingId, clusterName]) => ({
              region: r.region,
              prefix: r.prefix,
              clusterArn,
              kafkaArn,
              routingId,
              ...(clusterName ? { clusterName } : {}),
            })),
        ),
      ),
      pulumi.output(a.replicatorArns),
    ])
    .apply(([globalClusterId, regions, replicatorArns]) =>
      failoverRunbooks({
        globalClusterId,
        homeRegion: a.homeRegion,
        routing: a.routing,
        regions,
        replicatorArns: replicatorArns,
      }),
    );
}
