/**
 * The runtime's audit stream to the SIEM, apart from the service's logs: the node log agent's
 * audit pipeline for each SIEM kind (CloudWatch Logs under the region's Firehose export for
 * Splunk HEC and HTTP endpoints, an OTLP logs endpoint directly), built on EKS under the runtime
 * mocks, and no secret in the agent's plain environment or configuration.
 */
import { describe, expect, it } from "vitest";
import { auditPipeline } from "../components/kubernetes/audit-export";
import { logAgentValues } from "../components/kubernetes/observability-stack";
import type { KubernetesPlatform } from "../stacks/platforms/kubernetes";
import type { ResourceRecord } from "../tools/harness";
import { synthEksPlatform } from "./helpers";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const ON_CLUSTER = [
  "rag-platform:observability.stack=in-cluster",
  "rag-platform:security.audit.enabled=true",
];

async function synthWith(
  sets: string[],
): Promise<{ resources: ResourceRecord[]; platform: KubernetesPlatform }> {
  const { result, platform } = await synthEksPlatform([...ON_CLUSTER, ...sets]);
  return { resources: result.resources, platform };
}

/** A Helm release's values. */
const valuesOf = (resources: ResourceRecord[], name: string): Json =>
  (
    resources.find(
      (r) => r.type === "kubernetes:helm.sh/v3:Release" && (r.inputs as Json).name === name,
    )!.inputs as Json
  ).values;

/** The agent's plain environment holds no value: each comes from a field or a Secret. */
function expectNoPlainSecret(values: Json): void {
  for (const e of values.extraEnvs as Json[]) expect(e.value, e.name).toBeUndefined();
  expect(JSON.stringify(values.config)).not.toMatch(/token|password|api[_-]?key/i);
}

describe("the audit pipeline of the log agent", () => {
  it("splits the platform namespace's audit lines from the logs Loki keeps", () => {
    const values = logAgentValues({
      workloadNamespace: "rag",
      audit: { kind: "otlp", endpoint: "https://siem.example.com" },
    }) as Json;
    const pipelines = values.config.service.pipelines;
    expect(pipelines.logs.processors).toContain("filter/app-logs");
    expect(pipelines["logs/audit"]).toEqual({
      receivers: ["filelog"],
      processors: ["memory_limiter", "filter/audit-only", "batch"],
      exporters: ["otlp_http/siem"],
    });
    const drop = values.config.processors;
    expect(drop["filter/app-logs"].logs.log_record).toEqual([
      'IsMatch(body, "\\"stream\\":\\"audit\\"")',
    ]);
    // Dropped from the audit pipeline: anything that is not an audit line of the namespace.
    expect(drop["filter/audit-only"].logs.log_record).toEqual([
      'not IsMatch(body, "\\"stream\\":\\"audit\\"")',
      'resource.attributes["k8s.namespace.name"] != "rag"',
    ]);
  });

  it("without a SIEM keeps one pipeline, audit lines among the logs", () => {
    const values = logAgentValues({ workloadNamespace: "rag" }) as Json;
    expect(Object.keys(values.config.service.pipelines)).toEqual(["logs", "traces", "metrics"]);
    expect(values.config.service.pipelines.logs.processors).toBeUndefined();
  });

  it("reads the OTLP endpoint's header value from a synced Secret, never inline", () => {
    const { exporters, env } = auditPipeline(
      {
        kind: "otlp",
        endpoint: "https://siem.example.com:4318",
        auth: { header: "authorization", storeName: "s", remoteKey: "k", storeReady: [] },
      },
      "rag",
    );
    expect(exporters["otlp_http/siem"]).toEqual({
      endpoint: "https://siem.example.com:4318",
      headers: { authorization: "${env:SIEM_AUTH_HEADER}" },
    });
    expect(env).toEqual([
      {
        name: "SIEM_AUTH_HEADER",
        valueFrom: { secretKeyRef: { name: "siem-auth", key: "value" } },
      },
    ]);
  });
});

describe("the audit stream to each kind of SIEM, on EKS", () => {
  for (const [kind, endpoint] of [
    ["splunk", "https://http-inputs-firehose-example.splunkcloud.com:443"],
    ["http", "https://elastic.example.com/_bulk"],
  ] as const)
    it(`${kind}: to a log group of its own, which the Firehose export subscribes to`, async () => {
      const { resources } = await synthWith([
        `rag-platform:security.audit.siem.kind=${kind}`,
        `rag-platform:security.audit.siem.endpoint=${endpoint}`,
      ]);
      const values = valuesOf(resources, "log-agent");
      expect(values.config.service.pipelines["logs/audit"].exporters).toEqual([
        "awscloudwatchlogs/audit",
      ]);
      const group = values.config.exporters["awscloudwatchlogs/audit"].log_group_name as string;
      expect(group).toMatch(/^\/rag\/audit\/.+-runtime$/);
      const logGroup = resources.find(
        (r) => r.type === "aws:cloudwatch/logGroup:LogGroup" && r.inputs.name === group,
      )!;
      const filter = resources.find(
        (r) =>
          r.type === "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter" &&
          (r.propertyDependencies.logGroup ?? []).includes(logGroup.urn),
      )!;
      expect(filter.propertyDependencies.destinationArn!.join()).toMatch(/FirehoseDeliveryStream/);
      // The agent's role writes that group alone.
      const association = resources.find(
        (r) =>
          r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation" &&
          r.inputs.namespace === "node-agents",
      )!;
      expect(association.inputs.serviceAccount).toBe("log-agent-opentelemetry-collector");
      expectNoPlainSecret(values);
    });

  it("otlp: straight to the endpoint, its header's value from Secrets Manager through External Secrets", async () => {
    const { resources, platform } = await synthWith([
      "rag-platform:security.audit.siem.kind=otlp",
      "rag-platform:security.audit.siem.endpoint=https://otlp.siem.example.com:4318",
      "rag-platform:security.audit.siem.authHeader=authorization",
    ]);
    const values = valuesOf(resources, "log-agent");
    expect(values.config.service.pipelines["logs/audit"].exporters).toEqual(["otlp_http/siem"]);
    expect(values.config.exporters["otlp_http/siem"].endpoint).toBe(
      "https://otlp.siem.example.com:4318",
    );
    const synced = resources.find(
      (r) =>
        r.type === "kubernetes:external-secrets.io/v1:ExternalSecret" &&
        (r.inputs as Json).metadata.namespace === "node-agents",
    )!;
    expect((synced.inputs as Json).spec.target.name).toBe("siem-auth");
    expectNoPlainSecret(values);
    // The agent leaves for the endpoint's port, for that reason alone.
    const out = platform.flowTable.flows.filter(
      (f) => f.to.kind === "cidr" && f.to.internet === "siem-export",
    );
    expect(out.map((f) => f.ports)).toEqual([[4318]]);
    // Firehose speaks no OTLP: no export stream is made.
    expect(
      resources.some((r) => r.type === "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"),
    ).toBe(false);
  });
});
