import { describe, expect, it } from "vitest";
import { resolveConfig } from "../stacks/config";
import { NotImplementedError } from "../stacks/config-errors";
import { builtPairs, cloudsOf, platformFactory, PLATFORMS } from "../stacks/registry";
import { TIERS } from "../stacks/choices";
import { ENTERPRISE_REQUIRED } from "./helpers";

/** The enterprise tier on AWS answers under a name in a Route 53 zone. */

describe("the registry of what is built", () => {
  it("is where a tier's clouds, its default exporter and its sizes come from", () => {
    expect(cloudsOf("dev")).toEqual(["docker"]);
    expect(cloudsOf("sme")).toEqual(["aws", "azure", "gcp"]);
    for (const tier of TIERS) {
      for (const cloud of cloudsOf(tier)) {
        const entry = PLATFORMS[tier][cloud]!;
        const regions = tier === "dev" ? [] : undefined;
        const cfg = resolveConfig({
          tier,
          cloud,
          ...(regions ? { regions } : {}),
          gcpProject: cloud === "gcp" ? "rag-project-1" : undefined,
          ...(tier === "enterprise" && cloud === "aws" ? { ...ENTERPRISE_REQUIRED } : {}),
        });
        expect(cfg.observability.exporter, `${tier} on ${cloud}`).toBe(entry.exporters[0]);
        expect(cfg.postgres.size).toBe(entry.sizes?.postgres ?? "local");
        expect(cfg.redis.size).toBe(entry.sizes?.redis ?? "local");
      }
    }
    expect(
      resolveConfig({ tier: "enterprise", ...ENTERPRISE_REQUIRED }).kubernetes.systemNodeType,
    ).toBe("m6i.xlarge");
    expect(
      resolveConfig({ tier: "sme", cloud: "gcp", gcpProject: "rag-project-1" }).kubernetes
        .systemNodeType,
    ).toBe("n2-standard-4");
  });

  it("refuses a cloud the tier does not run on, naming those it does", () => {
    expect(() => resolveConfig({ tier: "dev", cloud: "aws" })).toThrow(
      'rag-platform:cloud: got "aws"; the dev tier runs on docker (allowed: docker)',
    );
  });

  it("fails a planned pair whole, listing what is built", () => {
    const cfg = resolveConfig({ tier: "enterprise", cloud: "gcp", gcpProject: "rag-ent-123" });
    expect(() => platformFactory(cfg)).toThrow(NotImplementedError);
    expect(() => platformFactory(cfg)).toThrow(
      `the enterprise tier is not implemented for gcp yet: no resources were registered. Built so far: ${builtPairs().join(", ")}.`,
    );
    expect(builtPairs()).toEqual([
      "dev on docker",
      "staging on aws",
      "staging on azure",
      "staging on gcp",
      "sme on aws",
      "sme on azure",
      "sme on gcp",
      "enterprise on aws",
    ]);
  });
});
