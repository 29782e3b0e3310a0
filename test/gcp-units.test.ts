/** The GCP components' own logic, apart from any stack: sizes, the address plan, file paths, the dashboard. */
import { describe, expect, it } from "vitest";
import {
  cloudRunSize,
  environmentVariables,
  mountedPath,
  probes,
} from "../components/gcp/cloud-run-spec";
import { dashboardContent } from "../components/gcp/monitoring";
import { memorystoreSize } from "../components/gcp/redis";
import { gcpSubnetPlan } from "../components/gcp/subnet-plan";
import * as pulumi from "@pulumi/pulumi";

describe("GCP subnet plan", () => {
  it("takes the range's first /20 for the workloads and puts the GPU host at its tenth address", () => {
    expect(gcpSubnetPlan("10.40.0.0/16")).toEqual({
      workloads: "10.40.0.0/20",
      ollamaAddress: "10.40.0.10",
    });
    expect(gcpSubnetPlan("172.20.16.0/20")).toEqual({
      workloads: "172.20.16.0/20",
      ollamaAddress: "172.20.16.10",
    });
  });

  it("refuses a range the subnet does not fit in", () => {
    expect(() => gcpSubnetPlan("10.40.0.0/22")).toThrow(
      "10.40.0.0/22 is too small; the subnet needs a /20 or larger",
    );
  });
});

describe("Cloud Run sizes", () => {
  it("picks the smallest CPU count with the memory asked for, within the memory each CPU count allows", () => {
    expect(cloudRunSize(1000, 2048)).toEqual({ cpu: "1", memory: "2048Mi" });
    expect(cloudRunSize(500, 256)).toEqual({ cpu: "1", memory: "512Mi" });
    expect(cloudRunSize(1000, 6000)).toEqual({ cpu: "2", memory: "6016Mi" });
    expect(cloudRunSize(3000, 1024)).toEqual({ cpu: "4", memory: "2048Mi" });
    expect(cloudRunSize(2000, 20000)).toEqual({ cpu: "6", memory: "20096Mi" });
    expect(() => cloudRunSize(16000, 4096)).toThrow(
      "no Cloud Run size has 16000 millicores and 4096 MiB (at most 8 vCPU and 32 GiB)",
    );
  });

  it("gives a starting process as long as asked before its startup probe fails", () => {
    const { startupProbe, livenessProbe } = probes(8080, 1260);
    expect(startupProbe.periodSeconds * startupProbe.failureThreshold).toBeGreaterThanOrEqual(1260);
    expect(livenessProbe).toMatchObject({ httpGet: { path: "/healthz", port: 8080 } });
  });
});

describe("files on Cloud Run", () => {
  it("put each variable's file in a directory of its own (Cloud Run mounts one secret per path)", () => {
    expect(mountedPath("PGPASSWORD")).toBe("/run/secrets/rag/pgpassword/PGPASSWORD");
    expect(mountedPath("PGSSLROOTCERT")).toBe("/run/secrets/rag/pgsslrootcert/PGSSLROOTCERT");
  });

  it("name a secret's file with <NAME>_FILE and a CA file with its own variable", () => {
    const ref = { kind: "gcp-secretmanager" as const, secretId: pulumi.output("s"), project: "p" };
    const envs = environmentVariables(
      { plain: { PGHOST: "10.0.0.3" }, secrets: { PGPASSWORD: ref } },
      { HOST: "0.0.0.0" },
      [
        { variable: "PGPASSWORD", ref },
        { variable: "PGSSLROOTCERT", ref },
      ],
    );
    expect(envs).toEqual([
      { name: "HOST", value: "0.0.0.0" },
      { name: "PGHOST", value: "10.0.0.3" },
      { name: "PGPASSWORD_FILE", value: "/run/secrets/rag/pgpassword/PGPASSWORD" },
      { name: "PGSSLROOTCERT", value: "/run/secrets/rag/pgsslrootcert/PGSSLROOTCERT" },
    ]);
  });
});

describe("Memorystore sizes", () => {
  it("read the tier and the GB from the config's name", () => {
    expect(memorystoreSize("STANDARD_HA-1")).toEqual({ tier: "STANDARD_HA", memorySizeGb: 1 });
    expect(memorystoreSize("BASIC-5")).toEqual({ tier: "BASIC", memorySizeGb: 5 });
    expect(() => memorystoreSize("cache.t4g.small")).toThrow(
      '"cache.t4g.small" is not a Memorystore tier and size',
    );
    expect(() => memorystoreSize("STANDARD_HA-301")).toThrow("is not a Memorystore tier and size");
  });
});

describe("the staging dashboard", () => {
  it("charts the API's requests and latency, both services' instances, Cloud SQL and Memorystore", () => {
    const tiles = (
      dashboardContent("rag-staging-monitoring", "rag-api", "rag-worker") as {
        mosaicLayout: {
          tiles: {
            widget: {
              title: string;
              xyChart: {
                dataSets: { timeSeriesQuery: { timeSeriesFilter: { filter: string } } }[];
              };
            };
          }[];
        };
      }
    ).mosaicLayout.tiles;
    expect(tiles.map((t) => t.widget.title)).toEqual([
      "API requests by response class",
      "API latency p95 (ms)",
      "Instances (API, worker)",
      "Cloud SQL CPU",
      "Memorystore memory used",
    ]);
    const filter = (i: number) =>
      tiles[i]!.widget.xyChart.dataSets[0]!.timeSeriesQuery.timeSeriesFilter.filter;
    expect(filter(0)).toContain('resource.label."service_name"="rag-api"');
    expect(filter(2)).toContain('one_of("rag-api","rag-worker")');
  });
});
