import { describe, expect, it } from "vitest";
import {
  availabilitySli,
  errorBudget,
  latencySli,
  CROSS_REGION_INDEX_SECONDS,
  INGEST_FRESHNESS_SECONDS,
  kafkaSecondsBehind,
  ragSlos,
  sloRuleGroups,
  timeSliceSli,
  type SloSpec,
} from "../components/kubernetes/slo";
import { Metrics } from "../runtime/src/metrics";
import { ROLES } from "../runtime/src/kafka/events";
import {
  alertmanagerConfig,
  LOG_TRACE_ID_PATTERN,
  workloadScrape,
} from "../components/kubernetes/observability-stack";
import { RAG_PANELS, ragDashboard } from "../components/shared/rag-dashboard";

const availability: SloSpec = {
  name: "query-availability",
  service: "rag-api",
  objectivePercent: 99.9,
  description: "queries answer",
  sli: availabilitySli("rag_http_request_duration_seconds", 'route="/v1/query"'),
};

describe("SLO rules", () => {
  const groups = sloRuleGroups([availability]);
  const [recordings, alerts] = groups;

  it("records the error ratio over each window the alerts read", () => {
    expect(recordings!.rules.map((r) => r.record)).toEqual([
      "slo:sli_error:ratio_rate5m",
      "slo:sli_error:ratio_rate30m",
      "slo:sli_error:ratio_rate1h",
      "slo:sli_error:ratio_rate6h",
      "slo:sli_error:ratio_rate3d",
    ]);
    expect(recordings!.rules[2]).toEqual({
      record: "slo:sli_error:ratio_rate1h",
      expr: '(sum(rate(rag_http_request_duration_seconds_count{route="/v1/query",status=~"5.."}[1h]))) / (sum(rate(rag_http_request_duration_seconds_count{route="/v1/query"}[1h])))',
      labels: { slo: "query-availability", service: "rag-api" },
    });
    for (const r of recordings!.rules) expect(String(r.expr)).not.toContain("$window");
  });

  it("pages on 14.4x over 1h with 5m or 6x over 6h with 30m, tickets on 1x over 3d with 6h", () => {
    const [page, ticket] = alerts!.rules;
    expect(errorBudget(availability)).toBe(0.001);
    expect(page).toMatchObject({
      alert: "SLOBurnPage",
      labels: { severity: "page", slo: "query-availability" },
    });
    expect(page!.expr).toBe(
      '(slo:sli_error:ratio_rate1h{slo="query-availability"} > (14.4 * 0.001) and slo:sli_error:ratio_rate5m{slo="query-availability"} > (14.4 * 0.001))' +
        ' or (slo:sli_error:ratio_rate6h{slo="query-availability"} > (6 * 0.001) and slo:sli_error:ratio_rate30m{slo="query-availability"} > (6 * 0.001))',
    );
    expect(ticket).toMatchObject({ alert: "SLOBurnTicket", labels: { severity: "ticket" } });
    expect(ticket!.expr).toBe(
      '(slo:sli_error:ratio_rate3d{slo="query-availability"} > (1 * 0.001) and slo:sli_error:ratio_rate6h{slo="query-availability"} > (1 * 0.001))',
    );
  });

  it("counts slower-than-threshold requests as bad for latency, on a real bucket only", () => {
    const sli = latencySli("h", 'route="/r"', 0.5, [0.25, 0.5, 1]);
    expect(sli.errors).toBe(
      '(sum(rate(h_count{route="/r"}[$window])) - sum(rate(h_bucket{route="/r",le="0.5"}[$window])))',
    );
    expect(() => latencySli("h", "", 0.3, [0.25, 0.5])).toThrow(
      "latency SLI on h: threshold 0.3s is not one of its buckets (0.25, 0.5)",
    );
  });

  it("refuses a bad spec with one line naming it", () => {
    expect(() => sloRuleGroups([{ ...availability, objectivePercent: 100 }])).toThrow(
      'SLO "query-availability": objectivePercent must be between 0 and 100 (exclusive), got 100',
    );
    expect(() => sloRuleGroups([availability, availability])).toThrow(
      'SLO "query-availability" is defined twice',
    );
    expect(() =>
      sloRuleGroups([{ ...availability, sli: { errors: "x", total: "y[5m]" } }]),
    ).toThrow('SLO "query-availability": each SLI expression must range over $window');
  });

  it("covers query and retrieve availability and latency, and time to first token when the model is ours", () => {
    expect(ragSlos("rag", { selfHostedModel: true }).map((s) => s.name)).toEqual([
      "query-availability",
      "query-latency",
      "retrieve-availability",
      "retrieve-latency",
      "time-to-first-token",
      "ingest-freshness-parse",
      "ingest-freshness-embed",
      "ingest-freshness-index",
    ]);
    expect(ragSlos("rag", { selfHostedModel: false }).map((s) => s.name)).not.toContain(
      "time-to-first-token",
    );
    // Every generated group is well-formed for all of them.
    expect(sloRuleGroups(ragSlos("rag", { selfHostedModel: true }))).toHaveLength(16);
  });

  it("counts the minutes an ingest role is too far behind its topic, per role, from the runtime's Kafka metrics", () => {
    expect(Object.keys(INGEST_FRESHNESS_SECONDS)).toEqual([...ROLES]);
    const behind = kafkaSecondsBehind("rag", "embed");
    expect(behind).toBe(
      'max(rag_kafka_consumer_lag{namespace="rag",role="embed"}) / clamp_min(sum(rate(rag_kafka_records_total{namespace="rag",role="embed"}[5m])), 0.001)',
    );
    const embed = ragSlos("rag", { selfHostedModel: false }).find(
      (s) => s.name === "ingest-freshness-embed",
    )!;
    expect(embed.sli).toEqual(timeSliceSli(behind, INGEST_FRESHNESS_SECONDS.embed));
    const [recordings, alerts] = sloRuleGroups([embed]);
    expect(recordings!.rules.find((r) => r.record === "slo:sli_error:ratio_rate6h")!.expr).toBe(
      `(sum_over_time((${behind} > bool 600)[6h:1m])) / (count_over_time((${behind})[6h:1m]))`,
    );
    expect(recordings!.rules.map((r) => String(r.expr).match(/\[(\w+):1m\]/)![1])).toEqual([
      "5m",
      "30m",
      "1h",
      "6h",
      "3d",
    ]);
    // A 99% objective: the page at 14.4 and 6 times 0.01, the ticket at 1 times.
    const [page, ticket] = alerts!.rules;
    expect(page!.expr).toBe(
      '(slo:sli_error:ratio_rate1h{slo="ingest-freshness-embed"} > (14.4 * 0.01) and slo:sli_error:ratio_rate5m{slo="ingest-freshness-embed"} > (14.4 * 0.01))' +
        ' or (slo:sli_error:ratio_rate6h{slo="ingest-freshness-embed"} > (6 * 0.01) and slo:sli_error:ratio_rate30m{slo="ingest-freshness-embed"} > (6 * 0.01))',
    );
    expect(ticket!.expr).toBe(
      '(slo:sli_error:ratio_rate3d{slo="ingest-freshness-embed"} > (1 * 0.01) and slo:sli_error:ratio_rate6h{slo="ingest-freshness-embed"} > (1 * 0.01))',
    );
  });

  it("reads metrics the runtime exports, by role", async () => {
    const metrics = new Metrics();
    metrics.watchKafkaLag(async () => ({ parse: 3, embed: 0, index: 1 }));
    metrics.kafkaRecords.inc({ role: "embed", outcome: "forwarded" });
    const text = await metrics.registry.metrics();
    expect(text).toContain('rag_kafka_consumer_lag{role="parse"} 3');
    expect(text).toContain('rag_kafka_records_total{role="embed",outcome="forwarded"} 1');
  });

  it("measures a replica region's index against what the replicator brought, instead of the primary's freshness", () => {
    const replica = ragSlos("rag", { selfHostedModel: false, replicaRegion: true });
    const names = replica.map((s) => s.name);
    expect(names).toContain("cross-region-index-lag");
    expect(names).not.toContain("ingest-freshness-index");
    expect(replica.find((s) => s.name === "cross-region-index-lag")!.sli).toEqual(
      timeSliceSli(kafkaSecondsBehind("rag", "index"), CROSS_REGION_INDEX_SECONDS),
    );
    expect(ragSlos("rag", { selfHostedModel: false }).map((s) => s.name)).not.toContain(
      "cross-region-index-lag",
    );
  });
});

describe("Alertmanager routes", () => {
  const routing = {
    secretName: "alertmanager-keys",
    ticketEmails: ["oncall@example.com"],
    smtp: { smarthost: "smtp.example.com:587", from: "alerts@example.com", username: "alerts" },
  };

  it("sends pages to PagerDuty and tickets by e-mail, reading keys from mounted files", () => {
    const config = alertmanagerConfig(routing) as {
      route: { routes: { receiver: string; matchers: string[] }[] };
      receivers: Record<string, unknown>[];
    };
    expect(config.route.routes.map((r) => [r.matchers[0], r.receiver])).toEqual([
      ['severity="page"', "pagerduty"],
      ['severity="ticket"', "ticket-email"],
    ]);
    const text = JSON.stringify(config);
    expect(text).not.toMatch(/routing_key"|auth_password"/);
    expect(text).toContain("routing_key_file");
  });

  it("needs an SMTP server to e-mail tickets, and drops them with no address", () => {
    expect(() => alertmanagerConfig({ ...routing, smtp: undefined })).toThrow(
      "alert routing: e-mailing tickets needs an SMTP server (smtp)",
    );
    const none = alertmanagerConfig({ ...routing, ticketEmails: [], smtp: undefined }) as {
      route: { routes: { receiver: string }[] };
    };
    expect(none.route.routes.map((r) => r.receiver)).toEqual(["pagerduty", "null"]);
  });
});

describe("the RAG dashboard and scrape", () => {
  it("has one panel per metric family the issue names, each reading the namespace", () => {
    const dash = ragDashboard("rag") as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dash.panels.map((p) => p.title)).toEqual(RAG_PANELS.map((p) => p.title));
    for (const p of dash.panels) expect(p.targets[0]!.expr).toContain('namespace="$namespace"');
    expect(dash.panels.map((p) => p.title).join(" ")).toMatch(
      /Request rate.*Errors.*Latency.*Retrieval.*first token.*Ingest.*GPU/,
    );
  });

  it("keeps Argo Rollouts' pod-template hash on the workloads' series", () => {
    const scrape = workloadScrape("rag") as { relabel_configs: { target_label?: string }[] };
    expect(scrape.relabel_configs.map((r) => r.target_label)).toContain(
      "rollouts_pod_template_hash",
    );
  });
});

describe("logs to traces", () => {
  it("finds the trace id in a runtime log line (its trace_id field), so Grafana links it to Tempo", () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const line = JSON.stringify({
      level: 30,
      trace_id: traceId,
      span_id: "00f067aa0ba902b7",
      msg: "x",
    });
    expect(new RegExp(LOG_TRACE_ID_PATTERN).exec(line)?.[1]).toBe(traceId);
    expect(new RegExp(LOG_TRACE_ID_PATTERN).exec(JSON.stringify({ traceId }))).toBeNull();
  });
});
