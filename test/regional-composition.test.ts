/**
 * The shape a multi-region tier builds on: the core services composed once per region, each on
 * its own platform. Composed here in the two regions of Pulumi.enterprise.yaml on EKS.
 */
import * as k8s from "@pulumi/kubernetes";
import { beforeAll, describe, expect, it } from "vitest";
import { ClusterAddons } from "../components/kubernetes/cluster-addons";
import { resolveConfig } from "../stacks/config";
import { eksPlatform } from "../stacks/platforms/aws-eks";
import { readStackValues } from "../stacks/stack-values";
import { composeRegions } from "../stacks/tiers/core";
import { CHARTS } from "../stacks/versions";
import { synthesize, STACK_TYPE, type SynthResult } from "../tools/harness";

const REGIONS = { "rag-enterprise-euw1": "eu-west-1", "rag-enterprise-euc1": "eu-central-1" };

describe("the core composed in two regions", () => {
  let result: SynthResult;
  beforeAll(async () => {
    result = await synthesize({
      stack: "enterprise",
      program: async () => {
        const cfg = resolveConfig(readStackValues());
        const regions = composeRegions(cfg, eksPlatform);
        return Object.fromEntries(
          regions.map(({ site, core }) => [
            site.region,
            {
              healthCheckUrl: core.api.healthCheckUrl,
              database: core.postgres.resourceId,
              bucket: core.objectStore.resourceId,
              key: core.objectStore.encryptionKeyId,
            },
          ]),
        );
      },
    });
  }, 120_000);

  const prefixOf = (name: string) =>
    Object.keys(REGIONS).find((p) => name === p || name.startsWith(`${p}-`));

  it("gives every resource a distinct URN and a name carrying its region's code", () => {
    const resources = result.resources.filter((r) => r.type !== STACK_TYPE);
    const urns = resources.map((r) => r.urn);
    expect(new Set(urns).size).toBe(urns.length);
    expect(resources.filter((r) => !prefixOf(r.name)).map((r) => `${r.type} ${r.name}`)).toEqual(
      [],
    );
    // The account's audit trail (and its export, its HEC token) lives in the primary region alone; the log
    // agent's audit role (`-audit-agent`) is every region's.
    const trail = resources.filter((r) =>
      /^rag-enterprise-euw1-(audit(?!-agent)|siem-cloudtrail|siem-hec-token-cloudtrail)(-|$)/.test(
        r.name,
      ),
    );
    expect(trail.map((r) => r.type)).toContain("aws:cloudtrail/trail:Trail");
    const regional = resources.filter((r) => !trail.includes(r));
    for (const prefix of Object.keys(REGIONS)) {
      const mine = regional.filter((r) => prefixOf(r.name) === prefix);
      // Both regions hold the whole core: the same kinds of resource, as many of each.
      const kinds = (rs: typeof mine) => rs.map((r) => r.type).sort();
      expect(kinds(mine)).toEqual(kinds(regional.filter((r) => prefixOf(r.name) !== prefix)));
    }
    // The names inside each cluster stay what a single-region stack has.
    const keda = result.resources.filter((r) => r.name.endsWith("-keda") && r.custom);
    expect(keda.map((r) => [r.name, r.inputs.name])).toEqual([
      ["rag-enterprise-euw1-keda", "keda"],
      ["rag-enterprise-euc1-keda", "keda"],
    ]);
  });

  it("builds each region with that region's providers", () => {
    const providers = new Map(
      result.resources.filter((r) => r.type.startsWith("pulumi:providers:")).map((r) => [r.urn, r]),
    );
    const awsRegions = [...providers.values()]
      .filter((p) => p.type === "pulumi:providers:aws")
      .map((p) => [p.name, p.inputs.region]);
    expect(awsRegions).toEqual(Object.entries(REGIONS).map(([prefix, r]) => [`${prefix}-aws`, r]));
    for (const r of result.resources.filter((x) => x.custom && x.provider)) {
      const provider = providers.get(r.provider!.slice(0, r.provider!.lastIndexOf("::")))!;
      expect(prefixOf(provider.name), `${r.type} ${r.name}`).toBe(prefixOf(r.name));
      const cloud = r.type.split(":")[0];
      if (cloud === "kubernetes") expect(provider.name).toBe(`${prefixOf(r.name)}-eks-k8s`);
      if (cloud === "aws") expect(provider.name).toBe(`${prefixOf(r.name)}-aws`);
    }
  });

  it("gives a global router each region's health check, and replication each region's stores", () => {
    for (const region of Object.values(REGIONS)) {
      const out = result.outputs[region] as Record<string, string>;
      expect(out.healthCheckUrl, region).toMatch(/^http:\/\/[a-z0-9.]+\/readyz\?check=database$/);
      expect(out.database, region).toMatch(new RegExp(`^arn:aws:rds:${region}:`));
      expect(out.bucket, region).toMatch(/^arn:aws:s3:/);
      expect(out.key, region).toMatch(new RegExp(`^arn:aws:kms:${region}:`));
    }
    const [a, b] = Object.values(REGIONS).map((r) => result.outputs[r] as Record<string, string>);
    for (const key of ["healthCheckUrl", "database", "bucket", "key"])
      expect(a![key]).not.toBe(b![key]);
  });
});

describe("cluster add-ons a cloud already runs", () => {
  it("are left out, and the others installed", async () => {
    const releases = async (cloudProvides?: { metricsServer: boolean; gpuDevicePlugin: boolean }) =>
      (
        await synthesize({
          stack: "sme",
          program: async () => {
            const provider = new k8s.Provider("cluster", { kubeconfig: "{}" });
            new ClusterAddons("addons", { charts: CHARTS, cloudProvides }, { provider });
            return {};
          },
        })
      ).resources
        .filter((r) => r.type === "kubernetes:helm.sh/v3:Release")
        .map((r) => r.name)
        .sort();
    expect(await releases()).toEqual(["keda", "metrics-server", "nvidia-device-plugin"]);
    expect(await releases({ metricsServer: true, gpuDevicePlugin: true })).toEqual(["keda"]);
    expect(await releases({ metricsServer: true, gpuDevicePlugin: false })).toEqual([
      "keda",
      "nvidia-device-plugin",
    ]);
  });
});
