/**
 * The program: resolve the configuration, find the tier x cloud in the registry, build the tier
 * in its region. Everything that can fail on configuration fails here, before any resource is
 * registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { resolveConfig, type PlatformConfig } from "./config";
import { NotImplementedError } from "./config-errors";
import { platformFactory } from "./registry";
import { regionSites } from "./regions";
import { readStackValues } from "./stack-values";
import { devTier } from "./tiers/dev";
import { smeTier } from "./tiers/sme";
import { stagingTier } from "./tiers/staging";

type StackOutputs = Record<string, pulumi.Input<unknown>>;

function runTier(cfg: PlatformConfig): StackOutputs {
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
    case "enterprise":
      throw new NotImplementedError(`the ${cfg.tier} tier is not implemented for ${cfg.cloud} yet`);
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
