import { describe, expect, it } from "vitest";
import { resolveConfig } from "../stacks/config";
import { ConfigError } from "../stacks/config-errors";
import { regionCode, regionSites, siteName } from "../stacks/regions";

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
      { region: "local", code: "local", prefix: "rag-dev", primary: true, namePrefix: undefined },
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
});
