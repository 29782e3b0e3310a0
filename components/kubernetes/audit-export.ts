/**
 * The runtime's audit events on their way to the SIEM, apart from the service's logs. The runtime
 * writes each event as one JSON line marked `"stream":"audit"` among its log lines
 * (runtime/src/audit.ts); the node log agent, which reads every pod's log file, sends those lines
 * of the platform's namespace through a pipeline of their own to the SIEM and keeps them out of
 * Loki's.
 *
 * Two ways out: CloudWatch Logs, a log group of their own that the region's Firehose export
 * subscribes to (the SIEM kinds Firehose delivers to: Splunk HEC, HTTP endpoints such as Elastic
 * or Sentinel's), or an OTLP logs endpoint, called directly with a header whose value External
 * Secrets syncs from the cloud's secret manager. With OTLP, the SIEM forwarder (siem-forwarder.ts)
 * carries the cloud's own audit logs to the same endpoint.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { CidrEgress } from "./network-policy";

export type AuditDestination =
  | {
      readonly kind: "cloudwatch-logs";
      readonly region: string;
      /** The log group the region's SIEM export subscribes to. */
      readonly logGroup: string;
      /** What the agent reaches CloudWatch Logs and its credentials through. */
      readonly egress: readonly CidrEgress[];
    }
  | {
      readonly kind: "otlp";
      /** The OTLP/HTTP endpoint (the exporter appends /v1/logs). */
      readonly endpoint: string;
      /** The header the endpoint authenticates with and where its value is kept. @default - none */
      readonly auth?: {
        readonly header: string;
        readonly storeName: pulumi.Input<string>;
        readonly remoteKey: pulumi.Input<string>;
        readonly storeReady: pulumi.Resource[];
      };
      /**
       * The cloud's audit logs (trail, control plane, findings) the SIEM forwarder reads from
       * CloudWatch Logs and sends to the same endpoint. @default - none: the runtime's stream only
       */
      readonly cloudLogs?: CloudAuditLogs;
    };

/** CloudWatch Logs groups of one region, one audit stream each, for the SIEM forwarder. */
export interface CloudAuditLogs {
  readonly region: string;
  readonly groups: readonly { readonly stream: string; readonly name: pulumi.Input<string> }[];
  /** What the forwarder reaches CloudWatch Logs and its credentials through. */
  readonly egress: readonly CidrEgress[];
}

/** The Secret (in the agent's namespace) holding the OTLP endpoint's header value. */
export const AUDIT_KEY_SECRET = "siem-auth";

/** A line of the runtime's audit stream (the field pino writes first after level). */
const AUDIT_LINE = 'IsMatch(body, "\\"stream\\":\\"audit\\"")';

/**
 * The log agent's additions: the exporter for `d`, the filters that split the audit stream from
 * the rest, the audit pipeline (the node's log files, the platform's namespace only, to the
 * SIEM), and the environment the exporter reads its header from.
 */
export function auditPipeline(
  d: AuditDestination,
  workloadNamespace: string,
): {
  exporters: Record<string, unknown>;
  processors: Record<string, unknown>;
  pipeline: Record<string, unknown>;
  appLogsFilter: string;
  env: k8s.types.input.core.v1.EnvVar[];
} {
  const { exporter, config, env } = exporterOf(d);
  return {
    exporters: { [exporter]: config },
    processors: {
      "filter/app-logs": { error_mode: "ignore", logs: { log_record: [AUDIT_LINE] } },
      "filter/audit-only": {
        error_mode: "ignore",
        logs: {
          log_record: [
            `not ${AUDIT_LINE}`,
            `resource.attributes["k8s.namespace.name"] != "${workloadNamespace}"`,
          ],
        },
      },
    },
    pipeline: {
      receivers: ["filelog"],
      processors: ["memory_limiter", "filter/audit-only", "batch"],
      exporters: [exporter],
    },
    appLogsFilter: "filter/app-logs",
    env,
  };
}

export function exporterOf(d: AuditDestination): {
  exporter: string;
  config: Record<string, unknown>;
  env: k8s.types.input.core.v1.EnvVar[];
} {
  switch (d.kind) {
    case "cloudwatch-logs":
      return {
        exporter: "awscloudwatchlogs/audit",
        // The line as the runtime wrote it (raw_log), one stream per agent's node.
        config: {
          region: d.region,
          log_group_name: d.logGroup,
          log_stream_name: "${env:K8S_NODE_NAME}",
          raw_log: true,
        },
        env: [{ name: "K8S_NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
      };
    case "otlp":
      return {
        exporter: "otlp_http/siem",
        config: {
          endpoint: d.endpoint,
          ...(d.auth ? { headers: { [d.auth.header]: "${env:SIEM_AUTH_HEADER}" } } : {}),
        },
        env: d.auth
          ? [
              {
                name: "SIEM_AUTH_HEADER",
                valueFrom: { secretKeyRef: { name: AUDIT_KEY_SECRET, key: "value" } },
              },
            ]
          : [],
      };
    default: {
      const unreachable: never = d;
      throw new Error(
        `unknown audit destination ${String((unreachable as { kind: string }).kind)}`,
      );
    }
  }
}

/** The port an OTLP destination is called on (HTTPS unless its URL says). */
export function auditEndpointPort(d: AuditDestination & { kind: "otlp" }): number {
  const url = new URL(d.endpoint);
  return url.port ? Number(url.port) : url.protocol === "http:" ? 80 : 443;
}
