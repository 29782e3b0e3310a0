/**
 * enterprise: several regions serving at once. Every region runs the whole core (API, workers,
 * Qdrant, model servers, Redis) on its own EKS cluster, reads its own copies of the documents,
 * catalogue, secrets and keys, and answers under one name through Route 53 latency records with
 * health checks, or AWS Global Accelerator (enterprise.routing). Writes and ingest start in the primary (the first region) and reach the others
 * through replication: S3 replication, the Aurora Global Database, MSK Replicator.
 *
 * Other layers (zero trust, delivery, observability) attach to each region through
 * `EnterpriseRegionHook`: they get the region's cluster and providers once its core is built.
 */
import * as aws from "@pulumi/aws";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { replicateDocuments } from "../../components/aws/document-replication";
import { MskReplicator, type MskCluster } from "../../components/aws/msk";
import type { PlatformConfig } from "../config";
import { EnterpriseEksHost, EnterpriseShared, enterpriseSites } from "../platforms/aws-enterprise";
import { KubernetesPlatform } from "../platforms/kubernetes";
import { regionCidrs, regionSites, type RegionSite } from "../regions";
import { PRIMARY_TOPICS, REPLICATED_GROUPS, UPLOADS_TOPIC } from "../ingest-log";
import { failoverCommands } from "../failover";
import { composeCore, standardOutputs, type CoreOutputs } from "./core";
import { enterpriseRouting } from "./enterprise-routing";

/** One region of the enterprise tier, once its core is built: what other layers attach to. */
export interface EnterpriseRegion {
  readonly site: RegionSite;
  readonly cidr: string;
  readonly core: CoreOutputs;
  readonly platform: KubernetesPlatform;
  readonly host: EnterpriseEksHost;
  /** The region's AWS provider. */
  readonly awsProvider: aws.Provider;
  /** The region's cluster's Kubernetes provider. */
  readonly kubernetes: k8s.Provider;
  /** The region's ingest log. */
  readonly kafka: MskCluster;
}

/**
 * A layer built in every region after its core (the zero-trust mesh, progressive delivery,
 * observability): it returns outputs to add under the region's name, or nothing.
 */
export type EnterpriseRegionHook = (
  cfg: PlatformConfig,
  region: EnterpriseRegion,
) => Record<string, pulumi.Input<unknown>> | void;

/** The layers attached to every region, in order. Other issues add theirs here. */
export const REGION_LAYERS: EnterpriseRegionHook[] = [];

/** Builds every region, then what spans them; returns the stack's outputs. */
export function enterpriseAwsTier(
  cfg: PlatformConfig,
  layers: readonly EnterpriseRegionHook[] = REGION_LAYERS,
): Record<string, pulumi.Input<unknown>> {
  const sites = enterpriseSites(cfg, regionSites(cfg), regionCidrs(cfg));
  const shared = new EnterpriseShared(cfg, sites);
  const regions: EnterpriseRegion[] = [];
  const layerOutputs: Record<string, Record<string, pulumi.Input<unknown>>> = {};
  for (const s of sites) {
    const host = new EnterpriseEksHost(cfg, s, shared);
    const platform = new KubernetesPlatform(host, cfg, s.site);
    const core = composeCore(cfg, platform);
    const region: EnterpriseRegion = {
      site: s.site,
      cidr: s.cidr,
      core,
      platform,
      host,
      awsProvider: s.foundation.provider,
      kubernetes: host.kubernetes,
      kafka: host.ingestLog(),
    };
    regions.push(region);
    for (const layer of layers) {
      const out = layer(cfg, region);
      if (out) layerOutputs[s.site.region] = { ...layerOutputs[s.site.region], ...out };
    }
  }
  const [primary, ...others] = regions as [EnterpriseRegion, ...EnterpriseRegion[]];
  const replicators = others.map(
    (target) =>
      new MskReplicator(
        `${target.site.prefix}-kafka-from-${primary.site.code}`,
        {
          account: target.host.awsAccount,
          source: primary.kafka,
          target: target.kafka,
          targetNetwork: target.host.vpc,
          topics: PRIMARY_TOPICS,
          consumerGroups: REPLICATED_GROUPS,
        },
        { provider: target.awsProvider },
      ),
  );
  // Each other region's API publishes its uploads and deletes to its own uploads topic; this
  // carries them to the primary, whose relay puts them on the documents topic.
  for (const source of others)
    new MskReplicator(
      `${primary.site.prefix}-uploads-from-${source.site.code}`,
      {
        account: primary.host.awsAccount,
        source: source.kafka,
        target: primary.kafka,
        targetNetwork: primary.host.vpc,
        topics: [UPLOADS_TOPIC],
      },
      { provider: primary.awsProvider },
    );
  replicateDocuments(
    `${primary.site.prefix}-documents-replication`,
    {
      source: { store: primary.host.documentStore, key: primary.host.key },
      destinations: others.map((r) => ({
        region: r.site.region,
        store: r.host.documentStore,
        key: r.host.key,
      })),
    },
    { provider: primary.awsProvider },
  );
  const routing = enterpriseRouting(
    cfg,
    regions.map((r) => ({ region: r.site.region, code: r.site.code, core: r.core, host: r.host })),
    primary.awsProvider,
  );
  const base = standardOutputs(cfg, primary.core, primary.platform);
  return {
    tier: base.tier,
    cloud: base.cloud,
    apiUrl: base.apiUrl,
    webUrl: base.webUrl,
    adminApiKey: base.adminApiKey,
    backup: base.backup,
    primaryRegion: primary.site.region,
    regions: Object.fromEntries(
      regions.map((r) => [
        r.site.region,
        {
          primary: r.site.primary,
          cidr: r.cidr,
          regionalApiUrl: r.core.api.healthCheckUrl.apply((u) => u.replace(/\/readyz.*$/, "")),
          ...routing.regionOutputs[r.site.region],
          ...r.platform.accessOutputs(),
          ...layerOutputs[r.site.region],
        },
      ]),
    ),
    routing: routing.outputs,
    replication: {
      documents:
        "S3 replication from the primary's bucket to each region's (replica modifications synced back)",
      database: primary.host.requireDatabase().globalClusterId,
      ingestLog: Object.fromEntries(replicators.map((rep, i) => [others[i]!.site.region, rep.arn])),
    },
    failover: failoverCommands({
      globalClusterId: primary.host.requireDatabase().globalClusterId,
      homeRegion: regions.find((r) => r.site.home)!.site.region,
      regions: regions.map((r) => ({
        region: r.site.region,
        prefix: r.site.prefix,
        clusterArn: r.host.requireDatabase().clusterArn,
        kafkaArn: r.kafka.arn,
        routingId: routing.handles[r.site.region]!,
        clusterName: r.host.cluster.name,
      })),
      routing: cfg.enterprise.routing,
      replicatorArns: Object.fromEntries(
        replicators.map((rep, i) => [others[i]!.site.region, rep.arn]),
      ),
    }),
  };
}
