/**
 * Enterprise zero trust and delivery: every cluster's mesh requires mutual TLS, every namespace
 * the stack creates denies by default in the mesh, and what a client reaches through an Ingress
 * or a route is released by a Rollout that measures itself before it takes the traffic.
 */
import { kubernetesTypes } from "./kubernetes";
import { get, isObject, records, shown, strings } from "./helpers";
import type { ResourceView, Rule, RuleContext } from "./types";

const CLUSTERS = [
  "aws:eks/cluster:Cluster",
  "azure-native:containerservice:ManagedCluster",
  "gcp:container/cluster:Cluster",
];
const PEER_AUTHENTICATION = kubernetesTypes("PeerAuthentication", [
  "security.istio.io/v1",
  "security.istio.io/v1beta1",
]);
const AUTHORIZATION_POLICY = kubernetesTypes("AuthorizationPolicy", [
  "security.istio.io/v1",
  "security.istio.io/v1beta1",
]);
const NAMESPACE = "kubernetes:core/v1:Namespace";
const INGRESS = "kubernetes:networking.k8s.io/v1:Ingress";
const HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";
const SERVICE = "kubernetes:core/v1:Service";
const ROLLOUT = "kubernetes:argoproj.io/v1alpha1:Rollout";
/** Istio's root namespace: a PeerAuthentication there without a selector is mesh-wide. */
const ROOT_NAMESPACE = "istio-system";

const namespaceOf = (r: ResourceView) => get(r.props, "metadata.namespace");

/** A PeerAuthentication applying to a whole namespace (or, in the root namespace, the mesh). */
function isNamespaceWide(r: ResourceView): boolean {
  const selector = get(r.props, "spec.selector");
  return !isObject(selector) || Object.keys(get(selector, "matchLabels") ?? {}).length === 0;
}

const modeOf = (r: ResourceView) => get(r.props, "spec.mtls.mode");

/** An AuthorizationPolicy that allows nothing: no selector, ALLOW (the default), no rules. */
function allowsNothing(r: ResourceView): boolean {
  const spec = r.props.spec;
  if (spec === undefined || spec === null) return true;
  if (!isObject(spec)) return false;
  return (
    spec.selector === undefined &&
    spec.targetRefs === undefined &&
    (spec.action === undefined || spec.action === "ALLOW") &&
    records(spec.rules).length === 0 &&
    spec.provider === undefined
  );
}

/** The Rollouts that run the pods a Service selects, in its namespace. */
function rolloutsBehind(ctx: RuleContext, service: ResourceView): ResourceView[] {
  const selector = get(service.props, "spec.selector");
  if (!isObject(selector) || Object.keys(selector).length === 0) return [];
  return ctx.resources.filter((r) => {
    if (r.type !== ROLLOUT || namespaceOf(r) !== namespaceOf(service)) return false;
    const labels = get(r.props, "spec.selector.matchLabels");
    return isObject(labels) && Object.entries(selector).every(([k, v]) => labels[k] === v);
  });
}

/** The Service of that name in the resource's namespace, if the stack has one. */
function serviceNamed(
  ctx: RuleContext,
  near: ResourceView,
  name: unknown,
): ResourceView | undefined {
  return ctx.resources.find(
    (s) =>
      s.type === SERVICE &&
      get(s.props, "metadata.name") === name &&
      namespaceOf(s) === namespaceOf(near),
  );
}

/**
 * What is wrong with a canary's split: no traffic router (the split is then by pod count, and a
 * 5% step takes a whole pod's share of requests), or a canary or stable Service not in the stack.
 */
function routingProblems(ctx: RuleContext, rollout: ResourceView, canary: object): string[] {
  const name = String(get(rollout.props, "metadata.name"));
  const routing = get(canary, "trafficRouting");
  if (!isObject(routing) || Object.keys(routing).length === 0)
    return [`Rollout ${name} runs a canary with no trafficRouting: it splits by pod count`];
  return (["canaryService", "stableService"] as const).flatMap((field) => {
    const service = get(canary, field);
    if (typeof service !== "string" || service === "")
      return [`Rollout ${name} routes its canary with no ${field}`];
    return serviceNamed(ctx, rollout, service)
      ? []
      : [`Rollout ${name}'s ${field} ${service} is not in the stack`];
  });
}

/** What is wrong with a Rollout's release: no analysis that can stop it, no router for a canary. */
function releaseProblems(ctx: RuleContext, rollout: ResourceView): string[] {
  const canary = get(rollout.props, "spec.strategy.canary");
  const blueGreen = get(rollout.props, "spec.strategy.blueGreen");
  if (isObject(canary)) {
    const background = records(get(canary, "analysis.templates")).length > 0;
    const inline = records(canary.steps).some((s) => isObject(s.analysis));
    return [
      ...(background || inline
        ? []
        : [
            `Rollout ${String(get(rollout.props, "metadata.name"))} runs a canary with no analysis`,
          ]),
      ...routingProblems(ctx, rollout, canary),
    ];
  }
  if (isObject(blueGreen))
    return records(get(blueGreen, "prePromotionAnalysis.templates")).length > 0
      ? []
      : [
          `Rollout ${String(get(rollout.props, "metadata.name"))} promotes blue/green with no pre-promotion analysis`,
        ];
  return [
    `Rollout ${String(get(rollout.props, "metadata.name"))} has no canary or blue/green strategy`,
  ];
}

/** The Services an Ingress or an HTTPRoute sends to. */
function backendNames(r: ResourceView): string[] {
  if (r.type === HTTP_ROUTE)
    return records(get(r.props, "spec.rules")).flatMap((rule) =>
      records(rule.backendRefs).flatMap((b) => strings(b.name)),
    );
  return [
    ...strings(get(r.props, "spec.defaultBackend.service.name")),
    ...records(get(r.props, "spec.rules")).flatMap((rule) =>
      records(get(rule, "http.paths")).flatMap((p) => strings(get(p, "backend.service.name"))),
    ),
  ];
}

export const zeroTrustRules: Rule[] = [
  {
    name: "mesh-strict-mtls",
    area: "transit",
    description:
      "Every cluster runs its service mesh with mutual TLS required mesh-wide (a STRICT PeerAuthentication in istio-system), and no namespace turns it down.",
    severity: "high",
    remediation:
      "Add a PeerAuthentication named default in istio-system with spec.mtls.mode STRICT; remove namespace-wide PERMISSIVE or DISABLE ones.",
    resourceTypes: [...CLUSTERS, ...PEER_AUTHENTICATION],
    tiers: ["enterprise"],
    check: (r, ctx) => {
      if (PEER_AUTHENTICATION.includes(r.type)) {
        const mode = modeOf(r);
        return isNamespaceWide(r) &&
          namespaceOf(r) !== ROOT_NAMESPACE &&
          mode !== undefined &&
          mode !== "STRICT" &&
          mode !== "UNSET"
          ? [
              `namespace ${shown(namespaceOf(r))} sets mutual TLS to ${shown(mode)} for all its workloads`,
            ]
          : [];
      }
      const clusters = ctx.resources.filter((c) => CLUSTERS.includes(c.type)).length;
      const strict = ctx.resources.filter(
        (p) =>
          PEER_AUTHENTICATION.includes(p.type) &&
          namespaceOf(p) === ROOT_NAMESPACE &&
          isNamespaceWide(p) &&
          modeOf(p) === "STRICT",
      ).length;
      return strict >= clusters
        ? []
        : [
            `${clusters} cluster(s) but ${strict} mesh-wide STRICT PeerAuthentication(s): a cluster's services accept plain text`,
          ];
    },
  },
  {
    name: "mesh-namespace-default-deny",
    area: "exposure",
    description:
      "Every namespace the stack creates has an AuthorizationPolicy that allows nothing (no selector, no rules), so the mesh admits only the flows opened by name.",
    severity: "high",
    remediation:
      "Add an AuthorizationPolicy with an empty spec (allow-nothing) to the namespace, then one ALLOW per flow by principal.",
    resourceTypes: [NAMESPACE, ...AUTHORIZATION_POLICY],
    tiers: ["enterprise"],
    check: (r, ctx) => {
      if (r.type !== NAMESPACE) return [];
      const name = get(r.props, "metadata.name");
      const denies = ctx.resources.some(
        (p) =>
          AUTHORIZATION_POLICY.includes(p.type) &&
          (namespaceOf(p) === name ||
            (typeof namespaceOf(p) !== "string" &&
              (p.propertyDependencies.metadata ?? []).includes(r.urn))) &&
          allowsNothing(p),
      );
      return denies ? [] : [`namespace ${String(name)} has no allow-nothing AuthorizationPolicy`];
    },
  },
  {
    name: "k8s-exposed-service-rollout-analysis",
    area: "resilience",
    description:
      "What an Ingress or an HTTPRoute exposes is released by an Argo Rollout whose canary (or blue/green promotion) runs an analysis that can abort it; a canary splits requests by weight through a traffic router, between canary and stable Services the stack has.",
    severity: "high",
    remediation:
      "Run the exposed Deployment through a Rollout (workloadRef) with a canary analysis (or a blue/green prePromotionAnalysis) on its SLO metrics; give a canary trafficRouting (the load balancer's or the mesh's) with its canaryService and stableService.",
    resourceTypes: [INGRESS, HTTP_ROUTE],
    tiers: ["enterprise"],
    check: (r, ctx) =>
      backendNames(r).flatMap((backend) => {
        const service = serviceNamed(ctx, r, backend);
        if (!service)
          return [
            `the backend Service ${backend} is not in the stack, so its release cannot be shown gated`,
          ];
        const rollouts = rolloutsBehind(ctx, service);
        if (rollouts.length === 0)
          return [`the pods behind Service ${backend} are released by no Rollout`];
        return rollouts.flatMap((rollout) => releaseProblems(ctx, rollout));
      }),
  },
];
