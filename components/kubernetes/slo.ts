/**
 * SLOs as code: a small spec per objective turned into Prometheus recording rules (the error
 * ratio over each window) and multiwindow, multi-burn-rate alerts (Google SRE workbook, ch. 5):
 * page when 2% of a 30-day budget burns in an hour (14.4x over 1h, confirmed over 5m) or 5% in
 * six hours (6x over 6h, confirmed over 30m); ticket when 10% burns in three days (1x over 3d,
 * confirmed over 6h).
 *
 * Generated here rather than by Sloth or Pyrra: both are Go programs (Pyrra an operator that
 * must run in every region) for what is a few dozen lines of PromQL; our own generator runs in
 * the same test runner as the rest of the program and emits a PrometheusRule that the region's
 * Prometheus loads. It follows Sloth's rule shapes (slo:sli_error:ratio_rate<window>).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Role } from "../../runtime/src/kafka/events";

/** The windows the alerts read: every long and short window of the three burn-rate pairs. */
export const SLO_WINDOWS = ["5m", "30m", "1h", "6h", "3d"] as const;
export type SloWindow = (typeof SLO_WINDOWS)[number];

/** One alerting condition: burn rate over a long window, confirmed over a short one. */
export interface BurnRateWindow {
  readonly severity: "page" | "ticket";
  readonly burnRate: number;
  readonly long: SloWindow;
  readonly short: SloWindow;
}

export const BURN_RATE_WINDOWS: readonly BurnRateWindow[] = [
  { severity: "page", burnRate: 14.4, long: "1h", short: "5m" },
  { severity: "page", burnRate: 6, long: "6h", short: "30m" },
  { severity: "ticket", burnRate: 1, long: "3d", short: "6h" },
];

/** `errors / total` with `$window` standing for the range: the share of bad events. */
export interface RatioSli {
  readonly errors: string;
  readonly total: string;
}

export interface SloSpec {
  /** kebab-case, unique: the `slo` label of every rule. */
  readonly name: string;
  readonly service: string;
  /** The share of good events aimed at, in percent (99.9). */
  readonly objectivePercent: number;
  readonly description: string;
  readonly sli: RatioSli;
}

/** A histogram's latency SLI: requests slower than `thresholdSeconds` (one of its buckets) are bad. */
export function latencySli(
  histogram: string,
  selector: string,
  thresholdSeconds: number,
  buckets: readonly number[],
): RatioSli {
  if (!buckets.includes(thresholdSeconds))
    throw new Error(
      `latency SLI on ${histogram}: threshold ${thresholdSeconds}s is not one of its buckets (${buckets.join(", ")})`,
    );
  const total = `sum(rate(${histogram}_count{${selector}}[$window]))`;
  return {
    total,
    errors: `(${total} - sum(rate(${histogram}_bucket{${selector},le="${thresholdSeconds}"}[$window])))`,
  };
}

/** An availability SLI: 5xx responses of a route are bad. */
export function availabilitySli(histogram: string, selector: string): RatioSli {
  return {
    errors: `sum(rate(${histogram}_count{${selector},status=~"5.."}[$window]))`,
    total: `sum(rate(${histogram}_count{${selector}}[$window]))`,
  };
}

/**
 * A time-slice SLI: each minute in which `value` (an instant expression) is above `threshold` is
 * bad. For a gauge, which counts no events: the share of bad minutes over the window.
 */
export function timeSliceSli(value: string, threshold: number): RatioSli {
  return {
    errors: `sum_over_time((${value} > bool ${threshold})[$window:1m])`,
    total: `count_over_time((${value})[$window:1m])`,
  };
}

/**
 * How far a Kafka ingest role is behind its input topic, in seconds: its group's lag (records,
 * the same from every pod of the role) over the records it handled per second in the last five
 * minutes. A role with a lag that handles nothing is as far behind as it gets.
 */
export function kafkaSecondsBehind(namespace: string, role: string): string {
  const selector = `namespace="${namespace}",role="${role}"`;
  return `max(${KAFKA_LAG}{${selector}}) / clamp_min(sum(rate(${KAFKA_RECORDS}{${selector}}[5m])), 0.001)`;
}

const NAME = /^[a-z][a-z0-9-]*$/;

function check(slos: readonly SloSpec[]): void {
  const seen = new Set<string>();
  for (const s of slos) {
    if (!NAME.test(s.name)) throw new Error(`SLO "${s.name}": the name must be kebab-case`);
    if (seen.has(s.name)) throw new Error(`SLO "${s.name}" is defined twice`);
    seen.add(s.name);
    if (!(s.objectivePercent > 0 && s.objectivePercent < 100))
      throw new Error(
        `SLO "${s.name}": objectivePercent must be between 0 and 100 (exclusive), got ${s.objectivePercent}`,
      );
    for (const part of [s.sli.errors, s.sli.total])
      if (!part.includes("$window"))
        throw new Error(`SLO "${s.name}": each SLI expression must range over $window`);
  }
}

/** The error budget as a ratio: 99.9% leaves 0.001. */
export function errorBudget(s: SloSpec): number {
  return Number((1 - s.objectivePercent / 100).toPrecision(12));
}

export const recordName = (window: SloWindow) => `slo:sli_error:ratio_rate${window}`;

interface RuleGroup {
  name: string;
  rules: Record<string, unknown>[];
}

/** The PrometheusRule groups: per SLO, its recording rules, then its page and ticket alerts. */
export function sloRuleGroups(slos: readonly SloSpec[]): RuleGroup[] {
  check(slos);
  return slos.flatMap((s) => {
    const labels = { slo: s.name, service: s.service };
    const selector = `{slo="${s.name}"}`;
    const budget = errorBudget(s);
    const recording = SLO_WINDOWS.map((window) => ({
      record: recordName(window),
      expr: `(${s.sli.errors.replaceAll("$window", window)}) / (${s.sli.total.replaceAll("$window", window)})`,
      labels,
    }));
    const condition = (w: BurnRateWindow) =>
      `(${recordName(w.long)}${selector} > (${w.burnRate} * ${budget}) and ${recordName(w.short)}${selector} > (${w.burnRate} * ${budget}))`;
    const alert = (severity: BurnRateWindow["severity"], title: string) => {
      const windows = BURN_RATE_WINDOWS.filter((w) => w.severity === severity);
      return {
        alert: `SLOBurn${title}`,
        expr: windows.map(condition).join(" or "),
        labels: { ...labels, severity },
        annotations: {
          summary: `${s.service}: ${s.description} is burning its error budget (${s.objectivePercent}% objective)`,
          windows: windows
            .map((w) => `${w.burnRate}x over ${w.long} (confirmed over ${w.short})`)
            .join("; "),
        },
      };
    };
    return [
      { name: `slo-${s.name}-recordings`, rules: recording },
      { name: `slo-${s.name}-alerts`, rules: [alert("page", "Page"), alert("ticket", "Ticket")] },
    ];
  });
}

/** The runtime's request histogram and its buckets (runtime/src/metrics.ts). */
const HTTP = "rag_http_request_duration_seconds";
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** vLLM's time-to-first-token histogram and its buckets. */
const TTFT = "vllm:time_to_first_token_seconds";
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** The Kafka ingest roles' gauges and counters (runtime/src/metrics.ts). */
const KAFKA_LAG = "rag_kafka_consumer_lag";
const KAFKA_RECORDS = "rag_kafka_records_total";

/**
 * Each ingest role's freshness: how many seconds behind its input topic it may fall (parse reads
 * originals, embed waits on the GPU pool, index writes one transaction per record).
 */
export const INGEST_FRESHNESS_SECONDS = {
  parse: 300,
  embed: 600,
  index: 300,
} as const satisfies Record<Role, number>;
/** A replica region's index: how far behind what MSK Replicator brought it may fall. */
export const CROSS_REGION_INDEX_SECONDS = 300;

/** The ingest log's objectives: per role, in the primary; a replica's own index lag elsewhere. */
function ingestSlos(namespace: string, replicaRegion: boolean): SloSpec[] {
  const roles = Object.entries(INGEST_FRESHNESS_SECONDS).filter(
    ([role]) => !(replicaRegion && role === "index"),
  );
  return [
    ...roles.map(([role, seconds]) => ({
      name: `ingest-freshness-${role}`,
      service: `rag-ingest-${role}`,
      objectivePercent: 99,
      description: `the ${role} role stays within ${seconds} s of its topic`,
      sli: timeSliceSli(kafkaSecondsBehind(namespace, role), seconds),
    })),
    ...(replicaRegion
      ? [
          {
            name: "cross-region-index-lag",
            service: "rag-ingest-index",
            objectivePercent: 99,
            description: `this region's index stays within ${CROSS_REGION_INDEX_SECONDS} s of the replicated records`,
            sli: timeSliceSli(kafkaSecondsBehind(namespace, "index"), CROSS_REGION_INDEX_SECONDS),
          },
        ]
      : []),
  ];
}

/** The RAG service's objectives in one namespace. */
export function ragSlos(
  namespace: string,
  opts: {
    selfHostedModel: boolean;
    /** A region that indexes what MSK Replicator copies from the primary. @default false */
    replicaRegion?: boolean;
  },
): SloSpec[] {
  const route = (r: string) => `namespace="${namespace}",route="${r}"`;
  return [
    {
      name: "query-availability",
      service: "rag-api",
      objectivePercent: 99.9,
      description: "POST /v1/query answers without a server error",
      sli: availabilitySli(HTTP, route("/v1/query")),
    },
    {
      name: "query-latency",
      service: "rag-api",
      objectivePercent: 99,
      description: "POST /v1/query answers within 10 s",
      sli: latencySli(HTTP, route("/v1/query"), 10, HTTP_BUCKETS),
    },
    {
      name: "retrieve-availability",
      service: "rag-api",
      objectivePercent: 99.9,
      description: "POST /v1/retrieve answers without a server error",
      sli: availabilitySli(HTTP, route("/v1/retrieve")),
    },
    {
      name: "retrieve-latency",
      service: "rag-api",
      objectivePercent: 99,
      description: "POST /v1/retrieve answers within 0.5 s",
      sli: latencySli(HTTP, route("/v1/retrieve"), 0.5, HTTP_BUCKETS),
    },
    ...(opts.selfHostedModel
      ? [
          {
            name: "time-to-first-token",
            service: "vllm",
            objectivePercent: 99,
            description: "the model's first token within 2.5 s",
            sli: latencySli(TTFT, `namespace="${namespace}"`, 2.5, TTFT_BUCKETS),
          },
        ]
      : []),
    ...ingestSlos(namespace, opts.replicaRegion ?? false),
  ];
}

/** The SLO rules as a PrometheusRule the region's Prometheus loads. */
export class SloRules extends pulumi.ComponentResource {
  constructor(
    name: string,
    args: { namespace: pulumi.Input<string>; slos: readonly SloSpec[] },
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("rag:k8s:SloRules", name, {}, opts);
    new k8s.apiextensions.CustomResource(
      name,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "rag-slos", namespace: args.namespace },
        spec: { groups: sloRuleGroups(args.slos) },
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}
