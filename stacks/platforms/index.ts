import { NotImplementedError } from "../config-errors";
import type { Cloud, PlatformConfig, Tier } from "../config";
import { AwsEcsPlatform } from "./aws-ecs";
import { AwsEksPlatform } from "./aws-eks";
import { AzureAcaPlatform } from "./azure-aca";
import { GcpRunPlatform } from "./gcp-run";
import { DockerPlatform } from "./docker";
import type { Platform } from "./platform";

/** Which tier x cloud pairs are built. Anything else fails whole, before any resource. */
export const IMPLEMENTED: Record<Tier, readonly Cloud[]> = {
  dev: ["docker"],
  staging: ["aws", "azure", "gcp"],
  sme: ["aws"],
  enterprise: [],
};

export function assertImplemented(cfg: PlatformConfig): void {
  if (!IMPLEMENTED[cfg.tier].includes(cfg.cloud)) {
    throw new NotImplementedError(
      `the ${cfg.tier} tier is not implemented for ${cfg.cloud} yet: no resources were registered. ` +
        `Built so far: ${Object.entries(IMPLEMENTED)
          .flatMap(([t, clouds]) => clouds.map((c) => `${t} on ${c}`))
          .join(", ")}.`,
    );
  }
}

/** The platform for the stack's cloud. Call assertImplemented first. */
export function createPlatform(cfg: PlatformConfig, prefix: string): Platform {
  const cloud: Cloud = cfg.cloud;
  switch (cloud) {
    case "docker":
      return new DockerPlatform(prefix, cfg);
    case "aws":
      return cfg.tier === "staging"
        ? new AwsEcsPlatform(prefix, cfg, cfg.regions[0]!)
        : new AwsEksPlatform(prefix, cfg, cfg.regions[0]!);
    case "azure":
      if (cfg.tier === "staging") return new AzureAcaPlatform(prefix, cfg, cfg.regions[0]!);
      throw new NotImplementedError(
        `the ${cfg.tier} tier is not implemented for ${cloud} yet: no resources were registered.`,
      );
    case "gcp":
      if (cfg.tier === "staging") return new GcpRunPlatform(prefix, cfg, cfg.regions[0]!);
      throw new NotImplementedError(
        `the ${cfg.tier} tier is not implemented for ${cloud} yet: no resources were registered.`,
      );
    default: {
      const unreachable: never = cloud;
      throw new Error(`unknown cloud ${String(unreachable)}`);
    }
  }
}
