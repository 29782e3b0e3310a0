/**
 * The API's canary and the model server's blue/green: every Rollout's steps, its analysis and
 * what happens on a failed one.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  albForwardAction,
  canaryRoute,
  routedBackend,
} from "../components/kubernetes/canary-routing";
import {
  ApiCanary,
  canaryQueries,
  ModelBlueGreen,
} from "../components/kubernetes/progressive-delivery";
import {
  RuntimeWorkloads,
  type RuntimeWorkloadsArgs,
} from "../components/kubernetes/runtime-workloads";
import { synthesize, type ResourceRecord } from "../tools/harness";

const API = { "app.kubernetes.io/name": "rag-api" };
const STEPS = [
  { weightPercent: 5, pauseMinutes: 5 },
  { weightPercent: 25, pauseMinutes: 10 },
  { weightPercent: 50, pauseMinutes: 10 },
  { weightPercent: 100, pauseMinutes: 0 },
];
const ROUTE = canaryRoute("alb", "rag-api", "rag-api", 80);
const canaryArgs = {
  namespace: "rag",
  deploymentName: "rag-api",
  labels: API,
  steps: STEPS,
  prometheusUrl: "http://prometheus:9090",
  maxErrorRatio: 0.0144,
  maxP95Seconds: 10,
};

describe("rollouts", () => {
  let resources: ResourceRecord[];
  beforeAll(async () => {
    const result = await synthesize({
      stack: "sme",
      program: async () => {
        new ApiCanary("api", { ...canaryArgs, route: ROUTE });
        new ApiCanary("unrouted", { ...canaryArgs, deploymentName: "rag-api-unrouted" });
        new ModelBlueGreen("vllm", {
          namespace: "rag",
          deploymentName: "vllm",
          activeService: "vllm",
          labels: { "app.kubernetes.io/name": "vllm" },
          port: 8000,
          replicas: 1,
          model: "meta-llama/Llama-3.1-8B-Instruct",
          warmup: {
            namespace: "rag",
            serviceAccount: "model-warmup",
            labels: { "app.kubernetes.io/name": "model-warmup" },
          },
          curlImage: "curlimages/curl:8.11.1",
        });
        return {};
      },
    });
    resources = result.resources;
  }, 60_000);

  const rollouts = () =>
    resources.filter((r) => r.type === "kubernetes:argoproj.io/v1alpha1:Rollout");
  const template = (name: string) =>
    resources.find(
      (r) =>
        r.type === "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate" &&
        (r.inputs.metadata as { name: string }).name === name,
    )!;
  type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  it("gives every Rollout a strategy, its analysis, and a Deployment to take over", () => {
    expect(rollouts()).toHaveLength(3);
    for (const r of rollouts()) {
      const spec = r.inputs.spec as Spec;
      expect(spec.workloadRef).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment" });
      const strategy = spec.strategy.canary ?? spec.strategy.blueGreen;
      const analysis = strategy.analysis ?? strategy.prePromotionAnalysis;
      for (const t of analysis.templates) expect(template(t.templateName)).toBeDefined();
    }
  });

  it("moves the API 5, 25, 50, 100% with pauses, measured in the background from the first step", () => {
    const api = rollouts().find((r) => (r.inputs.metadata as { name: string }).name === "rag-api")!;
    const canary = (api.inputs.spec as Spec).strategy.canary;
    expect(canary.steps).toEqual([
      { setWeight: 5 },
      { pause: { duration: "5m" } },
      { setWeight: 25 },
      { pause: { duration: "10m" } },
      { setWeight: 50 },
      { pause: { duration: "10m" } },
      { setWeight: 100 },
    ]);
    expect(canary.analysis).toEqual({
      templates: [{ templateName: "rag-api-slo" }],
      startingStep: 1,
      args: [{ name: "canary-hash", valueFrom: { podTemplateHashValue: "Latest" } }],
    });
    // Rollback: an aborted canary is scaled down after 30 s; no pod of the stable version is taken first.
    expect(canary.abortScaleDownDelaySeconds).toBe(30);
    expect(canary.maxUnavailable).toBe(0);
  });

  it("splits the API's requests by weight at the ALB, between its stable and canary Services", () => {
    const api = rollouts().find((r) => (r.inputs.metadata as { name: string }).name === "rag-api")!;
    const canary = (api.inputs.spec as Spec).strategy.canary;
    expect(canary.canaryService).toBe("rag-api-canary");
    expect(canary.stableService).toBe("rag-api-stable");
    expect(canary.trafficRouting).toEqual({
      alb: { ingress: "rag-api", rootService: "rag-api", servicePort: 80 },
    });
    // Without a route the Rollout has no router and no Services of its own: a split by pod count.
    const unrouted = rollouts().find(
      (r) => (r.inputs.metadata as { name: string }).name === "rag-api-unrouted",
    )!;
    const plain = (unrouted.inputs.spec as Spec).strategy.canary;
    expect(plain.trafficRouting).toBeUndefined();
    expect(plain.canaryService).toBeUndefined();
    expect(plain.steps).toEqual(canary.steps);
  });

  it("writes the ALB action as Rollouts v1.9 does, all to stable at rest and after an abort", () => {
    // Rollouts' own rendering (docs/features/traffic-management/alb.md, getForwardActionString):
    // canary first, the port as a string; an abort sets the canary's weight back to 0.
    const rest = JSON.parse(albForwardAction(ROUTE, 0));
    expect(rest).toEqual({
      Type: "forward",
      ForwardConfig: {
        TargetGroups: [
          { ServiceName: "rag-api-canary", ServicePort: "80", Weight: 0 },
          { ServiceName: "rag-api-stable", ServicePort: "80", Weight: 100 },
        ],
      },
    });
    expect(albForwardAction(ROUTE, 0)).toBe(
      '{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"rag-api-canary","ServicePort":"80","Weight":0},{"ServiceName":"rag-api-stable","ServicePort":"80","Weight":100}]}}',
    );
    const fivePercent = JSON.parse(albForwardAction(ROUTE, 5)).ForwardConfig.TargetGroups;
    expect(fivePercent.map((g: Spec) => g.Weight)).toEqual([5, 95]);
    expect(routedBackend(ROUTE)).toEqual({
      annotations: { "alb.ingress.kubernetes.io/actions.rag-api": albForwardAction(ROUTE, 0) },
      backendPortName: "use-annotation",
    });
  });

  it("aborts on the first measurement over the SLO's thresholds, on the canary's pods only", () => {
    const spec = template("rag-api-slo").inputs.spec as Spec;
    const q = canaryQueries("rag_http_request_duration_seconds", "rag");
    expect(spec.metrics).toEqual([
      {
        name: "error-ratio",
        interval: "1m",
        failureLimit: 0,
        successCondition: "len(result) == 0 || isNaN(result[0]) || result[0] <= 0.0144",
        provider: { prometheus: { address: "http://prometheus:9090", query: q.errors } },
      },
      {
        name: "latency-p95",
        interval: "1m",
        failureLimit: 0,
        successCondition: "len(result) == 0 || isNaN(result[0]) || result[0] <= 10",
        provider: { prometheus: { address: "http://prometheus:9090", query: q.p95 } },
      },
    ]);
    expect(q.errors).toContain('rollouts_pod_template_hash="{{args.canary-hash}}"');
    expect(q.errors).toContain('status=~"5.."');
  });

  it("promotes a model server only after the preview answers a completion", () => {
    const vllm = rollouts().find((r) => (r.inputs.metadata as { name: string }).name === "vllm")!;
    expect((vllm.inputs.spec as Spec).strategy.blueGreen).toEqual({
      activeService: "vllm",
      previewService: "vllm-preview",
      autoPromotionEnabled: true,
      prePromotionAnalysis: { templates: [{ templateName: "vllm-warm" }] },
      scaleDownDelaySeconds: 600,
    });
    const job = (template("vllm-warm").inputs.spec as Spec).metrics[0].provider.job.spec;
    const container = job.template.spec.containers[0];
    expect(container.image).toBe("curlimages/curl:8.11.1");
    expect(container.args.at(-1)).toBe(
      "http://vllm-preview.rag.svc.cluster.local:8000/v1/completions",
    );
    expect(JSON.parse(container.args.at(-2))).toEqual({
      model: "meta-llama/Llama-3.1-8B-Instruct",
      prompt: "ping",
      max_tokens: 1,
    });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
    });
  });

  it("refuses steps that do not rise to 100%", async () => {
    const bad = (steps: typeof STEPS) => () => new ApiCanary("bad", { ...canaryArgs, steps });
    expect(bad([{ weightPercent: 50, pauseMinutes: 1 }])).toThrow(
      "bad: the last step must send 100%, got 50",
    );
    expect(bad([STEPS[1]!, STEPS[0]!, STEPS[3]!])).toThrow(
      "bad: step weights must rise, got 25, 5, 100",
    );
  });

  it("refuses a canary router without the Ingress it rewrites or the Rollout it splits", () => {
    const message =
      "rt: apiCanaryRouter alb splits a Rollout's canary on the API's Ingress: needs ingress and apiReleasedBy \"rollout\"";
    const ingress = { className: "alb", annotations: {} };
    const bad = (args: Partial<RuntimeWorkloadsArgs>) => () =>
      new RuntimeWorkloads("rt", { apiCanaryRouter: "alb", ...args } as RuntimeWorkloadsArgs);
    expect(bad({ apiReleasedBy: "rollout" })).toThrow(message);
    expect(bad({ ingress, apiReleasedBy: "deployment" })).toThrow(message);
  });
});
