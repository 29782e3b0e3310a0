/**
 * Cloud Monitoring alerts: e-mail notification channels, channels made outside the stack (PagerDuty),
 * and alert policies on a metric's threshold, a PromQL expression or a log entry.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { GcpScope } from "./common";

interface AlertBase {
  readonly name: string;
  readonly description: string;
  readonly severity: "CRITICAL" | "ERROR" | "WARNING";
}

/** One threshold alert on a Cloud Monitoring metric. */
export interface GcpAlertSpec extends AlertBase {
  readonly kind: "threshold";
  /** The metric filter (metric.type, resource.type and labels). */
  readonly filter: pulumi.Input<string>;
  readonly aligner: "ALIGN_SUM" | "ALIGN_MEAN" | "ALIGN_MAX" | "ALIGN_DELTA";
  readonly comparison: "COMPARISON_GT" | "COMPARISON_LT";
  readonly threshold: number;
  /** How long the condition must hold, e.g. "300s". */
  readonly duration: string;
  /** A metric that stops arriving counts as the condition met (a host that is down reports nothing). @default false */
  readonly missingDataViolates?: boolean;
}

/** An alert on a PromQL expression over Cloud Monitoring's metrics (GKE's, Managed Prometheus's). */
export interface GcpPromqlAlertSpec extends AlertBase {
  readonly kind: "promql";
  /** Fires for every series the expression returns. */
  readonly query: pulumi.Input<string>;
  /** How long the expression must return it, e.g. "900s". */
  readonly duration: string;
}

/** An alert on a log entry (at most one notification every 30 minutes). */
export interface GcpLogAlertSpec extends AlertBase {
  readonly kind: "log";
  /** A Cloud Logging filter. */
  readonly filter: pulumi.Input<string>;
}

export type GcpAlert = GcpAlertSpec | GcpPromqlAlertSpec | GcpLogAlertSpec;

/** How often a log-based alert may notify. */
const LOG_ALERT_PERIOD = "1800s";

/** An e-mail notification channel for each address. */
export function emailChannels(
  name: string,
  scope: GcpScope,
  emails: readonly string[],
  opts: pulumi.CustomResourceOptions,
): gcp.monitoring.NotificationChannel[] {
  return emails.map(
    (email, i) =>
      new gcp.monitoring.NotificationChannel(
        `${name}-email-${i}`,
        {
          project: scope.project,
          type: "email",
          displayName: `rag alerts: ${email}`,
          labels: { email_address: email },
        },
        opts,
      ),
  );
}

/** An alert policy's arguments: one condition of the alert's kind, notifying `channels`. */
export function alertPolicyArgs(
  name: string,
  alert: GcpAlert,
  scope: GcpScope,
  channels: pulumi.Input<string>[],
): gcp.monitoring.AlertPolicyArgs {
  const common = {
    project: scope.project,
    displayName: `${name}: ${alert.description}`,
    combiner: "OR",
    severity: alert.severity,
    notificationChannels: channels,
    userLabels: { ...scope.labels },
  };
  switch (alert.kind) {
    case "threshold":
      return {
        ...common,
        conditions: [
          {
            displayName: alert.description,
            conditionThreshold: {
              filter: alert.filter,
              comparison: alert.comparison,
              thresholdValue: alert.threshold,
              duration: alert.duration,
              evaluationMissingData: alert.missingDataViolates
                ? "EVALUATION_MISSING_DATA_ACTIVE"
                : undefined,
              aggregations: [{ alignmentPeriod: "60s", perSeriesAligner: alert.aligner }],
            },
          },
        ],
      };
    case "promql":
      return {
        ...common,
        conditions: [
          {
            displayName: alert.description,
            conditionPrometheusQueryLanguage: {
              query: alert.query,
              duration: alert.duration,
              evaluationInterval: "60s",
            },
          },
        ],
      };
    case "log":
      return {
        ...common,
        conditions: [
          { displayName: alert.description, conditionMatchedLog: { filter: alert.filter } },
        ],
        alertStrategy: { notificationRateLimit: { period: LOG_ALERT_PERIOD } },
      };
    default: {
      const unreachable: never = alert;
      throw new Error(`unknown alert ${String(unreachable)}`);
    }
  }
}

/**
 * The stack's e-mail channels and one alert policy per alert, notifying them and the channels made
 * outside the stack; returns every channel notified. Staging's monitoring and sme's alerts share it.
 */
export function alertPolicies(
  name: string,
  args: Pick<GcpAlertsArgs, "scope" | "alertEmails" | "extraChannelIds" | "alerts">,
  opts: pulumi.CustomResourceOptions,
): pulumi.Output<string[]> {
  const channels = [
    ...emailChannels(name, args.scope, args.alertEmails, opts).map((c) => c.id),
    ...(args.extraChannelIds ?? []),
  ];
  for (const alert of args.alerts)
    new gcp.monitoring.AlertPolicy(
      `${name}-${alert.name}`,
      alertPolicyArgs(name, alert, args.scope, channels),
      opts,
    );
  return pulumi.all(channels);
}

export interface GcpAlertsArgs {
  readonly scope: GcpScope;
  readonly alertEmails: readonly string[];
  /**
   * Channels made outside the stack the alerts also notify (`projects/<p>/notificationChannels/<id>`),
   * such as PagerDuty's, whose integration key stays out of the stack. @default - none
   */
  readonly extraChannelIds?: readonly string[];
  readonly alerts: readonly GcpAlert[];
}

/** Alert policies notifying the stack's e-mail channels and the channels made outside it. */
export class GcpAlerts extends pulumi.ComponentResource {
  /** Every channel the alerts notify. */
  readonly channelIds: pulumi.Output<string[]>;

  constructor(name: string, args: GcpAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:Alerts", name, {}, opts);
    const parent = { parent: this, dependsOn: [...args.scope.apis] };
    this.channelIds = alertPolicies(name, args, parent);
    this.registerOutputs({ channelIds: this.channelIds });
  }
}

/**
 * How an operator makes the PagerDuty channel (the integration key read from a file, never the
 * command line) and points the alerts at it (observability.gcpNotificationChannels).
 */
export function pagerDutyChannelCommands(project: string): string[] {
  const channel = JSON.stringify({
    type: "pagerduty",
    displayName: "rag PagerDuty",
    labels: { service_key: "<the PagerDuty service's integration key>" },
  });
  return [
    `gcloud beta monitoring channels create --project ${project} --channel-content-from-file=<file holding ${channel}> --format='value(name)'`,
    `pulumi config set --path 'rag-platform:observability.gcpNotificationChannels[0]' projects/${project}/notificationChannels/<id the first command printed>`,
  ];
}
