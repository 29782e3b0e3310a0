import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { QUEUE_DEPTH_METRIC } from "../../runtime/src/emf";
import type { KmsKey } from "./kms-key";

/** The runtime on ECS (staging): its load balancer, services and the queue depth its tasks publish. */
export interface WatchedEcsRuntime {
  readonly loadBalancerArnSuffix: pulumi.Input<string>;
  readonly targetGroupArnSuffix: pulumi.Input<string>;
  readonly clusterName: pulumi.Input<string>;
  readonly apiServiceName: pulumi.Input<string>;
  readonly workerServiceName: pulumi.Input<string>;
  /** The `Service` dimension under which the worker publishes the ingest queue's depth. */
  readonly metricService: pulumi.Input<string>;
}

/** What the dashboard and the alarms watch. Optional parts are left out when absent. */
export interface WatchedResources {
  /**
   * @default - none: on Kubernetes (sme) the workloads' signals go to the OpenTelemetry backend,
   * which alerts on them; CloudWatch watches the managed data services
   */
  readonly ecs?: WatchedEcsRuntime;
  readonly rdsInstanceId: pulumi.Input<string>;
  /** The Redis nodes' cache cluster ids (ElastiCache's metrics are per node). */
  readonly redisNodeIds: readonly pulumi.Input<string>[];
  /** @default - no GPU host (managed LLM) */
  readonly gpuInstanceId?: pulumi.Input<string>;
}

export interface CloudWatchObservabilityArgs {
  readonly region: string;
  readonly watched: WatchedResources;
  /** E-mail addresses subscribed to the alarm topic (each confirms once). @default - none */
  readonly alertEmails?: readonly string[];
  /** Encrypts the alarm topic; must let cloudwatch.amazonaws.com use it. */
  readonly topicKey: KmsKey;
  /** p95 API latency above this raises an alarm. @default 2 */
  readonly apiLatencyP95Sec?: number;
}

/** The worker publishes the ingest queue's depth here (runtime/src/emf.ts: embedded metric format, through its logs). */
export const RUNTIME_METRIC_NAMESPACE = "RagPlatform";

type Metric = readonly unknown[];

/**
 * Observability on CloudWatch: one dashboard (API latency and 5xx, queue depth and ECS on staging;
 * RDS, Redis, the GPU host) and alarms on the same signals to an encrypted SNS topic, which
 * e-mail addresses from config and a PagerDuty service (pagerDutySubscribeCommand) subscribe to.
 */
export class CloudWatchObservability extends pulumi.ComponentResource {
  readonly topicArn: pulumi.Output<string>;
  readonly dashboardUrl: pulumi.Output<string>;
  readonly alarmNames: pulumi.Output<string>[];

  constructor(
    name: string,
    args: CloudWatchObservabilityArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("rag:aws:Observability", name, {}, opts);
    const parent = { parent: this };
    const topic = new aws.sns.Topic(
      `${name}-alerts`,
      { kmsMasterKeyId: args.topicKey.arn },
      parent,
    );
    (args.alertEmails ?? []).forEach((email, i) => {
      new aws.sns.TopicSubscription(
        `${name}-alerts-${i}`,
        { topic: topic.arn, protocol: "email", endpoint: email },
        parent,
      );
    });
    const w = args.watched;
    const dashboard = new aws.cloudwatch.Dashboard(
      name,
      {
        dashboardName: name,
        dashboardBody: pulumi
          .output(w as pulumi.Input<WatchedResources>)
          .apply((r) => JSON.stringify(dashboardBody(args.region, r as Resolved))),
      },
      parent,
    );
    this.alarmNames = this.createAlarms(name, topic, w, args.apiLatencyP95Sec ?? 2).map(
      (a) => a.name,
    );
    this.topicArn = topic.arn;
    this.dashboardUrl = pulumi.interpolate`https://${args.region}.console.aws.amazon.com/cloudwatch/home?region=${args.region}#dashboards:name=${dashboard.dashboardName}`;
    this.registerOutputs({ topicArn: this.topicArn, dashboardUrl: this.dashboardUrl });
  }

  /**
   * How to route the alarms to PagerDuty: subscribe the service's "Amazon CloudWatch" integration
   * URL to the topic once. The URL carries the integration key, so it stays out of the stack's
   * config and state; PagerDuty confirms the subscription itself.
   */
  pagerDutySubscribeCommand(region: string): pulumi.Output<string> {
    return pulumi.interpolate`aws sns subscribe --region ${region} --topic-arn ${this.topicArn} --protocol https --notification-endpoint "<the PagerDuty service's Amazon CloudWatch integration URL>"`;
  }

  private createAlarms(
    name: string,
    topic: aws.sns.Topic,
    w: WatchedResources,
    latencySec: number,
  ): aws.cloudwatch.MetricAlarm[] {
    const alarm: AlarmFactory = (suffix, spec) =>
      new aws.cloudwatch.MetricAlarm(
        `${name}-${suffix}`,
        {
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
          treatMissingData: "notBreaching",
          ...spec,
          alarmActions: [topic.arn],
          okActions: [topic.arn],
        },
        { parent: this },
      );
    const alarms = [...(w.ecs ? ecsAlarms(alarm, w.ecs, latencySec) : [])];
    alarms.push(
      alarm("rds-cpu", {
        alarmDescription: "Postgres CPU above 80%",
        namespace: "AWS/RDS",
        metricName: "CPUUtilization",
        dimensions: { DBInstanceIdentifier: w.rdsInstanceId },
        statistic: "Average",
        period: 300,
        threshold: 80,
        comparisonOperator: "GreaterThanThreshold",
      }),
      alarm("rds-free-storage", {
        alarmDescription: "Postgres free storage below 5 GiB",
        namespace: "AWS/RDS",
        metricName: "FreeStorageSpace",
        dimensions: { DBInstanceIdentifier: w.rdsInstanceId },
        statistic: "Minimum",
        period: 300,
        threshold: 5 * 1024 ** 3,
        comparisonOperator: "LessThanThreshold",
      }),
      // The fullest node: ElastiCache publishes per node, and a replica fills as its primary does.
      alarm("redis-memory", {
        alarmDescription: "Redis memory above 80% on a node",
        metricQueries: [
          ...w.redisNodeIds.map((id, i) => ({
            id: `node${i}`,
            metric: {
              namespace: "AWS/ElastiCache",
              metricName: "DatabaseMemoryUsagePercentage",
              dimensions: { CacheClusterId: id },
              stat: "Maximum",
              period: 300,
            },
            returnData: false,
          })),
          {
            id: "fullest",
            expression: `MAX([${w.redisNodeIds.map((_, i) => `node${i}`).join(", ")}])`,
            label: "Redis memory used, fullest node (%)",
            returnData: true,
          },
        ],
        threshold: 80,
        comparisonOperator: "GreaterThanThreshold",
      }),
    );
    if (w.gpuInstanceId) {
      alarms.push(
        alarm("gpu-host-status", {
          alarmDescription: "GPU host failing its status checks",
          namespace: "AWS/EC2",
          metricName: "StatusCheckFailed",
          dimensions: { InstanceId: w.gpuInstanceId },
          statistic: "Maximum",
          period: 60,
          threshold: 0,
          comparisonOperator: "GreaterThanThreshold",
        }),
      );
    }
    return alarms;
  }
}

type AlarmFactory = (
  suffix: string,
  spec: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions">,
) => aws.cloudwatch.MetricAlarm;

/** The runtime's alarms on ECS: the ALB's 5xx, p95 latency and unhealthy targets, and the queue depth the tasks publish. */
function ecsAlarms(
  alarm: AlarmFactory,
  ecs: WatchedEcsRuntime,
  latencySec: number,
): aws.cloudwatch.MetricAlarm[] {
  const alb = { LoadBalancer: ecs.loadBalancerArnSuffix };
  return [
    alarm("api-5xx", {
      alarmDescription: "API answers 5xx",
      namespace: "AWS/ApplicationELB",
      metricName: "HTTPCode_Target_5XX_Count",
      dimensions: alb,
      statistic: "Sum",
      period: 60,
      threshold: 10,
      comparisonOperator: "GreaterThanThreshold",
    }),
    alarm("api-latency-p95", {
      alarmDescription: `API p95 latency above ${latencySec}s`,
      namespace: "AWS/ApplicationELB",
      metricName: "TargetResponseTime",
      dimensions: alb,
      extendedStatistic: "p95",
      period: 60,
      threshold: latencySec,
      comparisonOperator: "GreaterThanThreshold",
    }),
    alarm("api-unhealthy-targets", {
      alarmDescription: "API tasks failing the load balancer's health check",
      namespace: "AWS/ApplicationELB",
      metricName: "UnHealthyHostCount",
      dimensions: {
        LoadBalancer: ecs.loadBalancerArnSuffix,
        TargetGroup: ecs.targetGroupArnSuffix,
      },
      statistic: "Maximum",
      period: 60,
      threshold: 0,
      comparisonOperator: "GreaterThanThreshold",
    }),
    alarm("ingest-queue-depth", {
      alarmDescription: "Ingest queue not draining",
      namespace: RUNTIME_METRIC_NAMESPACE,
      metricName: QUEUE_DEPTH_METRIC,
      dimensions: { Service: ecs.metricService },
      statistic: "Maximum",
      period: 300,
      threshold: 500,
      comparisonOperator: "GreaterThanThreshold",
    }),
  ];
}

interface Resolved {
  readonly ecs?: { readonly [K in keyof WatchedEcsRuntime]: string };
  readonly rdsInstanceId: string;
  readonly redisNodeIds: readonly string[];
  readonly gpuInstanceId?: string;
}

function widget(
  title: string,
  metrics: Metric[],
  x: number,
  y: number,
  region: string,
  stat = "Average",
) {
  return {
    type: "metric",
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region, stat, period: 60, view: "timeSeries", metrics },
  };
}

interface Panel {
  readonly title: string;
  readonly metrics: Metric[];
  readonly stat?: string;
}

export function dashboardBody(region: string, r: Resolved): { widgets: object[] } {
  const ecs = r.ecs;
  const runtime: Panel[] = ecs
    ? [
        {
          title: "API latency (p50, p95)",
          metrics: [
            [
              "AWS/ApplicationELB",
              "TargetResponseTime",
              "LoadBalancer",
              ecs.loadBalancerArnSuffix,
              { stat: "p50" },
            ],
            ["...", { stat: "p95" }],
          ],
        },
        {
          title: "API requests and 5xx",
          metrics: [
            [
              "AWS/ApplicationELB",
              "RequestCount",
              "LoadBalancer",
              ecs.loadBalancerArnSuffix,
              { stat: "Sum" },
            ],
            [".", "HTTPCode_Target_5XX_Count", ".", ".", { stat: "Sum" }],
          ],
        },
        {
          title: "Ingest queue depth",
          metrics: [[RUNTIME_METRIC_NAMESPACE, QUEUE_DEPTH_METRIC, "Service", ecs.metricService]],
          stat: "Maximum",
        },
        {
          title: "ECS CPU (API, worker)",
          metrics: [
            [
              "AWS/ECS",
              "CPUUtilization",
              "ClusterName",
              ecs.clusterName,
              "ServiceName",
              ecs.apiServiceName,
            ],
            ["...", ecs.workerServiceName],
          ],
        },
      ]
    : [];
  const data: Panel[] = [
    {
      title: "Postgres",
      metrics: [
        ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", r.rdsInstanceId],
        [".", "DatabaseConnections", ".", "."],
        [".", "FreeStorageSpace", ".", ".", { yAxis: "right" }],
      ],
    },
    {
      title: "Redis (per node)",
      metrics: r.redisNodeIds.flatMap((id) => [
        ["AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", id],
        [".", "DatabaseMemoryUsagePercentage", ".", "."],
        [".", "CurrConnections", ".", ".", { yAxis: "right" }],
      ]),
    },
  ];
  if (r.gpuInstanceId) {
    data.push({
      title: "GPU host (Ollama)",
      metrics: [
        ["AWS/EC2", "CPUUtilization", "InstanceId", r.gpuInstanceId],
        [".", "StatusCheckFailed", ".", ".", { yAxis: "right", stat: "Maximum" }],
      ],
    });
  }
  // Two widgets a row, in order.
  return {
    widgets: [...runtime, ...data].map((p, i) =>
      widget(p.title, p.metrics, (i % 2) * 12, Math.floor(i / 2) * 6, region, p.stat),
    ),
  };
}
