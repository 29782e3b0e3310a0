/**
 * The program: resolve the configuration, find the tier x cloud in the registry, build the tier
 * in its region. Everything that can fail on configuration fails here, before any resource is
 * registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { resolveConfig, type PlatformConfig } from "./config";
import { platformFactory, tierComposer } from "./registry";
import { regionSites } from "./regions";
import { readStackValues } from "./stack-values";
import { devTier } from "./tiers/dev";
import { smeTier } from "./tiers/sme";
import { stagingTier } from "./tiers/staging";

type StackOutputs = Record<string, pulumi.Input<unknown>>;

function runTier(cfg: PlatformConfig): StackOutputs {
  // The multi-region tier builds its regions itself (one platform each, then what spans them).
  if (cfg.tier === "enterprise") return tierComposer(cfg)(cfg);
  const create = platformFactory(cfg);
  // The single-region tiers: their one site (the enterprise tier composes one per region).
  const [site] = regionSites(cfg);
  const platform = create(cfg, site!);
  switch (cfg.tier) {
    case "dev":
      return devTier(cfg, platform);
    case "staging":
      return stagingTier(cfg, platform);
    case "sme":
      return smeTier(cfg, platform);
    default: {
      const unreachable: never = cfg.tier;
      throw new Error(`unknown tier ${String(unreachable)}`);
    }
  }
}

/** Entry point for `pulumi up` and for offline synthesis alike. */
export async function main(): Promise<StackOutputs> {
  const cfg = resolveConfig(readStackValues(), (message) => void pulumi.log.warn(message));
  return runTier(cfg);
}
