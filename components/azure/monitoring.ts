import * as applicationinsights from "@pulumi/azure-native/applicationinsights";
import * as monitor from "@pulumi/azure-native/monitor";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { placed, type AzureScope } from "./common";
import type { LogWorkspace } from "./log-workspace";

/** One metric alert: a threshold on a resource's platform metric. */
export interface MetricAlertSpec {
  readonly name: string;
  readonly description: string;
  readonly scope: pulumi.Input<string>;
  readonly namespace: string;
  readonly metric: string;
  readonly aggregation: "Average" | "Maximum" | "Minimum" | "Total";
  readonly operator: "GreaterThan" | "LessThan";
  readonly threshold: number;
  /** ISO 8601 window, e.g. PT5M. */
  readonly window: string;
  /** How often it is evaluated; a metric kept every 5 minutes needs PT5M. @default "PT1M" */
  readonly frequency?: string;
  /** 0 (critical) to 4 (verbose). */
  readonly severity: 0 | 1 | 2 | 3 | 4;
  readonly dimensions?: { readonly name: string; readonly values: string[] }[];
}

export interface AzureMonitorArgs {
  readonly scope: AzureScope;
  readonly logs: LogWorkspace;
  readonly alertEmails: readonly string[];
  /** Action groups made elsewhere the alerts also notify (PagerDuty's webhook). @default - none */
  readonly extraActionGroupIds?: readonly string[];
  /** The Container Apps whose console logs the dashboard reads (the API's requests). */
  readonly apiAppName: pulumi.Input<string>;
  readonly workerAppName: pulumi.Input<string>;
  readonly alerts: readonly MetricAlertSpec[];
}

/** A stable UUID from a name (workbooks are named by one). */
export function nameUuid(name: string): string {
  const h = createHash("sha256").update(name).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * An action group that e-mails `alertEmails`, and the metric alerts notifying it and any
 * `extraActionGroupIds`; returns the group.
 */
export function metricAlerts(
  name: string,
  args: {
    readonly scope: AzureScope;
    readonly alertEmails: readonly string[];
    readonly extraActionGroupIds?: readonly string[];
    readonly alerts: readonly MetricAlertSpec[];
  },
  opts: pulumi.CustomResourceOptions,
): monitor.ActionGroup {
  const where = placed(args.scope);
  const group = new monitor.ActionGroup(
    name,
    {
      ...where,
      location: "Global",
      enabled: true,
      groupShortName: "rag-alerts",
      emailReceivers: args.alertEmails.map((emailAddress, i) => ({
        name: `email-${i}`,
        emailAddress,
        useCommonAlertSchema: true,
      })),
    },
    opts,
  );
  const actions = [group.id, ...(args.extraActionGroupIds ?? [])].map((actionGroupId) => ({
    actionGroupId,
  }));
  for (const alert of args.alerts) {
    new monitor.MetricAlert(
      `${name}-${alert.name}`,
      {
        ...where,
        location: "global",
        description: alert.description,
        enabled: true,
        severity: alert.severity,
        scopes: [alert.scope],
        evaluationFrequency: alert.frequency ?? "PT1M",
        windowSize: alert.window,
        autoMitigate: true,
        criteria: {
          odataType: "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
          allOf: [
            {
              criterionType: "StaticThresholdCriterion",
              name: alert.name,
              metricNamespace: alert.namespace,
              metricName: alert.metric,
              operator: alert.operator,
              threshold: alert.threshold,
              timeAggregation: alert.aggregation,
              dimensions: alert.dimensions?.map((d) => ({
                name: d.name,
                operator: "Include",
                values: d.values,
              })),
            },
          ],
        },
        actions,
      },
      opts,
    );
  }
  return group;
}

/** Alerts alone (no workbook): what Azure runs for a tier whose workloads report elsewhere. */
export class AzureAlerts extends pulumi.ComponentResource {
  readonly actionGroupId: pulumi.Output<string>;

  constructor(
    name: string,
    args: Parameters<typeof metricAlerts>[1],
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("rag:azure:Alerts", name, {}, opts);
    this.actionGroupId = metricAlerts(name, args, { parent: this }).id;
    this.registerOutputs({ actionGroupId: this.actionGroupId });
  }
}

/**
 * Staging's observability on Azure Monitor: an action group that e-mails the configured
 * addresses, metric alerts on the API, the data stores and the GPU host, and a workbook over the
 * runtime's own logs (requests, server errors, latency, failures, scaling) in the workspace.
 */
export class AzureMonitorObservability extends pulumi.ComponentResource {
  readonly actionGroupId: pulumi.Output<string>;
  readonly workbookId: pulumi.Output<string>;

  constructor(name: string, args: AzureMonitorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:azure:Monitoring", name, {}, opts);
    const parent = { parent: this };
    const where = placed(args.scope);
    const group = metricAlerts(name, args, parent);
    const workbook = new applicationinsights.Workbook(
      name,
      {
        ...where,
        resourceName: nameUuid(name),
        kind: "shared",
        category: "workbook",
        displayName: `${name}: the RAG runtime`,
        sourceId: args.logs.workspaceId,
        serializedData: pulumi
          .all([args.apiAppName, args.workerAppName])
          .apply(([api, worker]) => JSON.stringify(workbookContent(api, worker))),
      },
      parent,
    );
    this.actionGroupId = group.id;
    this.workbookId = workbook.id;
    this.registerOutputs({ actionGroupId: this.actionGroupId });
  }
}

/** The workbook's panels: KQL over the Container Apps' console logs (the runtime logs JSON) and system logs. */
export function workbookContent(apiApp: string, workerApp: string): object {
  const requests = `ContainerAppConsoleLogs | where ContainerAppName == "${apiApp}" | extend e = parse_json(Log) | where tostring(e.msg) == "request completed"`;
  const panel = (title: string, query: string, visualization: string) => ({
    type: 3,
    content: {
      version: "KqlItem/1.0",
      title,
      query,
      size: 0,
      queryType: 0,
      resourceType: "microsoft.operationalinsights/workspaces",
      visualization,
    },
  });
  return {
    version: "Notebook/1.0",
    items: [
      panel(
        "API requests and server errors",
        `${requests} | summarize requests = count(), server_errors = countif(toint(e.res.statusCode) >= 500) by bin(TimeGenerated, 5m)`,
        "timechart",
      ),
      panel(
        "API latency (ms)",
        `${requests} | summarize p50 = percentile(todouble(e.responseTime), 50), p95 = percentile(todouble(e.responseTime), 95) by bin(TimeGenerated, 5m)`,
        "timechart",
      ),
      panel(
        "Errors logged by the API and the worker",
        `ContainerAppConsoleLogs | where ContainerAppName in ("${apiApp}", "${workerApp}") | extend e = parse_json(Log) | where toint(e.level) >= 50 | summarize count() by ContainerAppName, bin(TimeGenerated, 5m)`,
        "timechart",
      ),
      panel(
        "Replicas started and stopped",
        `ContainerAppSystemLogs | where ContainerAppName in ("${apiApp}", "${workerApp}") | summarize count() by Reason, ContainerAppName, bin(TimeGenerated, 15m)`,
        "barchart",
      ),
    ],
  };
}
