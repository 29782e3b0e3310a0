/**
 * The API's canary and the model server's blue/green: every Rollout's steps, its analysis and
 * what happens on a failed one.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  ApiCanary,
  canaryQueries,
  ModelBlueGreen,
} from "../components/kubernetes/progressive-delivery";
import { synthesize, type ResourceRecord } from "../tools/harness";

const API = { "app.kubernetes.io/name": "rag-api" };
const STEPS = [
  { weightPercent: 5, pauseMinutes: 5 },
  { weightPercent: 25, pauseMinutes: 10 },
  { weightPercent: 50, pauseMinutes: 10 },
  { weightPercent: 100, pauseMinutes: 0 },
];
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
        new ApiCanary("api", canaryArgs);
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
    expect(rollouts()).toHaveLength(2);
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
});
