import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { alertPolicies, type GcpAlertSpec } from "./alerts";
import type { GcpScope } from "./common";

export type { GcpAlertSpec } from "./alerts";

export interface CloudMonitoringArgs {
  readonly scope: GcpScope;
  readonly alertEmails: readonly string[];
  /** Channels made outside the stack the alerts also notify (PagerDuty's). @default - none */
  readonly extraChannelIds?: readonly string[];
  readonly alerts: readonly GcpAlertSpec[];
  /** The services the dashboard charts. */
  readonly apiService: pulumi.Input<string>;
  readonly workerService: pulumi.Input<string>;
}

/**
 * Staging's observability on Cloud Monitoring: e-mail notification channels, threshold alerts on
 * the API, the data stores and the GPU host, and a dashboard of the API's requests, errors and
 * latency, both services' instances, Cloud SQL and Memorystore.
 */
export class CloudMonitoringObservability extends pulumi.ComponentResource {
  readonly dashboardId: pulumi.Output<string>;

  constructor(name: string, args: CloudMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:Monitoring", name, {}, opts);
    const parent = { parent: this, dependsOn: [...args.scope.apis] };
    const { project } = args.scope;
    alertPolicies(name, args, parent);
    const dashboard = new gcp.monitoring.Dashboard(
      name,
      {
        project,
        dashboardJson: pulumi
          .all([args.apiService, args.workerService])
          .apply(([api, worker]) => JSON.stringify(dashboardContent(name, api, worker))),
      },
      parent,
    );
    this.dashboardId = dashboard.id;
    this.registerOutputs({ dashboardId: this.dashboardId });
  }
}

/** The dashboard: charts over Cloud Run's, Cloud SQL's and Memorystore's own metrics. */
export function dashboardContent(name: string, apiService: string, workerService: string): object {
  const run = (service: string, metric: string) =>
    `metric.type="run.googleapis.com/${metric}" resource.type="cloud_run_revision" resource.label."service_name"="${service}"`;
  const chart = (title: string, filter: string, aligner: string, groupBy: string[] = []) => ({
    title,
    xyChart: {
      dataSets: [
        {
          timeSeriesQuery: {
            timeSeriesFilter: {
              filter,
              aggregation: {
                alignmentPeriod: "60s",
                perSeriesAligner: aligner,
                crossSeriesReducer: "REDUCE_SUM",
                groupByFields: groupBy,
              },
            },
          },
        },
      ],
    },
  });
  return {
    displayName: `${name}: the RAG runtime`,
    mosaicLayout: {
      columns: 12,
      tiles: [
        chart("API requests by response class", run(apiService, "request_count"), "ALIGN_RATE", [
          'metric.label."response_code_class"',
        ]),
        chart("API latency p95 (ms)", run(apiService, "request_latencies"), "ALIGN_PERCENTILE_95"),
        chart(
          "Instances (API, worker)",
          `metric.type="run.googleapis.com/container/instance_count" resource.type="cloud_run_revision" resource.label."service_name"=one_of("${apiService}","${workerService}")`,
          "ALIGN_MAX",
          ['resource.label."service_name"'],
        ),
        chart(
          "Cloud SQL CPU",
          'metric.type="cloudsql.googleapis.com/database/cpu/utilization"',
          "ALIGN_MEAN",
        ),
        chart(
          "Memorystore memory used",
          'metric.type="redis.googleapis.com/stats/memory/usage_ratio"',
          "ALIGN_MAX",
        ),
      ].map((widget, i) => ({
        xPos: (i % 2) * 6,
        yPos: Math.floor(i / 2) * 4,
        width: 6,
        height: 4,
        widget,
      })),
    },
  };
}
