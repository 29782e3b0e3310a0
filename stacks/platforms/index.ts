import { NotImplementedError } from "../config-errors";
import type { Cloud, PlatformConfig } from "../config";
import { DockerPlatform } from "./docker";
import type { Platform } from "./platform";

/** The platform for the stack's cloud. Clouds not built yet fail whole, before any resource. */
export function createPlatform(cfg: PlatformConfig, prefix: string): Platform {
  const cloud: Cloud = cfg.cloud;
  switch (cloud) {
    case "docker":
      return new DockerPlatform(prefix, cfg);
    case "aws":
    case "azure":
    case "gcp":
      throw new NotImplementedError(
        `the ${cfg.tier} tier is not implemented for ${cloud} yet: no resources were registered. ` +
          `Track the platform issues, or synthesize the dev tier (cloud docker) meanwhile.`,
      );
    default: {
      const unreachable: never = cloud;
      throw new Error(`unknown cloud ${String(unreachable)}`);
    }
  }
}
