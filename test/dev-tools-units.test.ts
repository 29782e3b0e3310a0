/**
 * The dev tools' files, as their programs read them: RedisInsight's connection file,
 * prometheus.yml, Grafana's provisioning. The dev stack's synthesis (dev-stack.test.ts) shows
 * each container gets them; these show what is in them.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { grafanaProvisioning } from "../components/docker/grafana";
import { prometheusConfig } from "../components/docker/prometheus";
import { preSetupDatabases } from "../components/docker/redis-insight";
import {
  PROMETHEUS_DATASOURCE_UID,
  RAG_DASHBOARD_FILE,
  RAG_PANELS,
  ragDashboard,
} from "../components/shared/rag-dashboard";

describe("RedisInsight's connection file", () => {
  it("is a JSON array of one database in RedisInsight's export shape", () => {
    const databases = JSON.parse(
      preSetupDatabases({ host: "redis", port: 6379, password: "pw-123" }),
    ) as Record<string, unknown>[];
    expect(databases).toEqual([
      {
        id: "rag-redis",
        name: "RAG Redis (redis:6379)",
        host: "redis",
        port: 6379,
        password: "pw-123",
      },
    ]);
  });
});

describe("prometheus.yml", () => {
  const targets = [
    { job: "rag-api", address: "api:8080" },
    { job: "rag-worker", address: "worker:8081" },
  ];

  it("scrapes each target's /metrics under its job, with the dashboard's namespace label", () => {
    const config = parse(prometheusConfig(targets, "rag-dev", 30)) as Record<string, unknown>;
    expect(config).toEqual({
      global: { scrape_interval: "30s" },
      scrape_configs: [
        {
          job_name: "rag-api",
          metrics_path: "/metrics",
          static_configs: [{ targets: ["api:8080"], labels: { namespace: "rag-dev" } }],
        },
        {
          job_name: "rag-worker",
          metrics_path: "/metrics",
          static_configs: [{ targets: ["worker:8081"], labels: { namespace: "rag-dev" } }],
        },
      ],
    });
  });

  it("refuses a job named twice (Prometheus would refuse the file)", () => {
    expect(() => prometheusConfig([...targets, { job: "rag-api", address: "x:1" }], "n")).toThrow(
      "prometheusConfig: job rag-api is named twice",
    );
  });
});

describe("Grafana's provisioning", () => {
  const model = ragDashboard("rag-dev");
  const files = grafanaProvisioning("http://prometheus:9090", [
    { fileName: RAG_DASHBOARD_FILE, model },
  ]);
  const file = (path: string) => {
    const found = files.find((f) => f.path === path);
    if (!found) throw new Error(`no ${path}; have ${files.map((f) => f.path).join(", ")}`);
    return found.content;
  };

  it("provisions Prometheus under the uid every panel of the dashboard queries", () => {
    const { datasources } = parse(
      file("/etc/grafana/provisioning/datasources/prometheus.yaml"),
    ) as {
      datasources: Record<string, unknown>[];
    };
    expect(datasources).toEqual([
      expect.objectContaining({
        uid: PROMETHEUS_DATASOURCE_UID,
        type: "prometheus",
        url: "http://prometheus:9090",
        isDefault: true,
      }),
    ]);
    const panels = model.panels as { datasource: { uid: string } }[];
    expect(panels.length).toBe(RAG_PANELS.length);
    for (const p of panels) expect(p.datasource.uid).toBe(PROMETHEUS_DATASOURCE_UID);
  });

  it("serves the shared RAG dashboard read-only from the directory its provider reads", () => {
    const { providers } = parse(file("/etc/grafana/provisioning/dashboards/rag-platform.yaml")) as {
      providers: { type: string; allowUiUpdates: boolean; options: { path: string } }[];
    };
    expect(providers).toHaveLength(1);
    expect(providers[0]).toMatchObject({ type: "file", allowUiUpdates: false });
    const dashboard = file(`${providers[0]!.options.path}/${RAG_DASHBOARD_FILE}`);
    // The very model the Kubernetes tiers' ConfigMap carries, for the dev tier's label.
    expect(JSON.parse(dashboard)).toEqual(ragDashboard("rag-dev"));
    expect(dashboard).toContain(
      'rag_http_request_duration_seconds_count{namespace=\\"$namespace\\"',
    );
  });

  it("refuses a dashboard file that is not NAME.json, or one named twice", () => {
    expect(() =>
      grafanaProvisioning("http://p:9090", [{ fileName: "../escape.json", model }]),
    ).toThrow("grafanaProvisioning: dashboard file ../escape.json is repeated or not a NAME.json");
    expect(() =>
      grafanaProvisioning("http://p:9090", [
        { fileName: "a.json", model },
        { fileName: "a.json", model },
      ]),
    ).toThrow("dashboard file a.json is repeated");
  });
});
