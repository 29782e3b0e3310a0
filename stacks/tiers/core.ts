/**
 * The services every tier deploys (tiers keep parity: same services and contracts, only size
 * and hardening change). Cloud-neutral: it asks the platform for each capability.
 */
import * as pulumi from "@pulumi/pulumi";
import type {
  ApiEndpoint,
  ObjectStore,
  PostgresEndpoint,
  SecretRef,
} from "../../components/contracts";
import type { PlatformConfig } from "../config";
import type { Platform } from "../platforms/platform";
import { regionSites, type RegionSite } from "../regions";
import { secretOutput } from "../registry";
import { runtimeEnvironment } from "../runtime-env";

export interface CoreOutputs {
  readonly api: ApiEndpoint;
  readonly adminApiKey: SecretRef;
  /** The catalogue's database, and the documents' store: what a tier replicates across regions. */
  readonly postgres: PostgresEndpoint;
  readonly objectStore: ObjectStore;
}

/** One region of a stack: where it is, its platform, and the core services built there. */
export interface RegionalCore {
  readonly site: RegionSite;
  readonly platform: Platform;
  readonly core: CoreOutputs;
}

/**
 * The core services in every region of the stack, primary first, each on a platform of its own
 * (that region's providers; names carrying its code). The unit a multi-region tier composes
 * before adding its global resources (routing, replication) across the regions.
 */
export function composeRegions(
  cfg: PlatformConfig,
  create: (cfg: PlatformConfig, site: RegionSite) => Platform,
): RegionalCore[] {
  return regionSites(cfg).map((site) => {
    const platform = create(cfg, site);
    return { site, platform, core: composeCore(cfg, platform) };
  });
}

/** The services every tier deploys, in the platform's one region. */
export function composeCore(cfg: PlatformConfig, platform: Platform): CoreOutputs {
  const postgres = platform.postgres({ ...cfg.postgres, databaseName: "rag" });
  const redis = platform.redis(cfg.redis);
  const vectorDb = platform.vectorDb(cfg.vectorDb);
  const objectStore = platform.objectStore(cfg.documents);
  const llm = platform.llm(cfg.llm);
  const adminApiKey = platform.generatedSecret("admin-api-key", 48);
  const oidcClientSecret = cfg.auth.oidcIssuerUrl
    ? platform.externalSecret(
        "oidc-client-secret",
        "OIDC client secret of the runtime's SSO application",
      )
    : undefined;
  const env = runtimeEnvironment(cfg, {
    postgres,
    redis,
    vectorDb,
    objectStore,
    llm,
    adminApiKey,
    oidcClientSecret,
  });
  const api = platform.runtimeServices({ env, api: cfg.api, worker: cfg.worker });
  platform.observability(cfg.observability);
  return { api, adminApiKey, postgres, objectStore };
}

/** Outputs every tier exports: the API URL and how to reach each service (those a platform leaves undefined left out). */
export function standardOutputs(
  cfg: PlatformConfig,
  core: CoreOutputs,
  platform: Platform,
): Record<string, pulumi.Input<unknown>> {
  const outputs: Record<string, pulumi.Input<unknown>> = {
    tier: cfg.tier,
    cloud: cfg.cloud,
    apiUrl: core.api.url,
    // The runtime serves its browser UI at the root of the API.
    webUrl: pulumi.interpolate`${core.api.url}/`,
    adminApiKey: secretOutput(core.adminApiKey),
    // Knowledge-base backups through the API (runtime/src/backup.ts), from a checkout.
    backup: backupCommands(core.api.url, core.adminApiKey),
    ...platform.accessOutputs(),
  };
  // Pulumi warns of each undefined output (GitOps off, CloudWatch not built): they mean "not here".
  return Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined));
}

/** The export and import commands of a knowledge-base backup, reading the admin key where it lives (never printing it). */
export function backupCommands(
  apiUrl: pulumi.Input<string>,
  key: SecretRef,
): pulumi.Output<{ export: string; import: string }> {
  const inStack =
    key.kind === "generated" ||
    ((key.kind === "azure-keyvault" || key.kind === "gcp-secretmanager") &&
      key.value !== undefined);
  const readKey = inStack
    ? pulumi.output("pulumi stack output adminApiKey --show-secrets")
    : pulumi.output(secretOutput(key) as pulumi.Input<string>);
  return pulumi.all([apiUrl, readKey]).apply(([url, read]) => {
    // A URL still pending at preview time (an ALB the controller creates) is read from the stack once it exists.
    const target = /^https?:\/\//.test(url) ? url : '"$(pulumi stack output apiUrl)"';
    const run = `RAG_API_URL=${target} RAG_API_KEY="$(${read})" npm run backup -w runtime --`;
    return {
      export: `${run} export --out kb-$(date +%F).tar.gz`,
      import: `${run} import --in kb.tar.gz`,
    };
  });
}

/** The tiers that are exactly the core services plus the standard outputs (dev, staging). */
export function composeStandardTier(
  cfg: PlatformConfig,
  platform: Platform,
): Record<string, pulumi.Input<unknown>> {
  return standardOutputs(cfg, composeCore(cfg, platform), platform);
}
