/**
 * Zero trust as synthesized: the platform's flow table walked flow by flow against the
 * NetworkPolicies and the mesh's AuthorizationPolicies the stack creates, and every ALLOW rule
 * walked back to a flow. Built on EKS with the mesh, Rollouts and the in-cluster stack on (the
 * enterprise settings), in one region.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { principalOf, type Flow, type MeshWorkload } from "../components/kubernetes/flows";
import type { ResourceRecord } from "../tools/harness";
import { synthEksPlatform } from "./helpers";

const SETS = [
  "rag-platform:security.mesh=istio-ambient",
  "rag-platform:security.releases=rollouts",
  "rag-platform:observability.stack=in-cluster",
  // Argo CD on (as the enterprise preset has it), from an SSH URL: its repo server leaves on 22.
  "rag-platform:gitops.enabled=true",
  "rag-platform:gitops.repoUrl=git@github.com:acme/rag-environments.git",
];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const NP = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const AP = "kubernetes:security.istio.io/v1:AuthorizationPolicy";
const NS = "kubernetes:core/v1:Namespace";

/** Whether a label selector (matchLabels, matchExpressions In) selects these labels. */
function selects(selector: Json | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  const match = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const expressions = (selector.matchExpressions ?? []).every(
    (e: Json) => e.operator === "In" && e.values.includes(labels[e.key]),
  );
  return match && expressions;
}

/** Whether a NetworkPolicy peer admits a workload (namespace and pods). */
function peerAdmits(peer: Json, policyNamespace: string, w: MeshWorkload): boolean {
  if (peer.ipBlock) return false;
  const nsLabels = { "kubernetes.io/metadata.name": w.namespace };
  const inNamespace = peer.namespaceSelector
    ? selects(peer.namespaceSelector, nsLabels)
    : w.namespace === policyNamespace;
  return inNamespace && selects(peer.podSelector, w.labels);
}

const portsAllow = (rulePorts: Json[] | undefined, ports: readonly number[]) =>
  !rulePorts || ports.every((p) => rulePorts.some((rp) => rp.port === p));

describe("the flow table against the synthesized policies", () => {
  let resources: ResourceRecord[];
  let flows: readonly Flow[];
  beforeAll(async () => {
    const { result, platform } = await synthEksPlatform(SETS);
    resources = result.resources;
    flows = platform.flowTable.flows;
  }, 120_000);

  const policies = (type: string, namespace: string): { inputs: Json }[] =>
    resources.filter(
      (r) => r.type === type && (r.inputs as Json).metadata?.namespace === namespace,
    );
  /** The namespaces with a default-deny NetworkPolicy: flows there need an opening. */
  const denied = (namespace: string) =>
    policies(NP, namespace).some((p) => p.inputs.metadata.name === "default-deny");

  /** The network the load balancer sends from (on EKS, the VPC's range), as synthesized. */
  const balancerCidr = () =>
    resources.find((r) => r.type === "aws:ec2/vpc:Vpc")!.inputs.cidrBlock as string;

  /** Whether the NetworkPolicies let `w` send this flow out. */
  function egressAllowed(w: MeshWorkload, f: Flow): boolean {
    const mine = policies(NP, w.namespace).filter(
      (p) =>
        selects(p.inputs.spec.podSelector, w.labels) &&
        (p.inputs.spec.policyTypes ?? []).includes("Egress"),
    );
    if (!denied(w.namespace) && mine.length === 0) return true;
    return mine.some((p) =>
      (p.inputs.spec.egress ?? []).some(
        (rule: Json) =>
          portsAllow(rule.ports, f.ports) &&
          (rule.to ?? []).some((peer: Json) =>
            f.to.kind === "cidr"
              ? peer.ipBlock?.cidr === (typeof f.to.cidr === "string" ? f.to.cidr : balancerCidr())
              : peerAdmits(peer, w.namespace, f.to.workload),
          ),
      ),
    );
  }

  /** Whether the NetworkPolicies let this flow into `w`. */
  function ingressAllowed(w: MeshWorkload, f: Flow): boolean {
    const mine = policies(NP, w.namespace).filter(
      (p) =>
        selects(p.inputs.spec.podSelector, w.labels) &&
        (p.inputs.spec.policyTypes ?? []).includes("Ingress"),
    );
    if (!denied(w.namespace) && mine.length === 0) return true;
    return mine.some((p) =>
      (p.inputs.spec.ingress ?? []).some(
        (rule: Json) =>
          portsAllow(rule.ports, f.ports) &&
          (rule.from ?? []).some((peer: Json) =>
            f.from.kind === "network"
              ? peer.ipBlock?.cidr === balancerCidr()
              : peerAdmits(peer, w.namespace, f.from.workload),
          ),
      ),
    );
  }

  /** The mesh's ALLOW rule admitting this flow into its destination, if any. */
  function meshRule(f: Flow & { to: { kind: "workload" } }): Json | undefined {
    const dest = f.to.workload;
    for (const p of policies(AP, dest.namespace)) {
      const spec = p.inputs.spec ?? {};
      if (!spec.rules || !selects(spec.selector, dest.labels)) continue;
      const rule = spec.rules.find((r: Json) => {
        const source = r.from[0].source;
        const fromOk =
          f.from.kind === "workload"
            ? source.principals?.includes(principalOf(f.from.workload))
            : JSON.stringify(source.ipBlocks) === JSON.stringify([balancerCidr()]);
        const ports = r.to?.[0]?.operation?.ports;
        return fromOk && (!ports || f.ports.every((x) => ports.includes(String(x))));
      });
      if (rule) return rule;
    }
    return undefined;
  }

  it("names the flows the issue lists: API to Qdrant, the model servers, the collector; the load balancer in", () => {
    const described = flows.map(
      (f) =>
        `${f.from.kind === "workload" ? (f.from.workload.labels["app.kubernetes.io/name"] ?? f.from.workload.namespace) : f.from.what} -> ${
          f.to.kind === "workload"
            ? (f.to.workload.labels["app.kubernetes.io/name"] ?? f.to.workload.namespace)
            : typeof f.to.cidr === "string"
              ? f.to.cidr
              : "the cluster network"
        }`,
    );
    for (const expected of [
      "load balancer -> rag-api",
      "rag-api -> qdrant",
      "rag-worker -> qdrant",
      "rag-api -> vllm",
      "rag-worker -> embeddings",
      "rag-api -> opentelemetry-collector",
      "model-warmup -> vllm",
      "prometheus -> rag-api",
      "argo-rollouts -> prometheus",
    ])
      expect(described).toContain(expected);
    // The internet only for a stated purpose.
    for (const f of flows)
      if (f.to.kind === "cidr" && f.to.cidr === "0.0.0.0/0")
        expect(f.to.internet, f.purpose).toBeDefined();
  });

  it("lets every flow out of its source and into its destination through the NetworkPolicies", () => {
    for (const f of flows) {
      if (f.from.kind === "workload")
        expect(egressAllowed(f.from.workload, f), `egress: ${f.purpose}`).toBe(true);
      if (f.to.kind === "workload")
        expect(ingressAllowed(f.to.workload, f), `ingress: ${f.purpose}`).toBe(true);
    }
  });

  /** The namespaces the stack creates: all enrolled in the mesh (kube-system is not). */
  const created = () =>
    resources.filter((r) => r.type === NS).map((r) => (r.inputs as Json).metadata.name as string);
  const intoMesh = () =>
    flows.filter((f) => f.to.kind === "workload" && created().includes(f.to.workload.namespace));

  it("admits every in-cluster flow by the caller's principal (or the balancer's address) in the mesh", () => {
    for (const f of intoMesh()) expect(meshRule(f as never), f.purpose).toBeDefined();
    // Out of the mesh, the cluster's DNS is reached through the NetworkPolicies alone.
    expect(
      flows.some((f) => f.to.kind === "workload" && f.to.workload.namespace === "kube-system"),
    ).toBe(true);
    expect(policies(AP, "kube-system")).toEqual([]);
  });

  /** Whether the NetworkPolicies of `w`'s namespace let `from` reach `w` on `port`. */
  const admitsOn = (w: MeshWorkload, from: MeshWorkload, port: number) =>
    policies(NP, w.namespace).some(
      (p) =>
        selects(p.inputs.spec.podSelector, w.labels) &&
        (p.inputs.spec.ingress ?? []).some(
          (rule: Json) =>
            portsAllow(rule.ports, [port]) &&
            (rule.from ?? []).some((peer: Json) => peerAdmits(peer, w.namespace, from)),
        ),
    );

  it("lets ztunnel deliver every meshed flow on HBONE (15008) and the kubelet probe enrolled pods", () => {
    const meshed = intoMesh().filter(
      (f) => f.from.kind === "workload" && created().includes(f.from.workload.namespace),
    );
    expect(meshed.length).toBeGreaterThan(10);
    for (const f of meshed) {
      if (f.from.kind !== "workload" || f.to.kind !== "workload") continue;
      expect(admitsOn(f.to.workload, f.from.workload, 15008), f.purpose).toBe(true);
    }
    // 15008 only from meshed callers: never from the load balancer's range (it sends plain text).
    const hbone = resources
      .filter((r) => r.type === NP)
      .flatMap((r) => ((r.inputs as Json).spec.ingress ?? []) as Json[])
      .filter((rule) => (rule.ports ?? []).some((p: Json) => p.port === 15008));
    expect(hbone.length).toBeGreaterThan(0);
    for (const rule of hbone) {
      expect(rule.ports).toEqual([{ protocol: "TCP", port: 15008 }]);
      for (const peer of rule.from) expect(peer.ipBlock).toBeUndefined();
    }
    // A caller the table does not name gets no HBONE either: the worker into the API.
    const api = flows.find(
      (f) =>
        f.to.kind === "workload" &&
        f.purpose.length > 0 &&
        f.to.workload.labels["app.kubernetes.io/name"] === "rag-api",
    )!;
    const worker = flows.find(
      (f) =>
        f.from.kind === "workload" &&
        f.from.workload.labels["app.kubernetes.io/name"] === "rag-worker",
    )!;
    expect(api.to.kind === "workload" && worker.from.kind === "workload").toBe(true);
    if (api.to.kind === "workload" && worker.from.kind === "workload")
      expect(admitsOn(api.to.workload, worker.from.workload, 15008)).toBe(false);
    // The kubelet's probes, SNATed by ambient, reach every pod of every enrolled namespace.
    const probes = (ns: string) =>
      policies(NP, ns).filter((p) =>
        (p.inputs.spec.ingress ?? []).some((rule: Json) =>
          (rule.from ?? []).some((peer: Json) => peer.ipBlock?.cidr === "169.254.7.127/32"),
        ),
      );
    for (const ns of created()) {
      const found = probes(ns);
      expect(found, ns).toHaveLength(1);
      expect(
        found.map((p) => [p.inputs.spec.podSelector, p.inputs.spec.policyTypes]),
        ns,
      ).toEqual([[{}, ["Ingress"]]]);
    }
    // Out of the mesh (kube-system's DNS), the NetworkPolicies get neither.
    expect(probes("kube-system")).toEqual([]);
    const dns = flows.find(
      (f) => f.to.kind === "workload" && f.to.workload.namespace === "kube-system",
    )!;
    if (dns.to.kind === "workload" && dns.from.kind === "workload")
      expect(admitsOn(dns.to.workload, dns.from.workload, 15008)).toBe(false);
  });

  it("has no ALLOW rule that no flow explains, and a default deny in every namespace it creates", () => {
    const inputs = (type: string) =>
      resources.filter((r) => r.type === type).map((r) => r.inputs as Json);
    const rules = inputs(AP).flatMap((i) => (i.spec?.rules ?? []) as Json[]);
    expect(rules).toHaveLength(intoMesh().length);
    const namespaces = inputs(NS).map((i) => i.metadata.name as string);
    expect(namespaces.sort()).toEqual([
      "argo-rollouts",
      "argocd",
      "loki",
      "monitoring",
      "node-agents",
      "observability",
      "rag",
      "tempo",
    ]);
    for (const ns of namespaces)
      expect(
        policies(AP, ns).some((p) => Object.keys(p.inputs.spec ?? {}).length === 0),
        ns,
      ).toBe(true);
    for (const ns of inputs(NS))
      expect(ns.metadata.labels["istio.io/dataplane-mode"], ns.metadata.name).toBe("ambient");
    // Every namespace denies what its flows do not open, in the NetworkPolicies too.
    for (const ns of namespaces) expect(denied(ns), ns).toBe(true);
  });

  it("keeps the node agents apart, privileged, and the rest of the stack restricted", () => {
    const level = (name: string) =>
      resources
        .filter((r) => r.type === NS)
        .map((r) => (r.inputs as Json).metadata)
        .find((m) => m.name === name)!.labels["pod-security.kubernetes.io/enforce"];
    expect(level("node-agents")).toBe("privileged");
    for (const ns of ["monitoring", "loki", "tempo", "argo-rollouts", "argocd"])
      expect(level(ns), ns).toBe("restricted");
    const release = (name: string) =>
      resources.find(
        (r) => r.type === "kubernetes:helm.sh/v3:Release" && (r.inputs as Json).name === name,
      )!.inputs as Json;
    expect(release("log-agent").namespace).toBe("node-agents");
    const stack = release("kube-prometheus-stack");
    expect(stack.namespace).toBe("monitoring");
    expect(stack.values["prometheus-node-exporter"].namespaceOverride).toBe("node-agents");
  });

  it("opens the stack's ways out: Prometheus to the nodes, the operators to the API, Alertmanager to PagerDuty, the stores to their buckets", () => {
    const out = (labels: Record<string, string>, namespace: string) =>
      flows.filter(
        (f) =>
          f.from.kind === "workload" &&
          f.from.workload.namespace === namespace &&
          JSON.stringify(f.from.workload.labels) === JSON.stringify(labels),
      );
    const cidrPorts = (fs: Flow[], purpose?: string) =>
      fs
        .filter((f) => f.to.kind === "cidr" && (!purpose || f.to.internet === purpose))
        .map((f) => f.ports.join(","));
    const prometheus = out({ "app.kubernetes.io/name": "prometheus" }, "monitoring");
    expect(cidrPorts(prometheus)).toEqual(["10250,9100,10249", "443"]);
    expect(cidrPorts(prometheus, "kubernetes-api")).toEqual(["443"]);
    expect(
      cidrPorts(out({ "app.kubernetes.io/name": "alertmanager" }, "monitoring"), "alert-delivery"),
    ).toEqual(["443"]);
    for (const [labels, ns] of [
      [{ app: "kube-prometheus-stack-operator" }, "monitoring"],
      [{ "app.kubernetes.io/name": "kube-state-metrics" }, "monitoring"],
      [{ "app.kubernetes.io/name": "grafana" }, "monitoring"],
      [{ "app.kubernetes.io/name": "argo-rollouts" }, "argo-rollouts"],
      [{ "app.kubernetes.io/instance": "log-agent" }, "node-agents"],
    ] as const)
      expect(cidrPorts(out(labels, ns), "kubernetes-api"), ns).toEqual(["443"]);
    for (const store of ["loki", "tempo"]) expect(cidrPorts(out({}, store))).toEqual(["443", "80"]);
  });

  it("enrols Argo CD: its NetworkPolicies from the table, only the repo server out to the repository, one project into the platform's namespace", () => {
    const argoCd = resources.find(
      (r) => r.type === "kubernetes:helm.sh/v3:Release" && (r.inputs as Json).name === "argo-cd",
    )!.inputs as Json;
    expect(argoCd.namespace).toBe("argocd");
    expect(argoCd.createNamespace).toBe(false);
    // The chart's own (ingress-only, metrics open to every namespace) would allow more.
    expect(argoCd.values.global.networkPolicy.create).toBe(false);
    const internet = flows.filter(
      (f) =>
        f.from.kind === "workload" &&
        f.from.workload.namespace === "argocd" &&
        f.to.kind === "cidr",
    );
    expect(
      internet.map((f) => [
        f.from.kind === "workload" && f.from.workload.labels["app.kubernetes.io/name"],
        f.to.kind === "cidr" && f.to.internet,
        f.ports.join(","),
      ]),
    ).toEqual([
      [undefined, "kubernetes-api", "443"],
      ["argocd-repo-server", "gitops-repository", "22"],
    ]);
    const crd = (kind: string) =>
      resources.find((r) => r.type === `kubernetes:argoproj.io/v1alpha1:${kind}`)!.inputs as Json;
    const project = crd("AppProject");
    expect(project.spec).toMatchObject({
      sourceRepos: ["git@github.com:acme/rag-environments.git"],
      destinations: [{ server: "https://kubernetes.default.svc", namespace: "rag" }],
      clusterResourceWhitelist: [],
    });
    expect(crd("Application").spec.project).toBe(project.metadata.name);
  });

  it("routes the API's canary at the ALB: the Rollout, its two Services and the Ingress agree", () => {
    const named = (type: string, name: string): Json | undefined =>
      resources.find((r) => r.type === type && (r.inputs as Json).metadata?.name === name)?.inputs;
    const rollout = named("kubernetes:argoproj.io/v1alpha1:Rollout", "rag-api")!;
    const canary = rollout.spec.strategy.canary;
    const alb = canary.trafficRouting.alb;
    const ingress = named("kubernetes:networking.k8s.io/v1:Ingress", alb.ingress)!;
    expect(ingress.spec.ingressClassName).toBe("alb");
    // The Ingress's rule sends to the root Service through the action the Rollout rewrites.
    const backend = ingress.spec.rules[0].http.paths[0].backend.service;
    expect(backend).toEqual({ name: alb.rootService, port: { name: "use-annotation" } });
    const action = JSON.parse(
      ingress.metadata.annotations[`alb.ingress.kubernetes.io/actions.${alb.rootService}`],
    );
    expect(action.ForwardConfig.TargetGroups).toEqual([
      { ServiceName: canary.canaryService, ServicePort: String(alb.servicePort), Weight: 0 },
      { ServiceName: canary.stableService, ServicePort: String(alb.servicePort), Weight: 100 },
    ]);
    // Each Service the action names selects the Rollout's pods on the port the router uses.
    for (const name of [alb.rootService, canary.canaryService, canary.stableService]) {
      const service = named("kubernetes:core/v1:Service", name);
      expect(service, name).toBeDefined();
      expect(service!.metadata.namespace).toBe(rollout.metadata.namespace);
      expect(service!.spec.selector).toEqual(rollout.spec.selector.matchLabels);
      expect(service!.spec.ports.map((p: Json) => p.port)).toEqual([alb.servicePort]);
    }
    expect(
      canary.steps.filter((s: Json) => "setWeight" in s).map((s: Json) => s.setWeight),
    ).toEqual([5, 25, 50, 100]);
    expect(canary.analysis.templates).toEqual([{ templateName: "rag-api-slo" }]);
  });

  it("gives every synthesized Rollout its steps, an analysis it has, and a way back", () => {
    const inNamespace = (type: string, name: string, namespace: string) =>
      resources.some(
        (r) =>
          r.type === type &&
          (r.inputs as Json).metadata?.name === name &&
          (r.inputs as Json).metadata?.namespace === namespace,
      );
    const TEMPLATE = "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate";
    const SERVICE = "kubernetes:core/v1:Service";
    const rollouts = resources
      .filter((r) => r.type === "kubernetes:argoproj.io/v1alpha1:Rollout")
      .map((r) => r.inputs as Json);
    expect(rollouts.map((r) => r.metadata.name).sort()).toEqual(["rag-api", "vllm"]);
    for (const r of rollouts) {
      const ns = r.metadata.namespace;
      const { canary, blueGreen } = r.spec.strategy;
      if (canary) {
        const weights = canary.steps
          .filter((s: Json) => "setWeight" in s)
          .map((s: Json) => s.setWeight);
        expect(weights.at(-1), r.metadata.name).toBe(100);
        // Rising, each step more than the last.
        expect(new Set(weights).size).toBe(weights.length);
        expect(weights).toEqual([...weights].sort((a: number, b: number) => a - b));
        for (const t of canary.analysis.templates)
          expect(inNamespace(TEMPLATE, t.templateName, ns), t.templateName).toBe(true);
        // The way back: weight to the stable Service, the canary's pods gone shortly after.
        expect(inNamespace(SERVICE, canary.stableService, ns)).toBe(true);
        expect(canary.abortScaleDownDelaySeconds).toBeGreaterThan(0);
      } else {
        for (const t of blueGreen.prePromotionAnalysis.templates)
          expect(inNamespace(TEMPLATE, t.templateName, ns), t.templateName).toBe(true);
        expect(inNamespace(SERVICE, blueGreen.previewService, ns)).toBe(true);
        // The way back: the old version stays up after promotion.
        expect(blueGreen.scaleDownDelaySeconds).toBeGreaterThan(0);
      }
    }
  });

  it("has the region's Prometheus scrape the Rollouts controller: metrics Service on, a ServiceMonitor on it, the flow let in", () => {
    const release = resources.find(
      (r) =>
        r.type === "kubernetes:helm.sh/v3:Release" && (r.inputs as Json).chart === "argo-rollouts",
    )!.inputs as Json;
    // The chart (2.41.0) names the metrics Service's port `metrics` and labels it with the
    // controller's component and name.
    expect(release.values.controller.metrics).toEqual({ enabled: true, service: { port: 8090 } });
    const monitors = resources
      .filter((r) => r.type === "kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
      .map((r) => r.inputs as Json)
      .filter((m) => m.metadata.namespace === "argo-rollouts");
    expect(monitors).toHaveLength(1);
    expect(monitors[0]!.spec.selector.matchLabels).toEqual({
      "app.kubernetes.io/name": "argo-rollouts",
      "app.kubernetes.io/component": "rollouts-controller",
    });
    expect(monitors[0]!.spec.endpoints.map((e: Json) => e.port)).toEqual(["metrics"]);
    const scrape = flows.find(
      (f) =>
        f.from.kind === "workload" &&
        f.from.workload.labels["app.kubernetes.io/name"] === "prometheus" &&
        f.to.kind === "workload" &&
        f.to.workload.namespace === "argo-rollouts",
    )!;
    expect(scrape.ports).toEqual([8090]);
    expect(ingressAllowed((scrape.to as { workload: MeshWorkload }).workload, scrape)).toBe(true);
    expect(meshRule(scrape as Flow & { to: { kind: "workload" } })).toBeDefined();
  });

  it("refuses a flow the table lacks: nothing lets the worker reach the API", () => {
    const worker = flows.find(
      (f) =>
        f.from.kind === "workload" &&
        f.from.workload.labels["app.kubernetes.io/name"] === "rag-worker",
    )!;
    const api = flows.find(
      (f) =>
        f.to.kind === "workload" && f.to.workload.labels["app.kubernetes.io/name"] === "rag-api",
    )!;
    const invented = {
      ...worker,
      to: api.to,
      ports: [8080],
      purpose: "not in the table",
    } as Flow & { to: { kind: "workload" } };
    expect(meshRule(invented)).toBeUndefined();
    expect(ingressAllowed((api.to as { workload: MeshWorkload }).workload, invented)).toBe(false);
  });
});
