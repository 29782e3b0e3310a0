/**
 * Add-on currency: every chart a tier's cluster runs supports the tier's pinned Kubernetes
 * version, as its project states it; a version outside is refused before any resource.
 */
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../stacks/config";
import { ConfigError } from "../stacks/config-errors";
import { PLATFORMS, cloudsOf } from "../stacks/registry";
import { TIERS } from "../stacks/choices";
import {
  CHARTS,
  CLUSTER_AUTOSCALER_TAGS,
  KUBERNETES_MINORS,
  supportRange,
  supportsMinor,
} from "../stacks/versions";
import { ENTERPRISE_REQUIRED } from "./helpers";

/** Every chart the config could make a cluster run: GitOps on, Qdrant, a telemetry backend. */
const EVERYTHING = {
  gitops: { enabled: true, path: "deploy", targetRevision: "main" },
  vectorDb: { mode: "qdrant" as const, replicas: 3, storageGiB: 50, collection: "chunks" },
  observability: { exporter: "datadog" as const },
};

describe("pinned add-ons and the Kubernetes version", () => {
  it("every chart of every Kubernetes tier supports the tier's pinned version", () => {
    let checked = 0;
    for (const tier of TIERS) {
      for (const cloud of cloudsOf(tier)) {
        const charts = PLATFORMS[tier][cloud]?.charts?.(EVERYTHING);
        if (!charts) continue;
        const { version } = resolveConfig({
          tier,
          cloud,
          gcpProject: cloud === "gcp" ? "rag-project-1" : undefined,
          // Enterprise answers under one name in every region and names its GitOps repository.
          ...(tier === "enterprise" ? ENTERPRISE_REQUIRED : {}),
        }).kubernetes;
        for (const chart of charts) {
          expect(
            supportsMinor(chart.kubernetes, version),
            `${tier} on ${cloud}: ${chart.chart} ${chart.version} supports ${supportRange(chart.kubernetes)}, not ${version}`,
          ).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("reads a project's range: oldest and newest, or open-ended", () => {
    const keda = { min: "1.33", max: "1.35", source: "" };
    expect(["1.32", "1.33", "1.35", "1.36"].map((v) => supportsMinor(keda, v))).toEqual([
      false,
      true,
      true,
      false,
    ]);
    expect(supportsMinor({ min: "1.24", source: "" }, "1.40")).toBe(true);
    expect(supportsMinor({ min: "1.9", source: "" }, "1.10")).toBe(true);
    expect(supportRange(keda)).toBe("1.33-1.35");
  });

  it("refuses a Kubernetes version a chart the cluster runs does not support, naming the chart", () => {
    const problems = (sets: Record<string, unknown>) => {
      try {
        resolveConfig({ tier: "sme", ...sets });
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      return [];
    };
    expect(problems({ kubernetes: { version: "1.36" } })).toEqual([
      `rag-platform:kubernetes.version: got "1.36"; keda ${CHARTS.keda.version} supports Kubernetes 1.33-1.35 (${CHARTS.keda.kubernetes.source})`,
    ]);
    const withGitops = problems({
      kubernetes: { version: "1.36" },
      gitops: { enabled: true, repoUrl: "https://github.com/acme/deploy" },
    });
    expect(withGitops.map((p) => p.split(";")[1]!.trim().split(" ")[0])).toEqual([
      "keda",
      "argo-cd",
    ]);
    // Argo CD is not installed without GitOps, so its range does not apply then.
    expect(problems({ kubernetes: { version: "1.33" } })).toEqual([]);
  });

  it("has a Cluster Autoscaler release for every version accepted", () => {
    expect(Object.keys(CLUSTER_AUTOSCALER_TAGS)).toEqual(KUBERNETES_MINORS);
    for (const [minor, tag] of Object.entries(CLUSTER_AUTOSCALER_TAGS)) {
      expect(tag, "the autoscaler's minor is the cluster's").toMatch(
        new RegExp(`^v${minor}\\.\\d+$`),
      );
      expect(supportsMinor(CHARTS.clusterAutoscaler.kubernetes, minor)).toBe(true);
    }
  });
});
