/**
 * The configuration rules that span keys, and those of the tier x cloud a stack picks (from the
 * registry). Messages say what is allowed; formatIssue adds the key and the value received.
 */
import type { z } from "zod";
import type { ConfigInput } from "./config";
import { MANAGED_LLM_PROVIDERS } from "./choices";
import { checkGpuFit } from "./gpu-fit";
import { parseModelSource } from "./model-source";
import { CLOUDS_BUILT, PLATFORMS, cloudsOf } from "./registry";
import { cidrsOverlap } from "../components/shared/cidr";
import { regionCidrs, regionCode } from "./regions";
import { supportRange, supportsMinor } from "./versions";

type Ctx = z.RefinementCtx;

function problem(ctx: Ctx, path: (string | number)[], message: string): void {
  ctx.addIssue({ code: "custom", path, message });
}

/** Rules that span keys. Messages say what is allowed; formatIssue adds the key and the value. */
export function checkCombinations(cfg: ConfigInput, ctx: Ctx): void {
  const supported = cloudsOf(cfg.tier);
  if (!supported.includes(cfg.cloud)) {
    problem(
      ctx,
      ["cloud"],
      `the ${cfg.tier} tier runs on ${supported.join(", ")} (allowed: ${supported.join(", ")})`,
    );
    return;
  }
  checkRegions(cfg, ctx);
  // One cloud's keys, set on another, would pass silently.
  const cloudOnly: [string[], unknown, ConfigInput["cloud"]][] = [
    [["observability", "azureActionGroupIds"], cfg.observability.azureActionGroupIds, "azure"],
    [
      ["observability", "gcpNotificationChannels"],
      cfg.observability.gcpNotificationChannels,
      "gcp",
    ],
    [["kubernetes", "gpuZones"], cfg.kubernetes.gpuZones, "gcp"],
  ];
  for (const [path, value, cloud] of cloudOnly) {
    if (value !== undefined && cfg.cloud !== cloud)
      problem(ctx, path, `only used on ${cloud} (the stack is on ${cfg.cloud})`);
  }
  for (const key of ["api", "worker"] as const) {
    const s = cfg[key];
    if (s.minReplicas > s.maxReplicas) {
      problem(ctx, [key, "minReplicas"], `must be at most ${key}.maxReplicas (${s.maxReplicas})`);
    }
    if (s.replicas < s.minReplicas || s.replicas > s.maxReplicas) {
      problem(
        ctx,
        [key, "replicas"],
        `must lie between ${key}.minReplicas (${s.minReplicas}) and ${key}.maxReplicas (${s.maxReplicas})`,
      );
    }
  }
  if (cfg.postgres.maxStorageGiB < cfg.postgres.storageGiB) {
    problem(
      ctx,
      ["postgres", "maxStorageGiB"],
      `must be at least postgres.storageGiB (${cfg.postgres.storageGiB})`,
    );
  }
  if (cfg.redis.highAvailability && cfg.redis.replicas < 1) {
    problem(
      ctx,
      ["redis", "replicas"],
      "must be at least 1 when redis.highAvailability is true (failover needs a replica)",
    );
  }
  checkVectorDb(cfg, ctx);
  checkLlm(cfg, ctx);
  checkTierCapabilities(cfg, ctx);
  checkKubernetes(cfg, ctx);
  checkSecurity(cfg, ctx);
  if (cfg.observability.exporter === "otlp" && !cfg.observability.otlpEndpoint) {
    problem(ctx, ["observability", "otlpEndpoint"], "required when observability.exporter is otlp");
  }
  // A vendor setting beside another vendor's exporter is a mistake that would pass silently.
  for (const [key, exporter] of [
    ["datadogSite", "datadog"],
    ["newRelicRegion", "newrelic"],
    ["otlpAuthHeader", "otlp"],
  ] as const) {
    if (cfg.observability[key] !== undefined && cfg.observability.exporter !== exporter) {
      problem(
        ctx,
        ["observability", key],
        `only used with observability.exporter ${exporter} (the exporter is ${cfg.observability.exporter})`,
      );
    }
  }
  if (cfg.auth.oidcIssuerUrl && !cfg.auth.oidcClientId) {
    problem(ctx, ["auth", "oidcClientId"], "required when auth.oidcIssuerUrl is set");
  }
  checkModelSources(cfg, ctx);
  checkEnterprise(cfg, ctx);
  checkIngestRoles(cfg, ctx);
  CLOUDS_BUILT[cfg.cloud].validate?.(cfg, (path, message) => problem(ctx, path, message));
}

/** Model sources: for the models vLLM's stack serves (generation, embeddings), each well formed, S3 where AWS runs it. */
function checkModelSources(cfg: ConfigInput, ctx: Ctx): void {
  const sources = Object.entries(cfg.llm.modelSources ?? {});
  const kubernetes = cfg.tier === "sme" || cfg.tier === "enterprise";
  for (const [model, text] of sources) {
    const path = ["llm", "modelSources", model];
    if (model !== cfg.llm.model && model !== cfg.llm.embeddingModel) {
      problem(
        ctx,
        path,
        `names no model the stack serves from its store (allowed: llm.model = ${cfg.llm.model}, llm.embeddingModel = ${cfg.llm.embeddingModel})`,
      );
      continue;
    }
    if (cfg.llm.mode !== "self-hosted" || cfg.llm.server !== "vllm" || !kubernetes) {
      problem(
        ctx,
        path,
        "only used by vLLM and its embeddings server on the Kubernetes tiers (llm.server vllm, sme or enterprise)",
      );
      continue;
    }
    const source = parseModelSource(text);
    if ("error" in source) problem(ctx, path, source.error);
    else if (source.kind === "s3" && cfg.cloud !== "aws")
      problem(
        ctx,
        path,
        `s3:// is read with an AWS role: only on aws (the stack is on ${cfg.cloud})`,
      );
  }
  const s3 = sources.some(([, text]) => text.startsWith("s3://"));
  if (cfg.llm.modelSourceKmsKeyArn && !s3)
    problem(
      ctx,
      ["llm", "modelSourceKmsKeyArn"],
      "only used with an s3:// model source (llm.modelSources)",
    );
}

/** The enterprise tier routes users by DNS to the nearest healthy region, under one name. */
function checkEnterprise(cfg: ConfigInput, ctx: Ctx): void {
  if (cfg.tier !== "enterprise") {
    if (cfg.domain.hostedZoneId)
      problem(ctx, ["domain", "hostedZoneId"], "only used by the enterprise tier");
    if (cfg.enterprise.homeRegion)
      problem(ctx, ["enterprise", "homeRegion"], "only used by the enterprise tier");
    return;
  }
  const home = cfg.enterprise.homeRegion;
  if (home !== undefined && !cfg.regions.includes(home)) {
    problem(
      ctx,
      ["enterprise", "homeRegion"],
      `must be one of regions (${cfg.regions.join(", ")}): the keys and secrets the others replicate live there`,
    );
  }
  const dials = cfg.enterprise.trafficDialPercent;
  if (dials && cfg.enterprise.routing !== "global-accelerator")
    problem(
      ctx,
      ["enterprise", "trafficDialPercent"],
      "only used with enterprise.routing global-accelerator (Route 53 latency records have no dial)",
    );
  for (const region of Object.keys(dials ?? {}).filter((r) => !cfg.regions.includes(r)))
    problem(
      ctx,
      ["enterprise", "trafficDialPercent", region],
      `is not one of the stack's regions (${cfg.regions.join(", ")})`,
    );
  if (cfg.cloud !== "aws") return;
  if (!cfg.domain.hostname) {
    problem(
      ctx,
      ["domain", "hostname"],
      "required at enterprise: every region answers under it (Route 53 latency records, or an alias to the accelerator)",
    );
  }
  if (!cfg.domain.hostedZoneId) {
    problem(
      ctx,
      ["domain", "hostedZoneId"],
      "required at enterprise on aws: the Route 53 zone of domain.hostname (records, health checks, certificate validation)",
    );
  }
  if (cfg.domain.certificate) {
    problem(
      ctx,
      ["domain", "certificate"],
      "the enterprise tier issues an ACM certificate per region for domain.hostname (leave it unset)",
    );
  }
  if (cfg.llm.mode === "self-hosted") {
    const offers = PLATFORMS[cfg.tier][cfg.cloud]?.llmGpus;
    const fit = checkGpuFit(
      cfg.llm.embeddingModel,
      cfg.enterprise.embeddingGpuType,
      1,
      undefined,
      offers,
    );
    if (!fit.fits) problem(ctx, ["llm", "embeddingModel"], fit.message);
    const pool = cfg.enterprise.embeddingGpuNodes;
    if (pool.min > pool.max || pool.desired < pool.min || pool.desired > pool.max) {
      problem(
        ctx,
        ["enterprise", "embeddingGpuNodes", "desired"],
        `must lie between min (${pool.min}) and max (${pool.max}), with min at most max`,
      );
    }
  }
}

function checkRegions(cfg: ConfigInput, ctx: Ctx): void {
  if (cfg.cloud === "docker") {
    if (cfg.regions.length > 0)
      problem(ctx, ["regions"], "must be empty on docker (local containers have no region)");
    return;
  }
  const { pattern, example, known } = CLOUDS_BUILT[cfg.cloud].regions!;
  cfg.regions.forEach((region, i) => {
    if (!pattern.test(region))
      problem(ctx, ["regions", i], `must be a region name on ${cfg.cloud}, such as ${example}`);
    else if (known && !known.includes(region))
      problem(
        ctx,
        ["regions", i],
        `is not a region of ${cfg.cloud} (e.g. ${example}; see stacks/registry.ts)`,
      );
  });
  const wanted = cfg.tier === "enterprise" ? "at least 2 regions" : "exactly 1 region";
  const ok = cfg.tier === "enterprise" ? cfg.regions.length >= 2 : cfg.regions.length === 1;
  if (!ok) problem(ctx, ["regions"], `the ${cfg.tier} tier needs ${wanted}, e.g. [${example}]`);
  if (new Set(cfg.regions).size !== cfg.regions.length) {
    problem(ctx, ["regions"], "must not repeat a region");
    return;
  }
  // Each region's short code goes into its resource names: two regions may not share one.
  const codes = cfg.regions.map((region) => regionCode(cfg.cloud, region));
  const shared = codes.find((code, i) => codes.indexOf(code) !== i);
  if (shared) problem(ctx, ["regions"], `has two regions whose names both shorten to ${shared}`);
  checkRegionNetworks(cfg, ctx);
}

/** Enterprise: one network per region, none overlapping another (they are peered by nothing, but replication and operators reach across). */
function checkRegionNetworks(cfg: ConfigInput, ctx: Ctx): void {
  const given = cfg.network.regionCidrs;
  if (cfg.tier !== "enterprise") {
    if (given) problem(ctx, ["network", "regionCidrs"], "only used by the enterprise tier");
    return;
  }
  if (given && given.length !== cfg.regions.length) {
    problem(
      ctx,
      ["network", "regionCidrs"],
      `needs one range per region (${cfg.regions.length}: ${cfg.regions.join(", ")})`,
    );
    return;
  }
  let cidrs: string[];
  try {
    cidrs = regionCidrs(cfg);
  } catch (error) {
    problem(ctx, ["network", "cidr"], (error as Error).message);
    return;
  }
  for (let i = 0; i < cidrs.length; i++) {
    for (let j = i + 1; j < cidrs.length; j++) {
      if (cidrsOverlap(cidrs[i]!, cidrs[j]!)) {
        problem(
          ctx,
          ["network", given ? "regionCidrs" : "cidr"],
          `${cfg.regions[i]}'s ${cidrs[i]} overlaps ${cfg.regions[j]}'s ${cidrs[j]}: give each region a range of its own`,
        );
        return;
      }
    }
  }
  if (cfg.network.existingNetworkId) {
    problem(
      ctx,
      ["network", "existingNetworkId"],
      "the enterprise tier builds one network per region (leave it unset)",
    );
  }
}

function checkVectorDb(cfg: ConfigInput, ctx: Ctx): void {
  if (cfg.vectorDb.mode === "qdrant-cloud" && !cfg.vectorDb.qdrantCloudUrl) {
    problem(
      ctx,
      ["vectorDb", "qdrantCloudUrl"],
      "required when vectorDb.mode is qdrant-cloud (the cluster URL from the Qdrant Cloud console)",
    );
  }
  if (cfg.vectorDb.mode !== "qdrant-cloud" && cfg.vectorDb.qdrantCloudUrl) {
    problem(
      ctx,
      ["vectorDb", "qdrantCloudUrl"],
      `only used when vectorDb.mode is qdrant-cloud (mode is ${cfg.vectorDb.mode})`,
    );
  }
  if (cfg.cloud === "docker" && cfg.vectorDb.mode === "qdrant-cloud") {
    problem(
      ctx,
      ["vectorDb", "mode"],
      "the dev tier runs Qdrant locally (allowed on docker: qdrant, pgvector)",
    );
  }
}

function checkLlm(cfg: ConfigInput, ctx: Ctx): void {
  const llm = cfg.llm;
  if (llm.mode === "self-hosted" && cfg.cloud !== "docker") {
    const offers = PLATFORMS[cfg.tier][cfg.cloud]?.llmGpus;
    const fit = checkGpuFit(llm.model, llm.gpuType, llm.gpuCount, llm.modelMemoryGiB, offers);
    if (!fit.fits) problem(ctx, ["llm", "model"], fit.message);
  }
  if (llm.mode === "managed" && !llm.managedProvider) {
    problem(
      ctx,
      ["llm", "managedProvider"],
      `required when llm.mode is managed (allowed: ${MANAGED_LLM_PROVIDERS.join(", ")})`,
    );
  }
  if (
    llm.mode === "managed" &&
    (llm.managedProvider === "openai-compatible" || llm.managedProvider === "azure-openai") &&
    !llm.managedBaseUrl
  ) {
    problem(
      ctx,
      ["llm", "managedBaseUrl"],
      `required when llm.managedProvider is ${llm.managedProvider}`,
    );
  }
  if (cfg.cloud === "docker" && llm.server !== "ollama") {
    problem(
      ctx,
      ["llm", "server"],
      "the dev tier serves models with Ollama (allowed on docker: ollama)",
    );
  }
}

/** What each tier builds differs: refuse choices a tier does not build, saying what it does. */
function checkTierCapabilities(cfg: ConfigInput, ctx: Ctx): void {
  const entry = PLATFORMS[cfg.tier][cfg.cloud]!;
  const allowedExporters = entry.exporters;
  if (!allowedExporters.includes(cfg.observability.exporter)) {
    problem(
      ctx,
      ["observability", "exporter"],
      `the ${cfg.tier} tier on ${cfg.cloud} builds ${allowedExporters[0]} (allowed: ${allowedExporters.join(", ")})`,
    );
  }
  const offers = entry.llmGpus;
  const gpus = offers && Object.keys(offers);
  if (cfg.tier !== "staging") {
    if (cfg.llm.mode !== "self-hosted" || !offers) return;
    const offer = offers[cfg.llm.gpuType];
    if (!offer) {
      problem(
        ctx,
        ["llm", "gpuType"],
        `the ${cfg.tier} tier on ${cfg.cloud} has no node pool with this GPU (allowed: ${gpus!.join(", ")})`,
      );
    } else if (cfg.llm.gpuCount > offer.maxPerServer) {
      problem(
        ctx,
        ["llm", "gpuCount"],
        `${cfg.cloud} has no ${cfg.llm.gpuType} machine with more than ${offer.maxPerServer} GPUs (allowed: 1 to ${offer.maxPerServer})`,
      );
    }
    return;
  }
  if (cfg.vectorDb.mode === "qdrant") {
    problem(
      ctx,
      ["vectorDb", "mode"],
      "staging uses managed vector storage (allowed: pgvector, qdrant-cloud)",
    );
  }
  if (cfg.llm.mode === "self-hosted") {
    if (gpus && !gpus.includes(cfg.llm.gpuType)) {
      problem(
        ctx,
        ["llm", "gpuType"],
        `staging runs Ollama on one single-GPU machine (allowed on ${cfg.cloud}: ${gpus.join(", ")})`,
      );
    }
    if (cfg.llm.gpuCount !== 1)
      problem(ctx, ["llm", "gpuCount"], "staging's LLM host has exactly 1 GPU (allowed: 1)");
    if (cfg.llm.server !== "ollama")
      problem(ctx, ["llm", "server"], "staging's LLM host runs Ollama (allowed: ollama)");
  }
}

function checkKubernetes(cfg: ConfigInput, ctx: Ctx): void {
  // Every chart the cluster would run must support its Kubernetes version.
  for (const chart of PLATFORMS[cfg.tier][cfg.cloud]?.charts?.(cfg) ?? []) {
    if (!supportsMinor(chart.kubernetes, cfg.kubernetes.version)) {
      problem(
        ctx,
        ["kubernetes", "version"],
        `${chart.chart} ${chart.version} supports Kubernetes ${supportRange(chart.kubernetes)} (${chart.kubernetes.source})`,
      );
    }
  }
  for (const pool of ["systemNodes", "gpuNodes"] as const) {
    const p = cfg.kubernetes[pool];
    if (p.min > p.max)
      problem(
        ctx,
        ["kubernetes", pool, "min"],
        `must be at most kubernetes.${pool}.max (${p.max})`,
      );
    if (p.desired < p.min || p.desired > p.max) {
      problem(
        ctx,
        ["kubernetes", pool, "desired"],
        `must lie between kubernetes.${pool}.min (${p.min}) and kubernetes.${pool}.max (${p.max})`,
      );
    }
  }
  if (cfg.gitops.enabled && !cfg.gitops.repoUrl) {
    problem(
      ctx,
      ["gitops", "repoUrl"],
      cfg.tier === "enterprise"
        ? "required at the enterprise tier, which syncs each region's manifests with Argo CD (or set gitops.enabled: false)"
        : "required when gitops.enabled is true (the repository Argo CD syncs from)",
    );
  }
}

/** The mesh, the releases and the in-cluster stack need a cluster; the audit is built on AWS. */
function checkSecurity(cfg: ConfigInput, ctx: Ctx): void {
  const onCluster = cfg.tier === "sme" || cfg.tier === "enterprise";
  const needsCluster: [string[], boolean][] = [
    [["security", "mesh"], cfg.security.mesh !== "none"],
    [["security", "releases"], cfg.security.releases !== "deployments"],
    [["observability", "stack"], cfg.observability.stack !== "none"],
  ];
  for (const [path, asked] of needsCluster)
    if (asked && !onCluster)
      problem(ctx, path, `needs a Kubernetes tier (sme, enterprise); ${cfg.tier} runs none`);
  if (cfg.security.releases === "rollouts" && cfg.observability.stack !== "in-cluster")
    problem(
      ctx,
      ["security", "releases"],
      "rollouts measure their canaries on the region's Prometheus: needs observability.stack in-cluster",
    );
  if (cfg.security.audit.enabled && cfg.cloud !== "aws")
    problem(
      ctx,
      ["security", "audit", "enabled"],
      `is built on aws only (the stack is on ${cfg.cloud})`,
    );
  const siem = cfg.security.audit.siem;
  if (siem?.name !== undefined && siem.kind !== "http")
    problem(ctx, ["security", "audit", "siem", "name"], "only used with kind http");
  if (siem?.authHeader !== undefined && siem.kind !== "otlp")
    problem(ctx, ["security", "audit", "siem", "authHeader"], "only used with kind otlp");
  if (
    siem?.kind === "otlp" &&
    cfg.security.audit.enabled &&
    cfg.observability.stack !== "in-cluster"
  )
    problem(
      ctx,
      ["security", "audit", "siem", "kind"],
      "otlp is reached from the cluster (the log agent and the SIEM forwarder of the in-cluster stack): needs observability.stack in-cluster",
    );
  const o = cfg.observability;
  if (o.smtp && o.stack !== "in-cluster")
    problem(ctx, ["observability", "smtp"], "only used with observability.stack in-cluster");
  if (o.stack === "in-cluster" && o.alertEmails.length > 0 && !o.smtp)
    problem(
      ctx,
      ["observability", "smtp"],
      "required to e-mail tickets to alertEmails with observability.stack in-cluster",
    );
}

/**
 * The ingest roles' bounds: KEDA's replicas between min and max, and no more of them than the
 * topics have partitions (one partition goes to one member of a group: the rest would sit idle).
 */
function checkIngestRoles(cfg: ConfigInput, ctx: Ctx): void {
  const ingest = cfg.enterprise.ingest;
  for (const role of ["parse", "embed", "index"] as const) {
    const r = ingest[role];
    if (r.minReplicas > r.maxReplicas)
      problem(
        ctx,
        ["enterprise", "ingest", role, "minReplicas"],
        `must be at most maxReplicas (${r.maxReplicas})`,
      );
    if (r.maxReplicas > ingest.partitions)
      problem(
        ctx,
        ["enterprise", "ingest", role, "maxReplicas"],
        `must be at most enterprise.ingest.partitions (${ingest.partitions}): a consumer past the topic's partitions gets none and sits idle`,
      );
  }
}
