/**
 * dev: fast iteration on one machine. The docker-compose shape of TIERS.md: Postgres (pgvector),
 * Redis, Qdrant, Ollama with light models, the API and the ingest worker.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import type { Platform } from "../platforms/platform";
import { composeCore, standardOutputs } from "./core";

export function devTier(cfg: PlatformConfig, platform: Platform): Record<string, pulumi.Input<unknown>> {
  const core = composeCore(cfg, platform);
  return standardOutputs(cfg, core, platform);
}
