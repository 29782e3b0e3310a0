/**
 * The runtime's audit stream to the SIEM, apart from the service's logs: the node log agent's
 * audit pipeline for each SIEM kind (CloudWatch Logs under the region's Firehose export for
 * Splunk HEC and HTTP endpoints, an OTLP logs endpoint directly), built on EKS under the runtime
 * mocks, and no secret in the agent's plain environment or configuration.
 */
import { describe, expect, it } from "vitest";
import { SIEM_STREAM_INDEXES, type SiemStream } from "../components/aws/siem-export";
import { auditPipeline } from "../components/kubernetes/audit-export";
import { logAgentValues } from "../components/kubernetes/observability-stack";
import type { KubernetesPlatform } from "../stacks/platforms/kubernetes";
import type { ResourceRecord } from "../tools/harness";
import { synthEksPlatform } from "./helpers";
import { rolePermissions, wildcardsIn } from "./identity";

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

const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";
const FIREHOSE = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream";
const SUBSCRIPTION = "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter";

/** Each audit stream's log group as synthesized: the trail's, the control plane's, the findings'. */
function cloudGroups(resources: ResourceRecord[]): Record<string, ResourceRecord> {
  const named = (pattern: RegExp) => {
    const found = resources.filter(
      (r) => r.type === LOG_GROUP && pattern.test(String(r.inputs.name)),
    );
    expect(found, String(pattern)).toHaveLength(1);
    return found[0]!;
  };
  return {
    cloudtrail: named(/^\/rag\/audit\/.+-audit$/),
    "eks-audit": named(/^\/aws\/eks\/.+\/cluster$/),
    findings: named(/^\/aws\/events\/rag\/.+-findings$/),
  };
}

describe("every audit stream to each kind of SIEM, on EKS", () => {
  for (const [kind, endpoint] of [
    ["splunk", "https://http-inputs-firehose-example.splunkcloud.com:443"],
    ["http", "https://elastic.example.com/_bulk"],
  ] as const)
    it(`${kind}: each stream's log group on a Firehose stream of its own; the runtime's through a group the agent writes`, async () => {
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
      const groups = {
        ...cloudGroups(resources),
        "runtime-audit": resources.find((r) => r.type === LOG_GROUP && r.inputs.name === group)!,
      };
      const secrets = new Set<string>();
      for (const [stream, logGroup] of Object.entries(groups)) {
        const filter = resources.find(
          (r) =>
            r.type === SUBSCRIPTION &&
            (r.propertyDependencies.logGroup ?? []).includes(logGroup.urn),
        )!;
        expect(filter, stream).toBeDefined();
        const target = resources.find((r) =>
          filter.propertyDependencies.destinationArn!.includes(r.urn),
        )!;
        expect(target.type).toBe(FIREHOSE);
        expect(target.name, stream).toMatch(new RegExp(`-siem-${stream}$`));
        const delivery = (target.inputs as Json)[
          kind === "splunk" ? "splunkConfiguration" : "httpEndpointConfiguration"
        ];
        expect(delivery.secretsManagerConfiguration.enabled).toBe(true);
        secrets.add(delivery.secretsManagerConfiguration.secretArn);
        if (kind === "http")
          expect(delivery.requestConfiguration.commonAttributes).toEqual([
            {
              name: "es_datastream_name",
              value: SIEM_STREAM_INDEXES[stream as SiemStream].dataStream,
            },
          ]);
      }
      // Splunk: a HEC token per stream (its index and sourcetype); http: one access key.
      expect(secrets.size).toBe(kind === "splunk" ? 4 : 1);
      // The agent's role writes that group alone.
      const association = resources.find(
        (r) =>
          r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation" &&
          r.inputs.namespace === "node-agents",
      )!;
      expect(association.inputs.serviceAccount).toBe("log-agent-opentelemetry-collector");
      expectNoPlainSecret(values);
      // No forwarder: Firehose carries the cloud's groups.
      expect(resources.some((r) => (r.inputs as Json).name === "siem-forwarder")).toBe(false);
    });

  it("otlp: the cloud's groups through the forwarder, the runtime's stream through the log agent, one header from Secrets Manager", async () => {
    const { resources, platform } = await synthWith([
      "rag-platform:security.audit.siem.kind=otlp",
      "rag-platform:security.audit.siem.endpoint=https://otlp.siem.example.com:4318",
      "rag-platform:security.audit.siem.authHeader=authorization",
    ]);
    const agent = valuesOf(resources, "log-agent");
    expect(agent.config.service.pipelines["logs/audit"].exporters).toEqual(["otlp_http/siem"]);
    expect(agent.config.exporters["otlp_http/siem"].endpoint).toBe(
      "https://otlp.siem.example.com:4318",
    );
    const synced = resources.find(
      (r) =>
        r.type === "kubernetes:external-secrets.io/v1:ExternalSecret" &&
        (r.inputs as Json).metadata.namespace === "node-agents",
    )!;
    expect((synced.inputs as Json).spec.target.name).toBe("siem-auth");
    expectNoPlainSecret(agent);

    // Every cloud stream: a receiver on exactly its group, marked, to the same exporter.
    const forwarder = valuesOf(resources, "siem-forwarder");
    expect(forwarder).toMatchObject({ mode: "statefulset", replicaCount: 1 });
    const groups = cloudGroups(resources);
    const { receivers, pipelines } = {
      receivers: forwarder.config.receivers as Json,
      pipelines: forwarder.config.service.pipelines as Json,
    };
    for (const [stream, group] of Object.entries(groups)) {
      expect(receivers[`awscloudwatch/${stream}`]).toEqual({
        region: "eu-west-1",
        storage: "file_storage/checkpoints",
        logs: { poll_interval: "1m", groups: { named: { [String(group.inputs.name)]: {} } } },
      });
      expect(pipelines[`logs/${stream}`]).toEqual({
        receivers: [`awscloudwatch/${stream}`],
        processors: ["memory_limiter", `resource/${stream}`, "batch"],
        exporters: ["otlp_http/siem"],
      });
      expect(forwarder.config.processors[`resource/${stream}`].attributes).toEqual([
        { key: "rag.audit.stream", value: stream, action: "upsert" },
      ]);
    }
    expect(
      Object.keys(receivers)
        .filter((r) => r.startsWith("awscloudwatch/"))
        .sort(),
    ).toEqual(
      Object.keys(groups)
        .map((s) => `awscloudwatch/${s}`)
        .sort(),
    );
    expect(forwarder.config.exporters).toEqual(
      agent.config.exporters["otlp_http/siem"] && {
        "otlp_http/siem": agent.config.exporters["otlp_http/siem"],
      },
    );
    // The checkpoints outlive a restart: the storage extension on the claimed volume.
    expect(forwarder.config.service.extensions).toEqual([
      "health_check",
      "file_storage/checkpoints",
    ]);
    expect(forwarder.extraVolumeMounts[0].mountPath).toBe(
      forwarder.config.extensions["file_storage/checkpoints"].directory,
    );
    expectNoPlainSecret(forwarder);
    expect(forwarder.extraEnvs).toEqual(agent.extraEnvs);

    // Its role reads exactly those groups, nothing listed, nothing written.
    const association = resources.find(
      (r) =>
        r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation" &&
        r.inputs.serviceAccount === "siem-forwarder-opentelemetry-collector",
    )!;
    expect(association.inputs.namespace).toBe("node-agents");
    const role = rolePermissions(resources).find((r) =>
      association.propertyDependencies.roleArn!.some((u) => u.endsWith(`::${r.role}`)),
    )!;
    expect(role.statements).toHaveLength(1);
    expect(role.statements[0]!.Action).toBe("logs:FilterLogEvents");
    expect(wildcardsIn(role)).toEqual([]);
    const policy = resources.find(
      (r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name === role.role,
    )!;
    expect([...policy.propertyDependencies.policy!].sort()).toEqual(
      Object.values(groups)
        .map((g) => g.urn)
        .sort(),
    );
    expect(role.statements[0]!.Resource).toHaveLength(3);

    // Out to the endpoint's port and to CloudWatch Logs, for those reasons alone.
    const from = (instance: string) =>
      platform.flowTable.flows.filter(
        (f) =>
          f.from.kind === "workload" &&
          f.from.workload.labels["app.kubernetes.io/instance"] === instance &&
          f.to.kind === "cidr",
      );
    for (const instance of ["log-agent", "siem-forwarder"])
      expect(
        from(instance)
          .filter((f) => f.to.kind === "cidr" && f.to.internet === "siem-export")
          .map((f) => f.ports),
        instance,
      ).toEqual([[4318]]);
    // CloudWatch Logs over the internet, and the node's Pod Identity agent for its credentials.
    expect(
      from("siem-forwarder").map((f) => [
        f.to.kind === "cidr" ? f.to.cidr : "",
        f.ports,
        f.to.kind === "cidr" ? f.to.internet : "",
      ]),
    ).toEqual([
      ["0.0.0.0/0", [443], "cloud-apis"],
      ["169.254.170.23/32", [80], undefined],
      ["0.0.0.0/0", [4318], "siem-export"],
    ]);
    // Firehose speaks no OTLP: no delivery stream is made.
    expect(resources.some((r) => r.type === FIREHOSE)).toBe(false);
  });
});
