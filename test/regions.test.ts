import { describe, expect, it } from "vitest";
import { resolveConfig } from "../stacks/config";
import { ConfigError } from "../stacks/config-errors";
import { regionCidrs, regionCode, regionSites, siteName } from "../stacks/regions";

describe("region codes in resource names", () => {
  it.each([
    ["aws", "eu-west-1", "euw1"],
    ["aws", "eu-central-1", "euc1"],
    ["aws", "ap-southeast-2", "apse2"],
    ["aws", "ap-south-1", "aps1"],
    ["aws", "us-gov-west-1", "usgw1"],
    ["gcp", "europe-west1", "euw1"],
    ["gcp", "europe-west12", "euw12"],
    ["gcp", "northamerica-northeast1", "nane1"],
    ["gcp", "us-central1", "usc1"],
    ["azure", "westeurope", "weu"],
    ["azure", "eastus2", "eus2"],
    ["azure", "qatarcentral", "qatarcentral"],
  ] as const)("%s %s is %s", (cloud, region, code) => {
    expect(regionCode(cloud, region)).toBe(code);
  });

  it("a single-region stack keeps its names; several regions put the code in every name", () => {
    const [single] = regionSites({ tier: "sme", cloud: "aws", regions: ["eu-west-1"] });
    expect(single).toEqual({
      region: "eu-west-1",
      code: "euw1",
      prefix: "rag-sme",
      primary: true,
      home: true,
      namePrefix: undefined,
    });
    expect(siteName(single!, "keda")).toBe("keda");

    const sites = regionSites({
      tier: "enterprise",
      cloud: "aws",
      regions: ["eu-west-1", "eu-central-1"],
    });
    expect(sites.map((s) => [s.prefix, s.primary])).toEqual([
      ["rag-enterprise-euw1", true],
      ["rag-enterprise-euc1", false],
    ]);
    expect(sites.map((s) => siteName(s, "keda"))).toEqual([
      "rag-enterprise-euw1-keda",
      "rag-enterprise-euc1-keda",
    ]);
  });

  it("Docker has one local site", () => {
    expect(regionSites({ tier: "dev", cloud: "docker", regions: [] })).toEqual([
      {
        region: "local",
        code: "local",
        prefix: "rag-dev",
        primary: true,
        home: true,
        namePrefix: undefined,
      },
    ]);
  });

  it("refuses two regions whose names shorten to the same code", () => {
    // Two Azure regions outside the table keep their names: only a real clash is refused.
    expect(() =>
      resolveConfig({ tier: "enterprise", cloud: "azure", regions: ["westeurope", "weu"] }),
    ).toThrow(/rag-platform:regions: .*both shorten to weu/);
    expect(() =>
      resolveConfig({ tier: "enterprise", cloud: "azure", regions: ["westeurope", "weu"] }),
    ).toThrow(ConfigError);
  });

  it("keeps the home region and every derived range when a failover lists the new primary first", () => {
    const network = { cidr: "10.60.0.0/16" };
    const enterprise = { homeRegion: "eu-west-1" };
    const was = ["eu-west-1", "eu-central-1", "eu-north-1"];
    const is = ["eu-central-1", "eu-west-1", "eu-north-1"];
    const ranges = (regions: string[]) =>
      Object.fromEntries(
        regionCidrs({ regions, network, enterprise }).map((c, i) => [regions[i], c]),
      );
    expect(ranges(is)).toEqual(ranges(was));
    expect(ranges(was)).toEqual({
      "eu-west-1": "10.60.0.0/16",
      "eu-central-1": "10.61.0.0/16",
      "eu-north-1": "10.62.0.0/16",
    });
    const sites = regionSites({ tier: "enterprise", cloud: "aws", regions: is, enterprise });
    expect(sites.map((s) => [s.region, s.primary, s.home])).toEqual([
      ["eu-central-1", true, false],
      ["eu-west-1", false, true],
      ["eu-north-1", false, false],
    ]);
    // Without enterprise.homeRegion the first region is home.
    expect(
      regionSites({ tier: "enterprise", cloud: "aws", regions: is }).map((s) => s.home),
    ).toEqual([true, false, false]);
  });

  it("refuses a home region that is not one of the regions, and one below enterprise", () => {
    expect(() =>
      resolveConfig({
        tier: "enterprise",
        cloud: "aws",
        regions: ["eu-west-1", "eu-central-1"],
        domain: { hostname: "rag.example.com", hostedZoneId: "Z0123456789ABCDEFGHIJ" },
        enterprise: { homeRegion: "us-east-1" },
      }),
    ).toThrow(
      /rag-platform:enterprise\.homeRegion: .*must be one of regions \(eu-west-1, eu-central-1\)/,
    );
    expect(() =>
      resolveConfig({
        tier: "sme",
        cloud: "aws",
        regions: ["eu-west-1"],
        enterprise: { homeRegion: "eu-west-1" },
      }),
    ).toThrow(/rag-platform:enterprise\.homeRegion: .*only used by the enterprise tier/);
  });
});
