/**
 * Ingresses serve HTTPS only, whatever their class: how each controller turns an Ingress into
 * listeners (spec.tls, the ALB's listen-ports, Traefik's entry points, GCE's allow-http), the
 * annotations that let plain HTTP through, and whether the internet reaches it.
 */
import { describeValue, get, isObject, text } from "./helpers";
import { eachObject, isInternalLoadBalancer, kubernetesTypes } from "./kubernetes";
import { MODERN_TLS_POLICIES } from "./transit";
import type { Rule, RuleContext } from "./types";

const INGRESSES = kubernetesTypes("Ingress", [
  "networking.k8s.io/v1",
  "networking.k8s.io/v1beta1",
  "extensions/v1beta1",
]);
const RELEASE = "kubernetes:helm.sh/v3:Release";

/** Annotations that, set so, let any controller that reads them serve plain HTTP. */
const HTTP_ALLOWED: Readonly<Record<string, string>> = {
  "nginx.ingress.kubernetes.io/ssl-redirect": "false",
  "ingress.kubernetes.io/ssl-redirect": "false",
  "kubernetes.io/ingress.allow-http": "true",
  "traefik.ingress.kubernetes.io/router.tls": "false",
};

/** How an Ingress is served: why it serves plain HTTP (if it does), and who can reach it. */
interface Serving {
  readonly plainHttp: readonly string[];
  /** true: the internet reaches it; false: the stack shows it private; undefined: not known. */
  readonly internetFacing: boolean | undefined;
  /** Problems of an internet-facing ALB's TLS (certificate, policy). */
  readonly albTls: readonly string[];
}

type Annotations = Record<string, unknown>;

/** Does the Ingress carry a TLS section, or why can it not be read? */
function tlsSection(ingress: Record<string, unknown>): boolean | string {
  const tls = get(ingress, "spec.tls");
  if (tls === undefined || tls === null) return false;
  if (!Array.isArray(tls)) return `spec.tls cannot be read (it is ${describeValue(tls)})`;
  return tls.length > 0;
}

function annotationAllowances(annotations: Annotations): string[] {
  return Object.entries(HTTP_ALLOWED)
    .filter(([key, value]) => String(annotations[key]).toLowerCase() === value)
    .map(([key, value]) => `annotation ${key} is "${value}"`);
}

/** The protocols an ALB listens on: listen-ports, else HTTPS with a certificate, HTTP without. */
function listenProtocols(declared: string | undefined, certificate: boolean): string[] | undefined {
  if (declared === undefined) return [certificate ? "HTTPS" : "HTTP"];
  try {
    const ports: unknown = JSON.parse(declared);
    return Array.isArray(ports)
      ? ports.flatMap((p) => (isObject(p) ? Object.keys(p) : []))
      : undefined;
  } catch {
    return undefined;
  }
}

/** The AWS Load Balancer Controller: listeners from listen-ports, internal unless the scheme says. */
function alb(annotations: Annotations, tls: boolean): Serving {
  const a = (key: string) => text(annotations[`alb.ingress.kubernetes.io/${key}`]);
  const declared = a("listen-ports");
  const protocols = listenProtocols(declared, a("certificate-arn") !== undefined || tls);
  const plainHttp = !protocols
    ? [`listen-ports ${String(declared)} cannot be read`]
    : protocols.includes("HTTP") && a("ssl-redirect") === undefined
      ? [`the ALB listens on HTTP (listen-ports ${declared ?? "unset, and no certificate"})`]
      : [];
  // The controller's default scheme is internal; one that cannot be read could be either.
  const scheme = annotations["alb.ingress.kubernetes.io/scheme"];
  const internetFacing =
    scheme === undefined || scheme === "internal"
      ? false
      : scheme === "internet-facing"
        ? true
        : undefined;
  const albTls = internetFacing
    ? [
        ...(a("certificate-arn") ? [] : ["no certificate-arn"]),
        ...(MODERN_TLS_POLICIES.includes(a("ssl-policy") ?? "") ? [] : ["no TLS 1.2+ ssl-policy"]),
      ]
    : [];
  return { plainHttp, internetFacing, albTls };
}

/** The Traefik release in the stack that serves this class, if any. */
function traefikFor(ingressClass: string, ctx: RuleContext): Record<string, unknown> | undefined {
  const release = ctx.resources.find(
    (r) =>
      r.type === RELEASE &&
      /(^|\/)traefik$/.test(String(r.props.chart)) &&
      (text(get(r.props, "values.ingressClass.name")) ??
        text(get(r.props, "values.providers.kubernetesIngress.ingressClass")) ??
        "traefik") === ingressClass,
  );
  const values = release?.props.values;
  return release ? (isObject(values) ? values : {}) : undefined;
}

/** Traefik: routers on entry points; an entry point terminates TLS itself or redirects. */
function traefik(values: Record<string, unknown>, annotations: Annotations, tls: boolean): Serving {
  const ports = isObject(values.ports) ? values.ports : {};
  const exposed = (p: unknown) => get(p, "expose") !== false && get(p, "expose.default") !== false;
  const named = text(annotations["traefik.ingress.kubernetes.io/router.entrypoints"]);
  const defaults = Object.keys(ports).filter((name) => get(ports[name], "asDefault") === true);
  const entryPoints = named
    ? named.split(",").map((n) => n.trim())
    : defaults.length > 0
      ? defaults
      : Object.keys(ports);
  // A router with TLS (the Ingress's tls, or the annotation) answers on TLS only.
  const routerTls = tls || annotations["traefik.ingress.kubernetes.io/router.tls"] === "true";
  const plainHttp = routerTls
    ? []
    : entryPoints
        .filter((name) => {
          const p = ports[name];
          return (
            exposed(p) &&
            get(p, "http.tls.enabled") !== true &&
            get(p, "tls.enabled") !== true &&
            get(p, "http.redirections") === undefined &&
            get(p, "redirections") === undefined &&
            get(p, "redirectTo") === undefined
          );
        })
        .map((name) => `Traefik's ${name} entry point has no TLS and no redirect to one`);
  const service = isObject(values.service) ? values.service : {};
  const type = get(service, "spec.type") ?? "LoadBalancer";
  const annotationsOfService = get(service, "annotations");
  const internetFacing =
    type === "ClusterIP"
      ? false
      : type === "LoadBalancer"
        ? !isInternalLoadBalancer(isObject(annotationsOfService) ? annotationsOfService : {})
        : undefined;
  return { plainHttp, internetFacing, albTls: [] };
}

function servingOf(ingress: Record<string, unknown>, ctx: RuleContext): Serving {
  const annotations = get(ingress, "metadata.annotations");
  const a: Annotations = isObject(annotations) ? annotations : {};
  const ingressClass =
    text(get(ingress, "spec.ingressClassName")) ?? text(a["kubernetes.io/ingress.class"]);
  const tls = tlsSection(ingress);
  if (typeof tls === "string") return { plainHttp: [tls], internetFacing: undefined, albTls: [] };
  const allowances = annotationAllowances(a);
  const withAllowances = (s: Serving): Serving => ({
    ...s,
    plainHttp: [...s.plainHttp, ...allowances],
  });
  if (ingressClass === "alb") return withAllowances(alb(a, tls));
  const traefikValues = ingressClass ? traefikFor(ingressClass, ctx) : undefined;
  if (traefikValues) return withAllowances(traefik(traefikValues, a, tls));
  if (ingressClass === "gce" || ingressClass === "gce-internal")
    return {
      // GCE serves HTTP beside HTTPS unless told not to.
      plainHttp:
        String(a["kubernetes.io/ingress.allow-http"]).toLowerCase() === "false"
          ? []
          : ['GCE serves HTTP unless kubernetes.io/ingress.allow-http is "false"'],
      internetFacing: ingressClass === "gce",
      albTls: [],
    };
  if (ingressClass === "azure-application-gateway")
    return withAllowances({
      plainHttp:
        tls && a["appgw.ingress.kubernetes.io/ssl-redirect"] === "true"
          ? []
          : ['Application Gateway serves HTTP unless it has TLS and ssl-redirect "true"'],
      internetFacing: a["appgw.ingress.kubernetes.io/use-private-ip"] !== "true",
      albTls: [],
    });
  // Other controllers (ingress-nginx among them) serve TLS for a tls section and redirect HTTP to it.
  return withAllowances({
    plainHttp: tls
      ? []
      : [`no TLS section (class ${ingressClass ?? "unset: the cluster's default"})`],
    internetFacing: undefined,
    albTls: [],
  });
}

export const ingressRules: Rule[] = [
  {
    name: "k8s-ingress-https-only",
    area: "transit",
    description:
      "An Ingress the internet can reach, of any class, serves HTTPS only (an internet-facing ALB also with a certificate and a TLS 1.2+ policy); one the stack does not show private counts as reachable.",
    severity: "high",
    remediation:
      "Give the Ingress TLS (a tls section, or the ALB's HTTPS listen-ports, certificate-arn and ssl-policy, or TLS on the controller's entry points) and no plain-HTTP allowance; or keep it behind an internal load balancer.",
    resourceTypes: INGRESSES,
    check: eachObject((ingress, _r, ctx) => {
      const serving = servingOf(ingress, ctx);
      if (serving.internetFacing === false) return [];
      const reach =
        serving.internetFacing === undefined
          ? "nothing in the stack shows it private, and it"
          : "it is internet-facing and";
      return [
        ...serving.plainHttp.map((why) => `${reach} serves plain HTTP: ${why}`),
        ...serving.albTls,
      ];
    }),
  },
  {
    name: "k8s-ingress-tls",
    area: "transit",
    description:
      "Every Ingress, of any class and internal ones too, serves HTTPS only: plain HTTP crosses the network readable by anyone on the path.",
    severity: "medium",
    remediation:
      "Give the Ingress TLS (a tls section, the ALB's HTTPS listen-ports and certificate-arn, or TLS on the controller's entry points) and drop plain-HTTP allowances (ssl-redirect \"false\", allow-http).",
    resourceTypes: INGRESSES,
    check: eachObject((ingress, _r, ctx) =>
      servingOf(ingress, ctx).plainHttp.map((why) => `serves plain HTTP: ${why}`),
    ),
  },
];
