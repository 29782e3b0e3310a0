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
import { alertPolicyArgs, pagerDutyChannelCommands } from "../components/gcp/alerts";
import { gkeGpuMachineType, gpusOf } from "../components/gcp/gke-node-pool";
import { gcpSubnetPlan, gkeSubnetPlan } from "../components/gcp/subnet-plan";
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

describe("a GKE cluster's ranges", () => {
  it("cut a fixed block each from the range's first /16: nodes first (the Cloud Run subnet's), Services, proxies, pods", () => {
    const plan = gkeSubnetPlan("10.60.0.0/16");
    expect(plan).toEqual({
      nodes: "10.60.0.0/20",
      services: "10.60.16.0/20",
      proxyOnly: "10.60.32.0/23",
      pods: "10.60.64.0/18",
    });
    expect(plan.nodes).toBe(gcpSubnetPlan("10.60.0.0/16").workloads);
    expect(gkeSubnetPlan("10.60.0.0/15").pods).toBe("10.60.64.0/18");
  });

  it("refuse a range a cluster's ranges do not fit in", () => {
    expect(() => gkeSubnetPlan("10.60.0.0/20")).toThrow(
      "10.60.0.0/20 is too small; a cluster's ranges need a /16 or larger",
    );
  });
});

describe("GKE's GPU machines", () => {
  it("give the model server's 4 vCPUs and 24 GiB beside one GPU, and state their GPUs", () => {
    expect(gkeGpuMachineType("l4", 1)).toBe("g2-standard-8");
    expect(gkeGpuMachineType("t4", 2)).toBe("n1-highmem-16");
    expect(gkeGpuMachineType("a100", 3)).toBe("a2-highgpu-4g");
    expect(gpusOf("a100", "a2-highgpu-4g")).toBe(4);
    expect(() => gpusOf("l4", "a2-highgpu-1g")).toThrow(
      "a2-highgpu-1g is not a GKE l4 machine type",
    );
  });
});

describe("Cloud Monitoring alerts", () => {
  const scope = {
    project: "p",
    projectNumber: "1",
    region: "europe-west1",
    labels: { tier: "sme" },
    uniqueSuffix: "abc123",
    apis: [],
  };

  it("hold one condition of the alert's kind, and rate-limit a log alert's notifications", () => {
    const log = alertPolicyArgs(
      "n",
      { kind: "log", name: "l", description: "d", filter: "f", severity: "ERROR" },
      scope,
      ["c"],
    );
    expect(log.conditions).toEqual([{ displayName: "d", conditionMatchedLog: { filter: "f" } }]);
    expect(log.alertStrategy).toEqual({ notificationRateLimit: { period: "1800s" } });
    const promql = alertPolicyArgs(
      "n",
      {
        kind: "promql",
        name: "q",
        description: "d",
        query: "up == 0",
        duration: "900s",
        severity: "WARNING",
      },
      scope,
      [],
    );
    expect(promql.conditions).toEqual([
      {
        displayName: "d",
        conditionPrometheusQueryLanguage: {
          query: "up == 0",
          duration: "900s",
          evaluationInterval: "60s",
        },
      },
    ]);
    expect(promql.alertStrategy).toBeUndefined();
  });

  it("route to PagerDuty through a channel made from a file, whose name the config then lists", () => {
    const [create, point] = pagerDutyChannelCommands("my-rag-sme");
    expect(create).toContain("--channel-content-from-file=<file holding ");
    expect(create).not.toMatch(/service_key":"[^<]/);
    expect(point).toContain("rag-platform:observability.gcpNotificationChannels[0]");
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
