/**
 * Failover as code: the commands of a planned switchover and of a regional failover, for every
 * region that can take over, from the stack's own identifiers. `pulumi stack output failover`
 * prints them; docs/tiers/enterprise-aws.md says when to run which, and what to check.
 */
import * as pulumi from "@pulumi/pulumi";

export interface FailoverRegion {
  readonly region: string;
  readonly prefix: string;
  /** The region's Aurora cluster (of the global database). */
  readonly clusterArn: pulumi.Input<string>;
  /** The region's MSK cluster. */
  readonly kafkaArn: pulumi.Input<string>;
  /** The Route 53 health check of the region's API. */
  readonly healthCheckId: pulumi.Input<string>;
}

export interface FailoverArgs {
  readonly globalClusterId: pulumi.Input<string>;
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

/** Takes a region out of the answers (or puts it back): Route 53 health check inversion. */
function drain(healthCheckId: string, out: boolean): string {
  return `aws route53 update-health-check --health-check-id ${healthCheckId} --${out ? "" : "no-"}inverted`;
}

/** The runbooks of promoting each non-primary region, as shell commands with the stack's ids. */
export function failoverRunbooks(a: {
  globalClusterId: string;
  regions: readonly (Omit<FailoverRegion, "clusterArn" | "kafkaArn" | "healthCheckId"> & {
    clusterArn: string;
    kafkaArn: string;
    healthCheckId: string;
  })[];
  replicatorArns: Readonly<Record<string, string>>;
}): Record<string, RegionRunbook> {
  const [primary, ...others] = a.regions;
  if (!primary) throw new Error("failoverRunbooks: no region");
  const runbooks: Record<string, RegionRunbook> = {};
  for (const target of others) {
    const replicator = a.replicatorArns[target.region];
    const stopReplication = replicator
      ? `aws kafka delete-replicator --region ${target.region} --replicator-arn ${replicator}   # ingest now starts in ${target.region}; re-create the replicator the other way with pulumi up once regions lists ${target.region} first`
      : `# no replicator into ${target.region}`;
    // Ingest producers write to their own region's log; with the replicator into it gone, this
    // region's log is the one the others must follow: re-create their replicators from it.
    const producers = `# ingest: ${target.region}'s log is now the source; pulumi up with rag-platform:regions listing ${target.region} first re-creates the replicators from it`;
    runbooks[target.region] = {
      switchover: [
        `aws rds switchover-global-cluster --region ${target.region} --global-cluster-identifier ${a.globalClusterId} --target-db-cluster-identifier ${target.clusterArn}`,
        `aws rds wait db-cluster-available --region ${target.region} --db-cluster-identifier ${target.clusterArn}`,
        `aws kafka list-replicators --region ${target.region} --query "Replicators[].CurrentVersion"   # wait until the replicator's lag is 0 (CloudWatch ReplicationLatency)`,
        stopReplication,
        producers,
      ],
      failover: [
        drain(primary.healthCheckId, true),
        `aws rds failover-global-cluster --region ${target.region} --global-cluster-identifier ${a.globalClusterId} --target-db-cluster-identifier ${target.clusterArn} --allow-data-loss`,
        `aws rds wait db-cluster-available --region ${target.region} --db-cluster-identifier ${target.clusterArn}`,
        stopReplication,
        producers,
        `# once ${primary.region} is back: ${drain(primary.healthCheckId, false)}, then rejoin it as a secondary (pulumi up)`,
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
            .all([r.clusterArn, r.kafkaArn, r.healthCheckId])
            .apply(([clusterArn, kafkaArn, healthCheckId]) => ({
              region: r.region,
              prefix: r.prefix,
              clusterArn,
              kafkaArn,
              healthCheckId,
            })),
        ),
      ),
      pulumi.output(a.replicatorArns),
    ])
    .apply(([globalClusterId, regions, replicatorArns]) =>
      failoverRunbooks({
        globalClusterId,
        regions,
        replicatorArns: replicatorArns,
      }),
    );
}
