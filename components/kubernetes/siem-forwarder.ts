/**
 * The SIEM forwarder: the cloud's audit logs (the trail, the control plane's audit log, the
 * findings) from CloudWatch Logs to an OTLP SIEM, which Firehose cannot reach. One collector
 * (OpenTelemetry contrib) reads each log group with its `awscloudwatch` receiver, marks every
 * record with its stream (`rag.audit.stream`), and sends it with the same exporter and header the
 * log agent uses for the runtime's audit stream. It runs as a StatefulSet of one: a second reader
 * would send each event twice, and the receiver's checkpoints (the last event read per group) live
 * on its volume, so a restart resumes where it stopped instead of sending the groups again.
 */
import * as pulumi from "@pulumi/pulumi";
import { exporterOf, type AuditDestination, type CloudAuditLogs } from "./audit-export";
import { COLLECTOR_SECURITY } from "./cluster-addons";
import { resources } from "./pod-security";

/** The forwarder's Helm release; its pods carry `app.kubernetes.io/instance` with this name. */
export const SIEM_FORWARDER_RELEASE = "siem-forwarder";
/** The contrib image's user, who owns the checkpoint volume. */
const COLLECTOR_USER = 10001;
const CHECKPOINT_DIR = "/var/lib/otelcol/checkpoints";
const CHECKPOINTS = "file_storage/checkpoints";
/** How often each group is read (the SIEM sees an event about this long after CloudWatch). */
const POLL_INTERVAL = "1m";

/** The resource attribute naming a record's audit stream (cloudtrail, eks-audit, findings). */
export const STREAM_ATTRIBUTE = "rag.audit.stream";

/** The forwarder's chart values for the OTLP destination `d`, reading `logs`. */
export function siemForwarderValues(
  d: AuditDestination & { kind: "otlp" },
  logs: CloudAuditLogs,
  storageClassName: pulumi.Input<string>,
): pulumi.Output<Record<string, unknown>> {
  const streams = logs.groups.map((g) => g.stream);
  if (new Set(streams).size !== streams.length)
    throw new Error(`siem-forwarder: each stream is read once, got ${streams.join(", ")}`);
  const { exporter, config, env } = exporterOf(d);
  return pulumi.all(logs.groups.map((g) => g.name)).apply((names): Record<string, unknown> => {
    const receivers: Record<string, unknown> = {};
    const processors: Record<string, unknown> = {};
    const pipelines: Record<string, unknown> = {};
    logs.groups.forEach((g, i) => {
      receivers[`awscloudwatch/${g.stream}`] = {
        region: logs.region,
        storage: CHECKPOINTS,
        logs: { poll_interval: POLL_INTERVAL, groups: { named: { [names[i]!]: {} } } },
      };
      processors[`resource/${g.stream}`] = {
        attributes: [{ key: STREAM_ATTRIBUTE, value: g.stream, action: "upsert" }],
      };
      pipelines[`logs/${g.stream}`] = {
        receivers: [`awscloudwatch/${g.stream}`],
        processors: ["memory_limiter", `resource/${g.stream}`, "batch"],
        exporters: [exporter],
      };
    });
    return {
      mode: "statefulset",
      replicaCount: 1,
      image: { repository: "otel/opentelemetry-collector-contrib" },
      podSecurityContext: { ...COLLECTOR_SECURITY.podSecurityContext, fsGroup: COLLECTOR_USER },
      securityContext: COLLECTOR_SECURITY.securityContext,
      resources: resources({ cpuMillicores: 100, memoryMiB: 256 }),
      extraEnvs: env,
      // Nothing calls the forwarder: no receiver port, no Service.
      ports: Object.fromEntries(
        ["otlp", "otlp-http", "jaeger-compact", "jaeger-thrift", "jaeger-grpc", "zipkin"].map(
          (p) => [p, { enabled: false }],
        ),
      ),
      service: { enabled: false },
      statefulset: {
        volumeClaimTemplates: [
          {
            metadata: { name: "checkpoints" },
            spec: {
              accessModes: ["ReadWriteOnce"],
              storageClassName,
              resources: { requests: { storage: "1Gi" } },
            },
          },
        ],
      },
      extraVolumeMounts: [{ name: "checkpoints", mountPath: CHECKPOINT_DIR }],
      config: {
        extensions: { [CHECKPOINTS]: { directory: CHECKPOINT_DIR } },
        receivers,
        processors,
        exporters: { [exporter]: config },
        service: {
          extensions: ["health_check", CHECKPOINTS],
          pipelines: { ...pipelines, logs: null, metrics: null, traces: null },
        },
      },
    };
  });
}
