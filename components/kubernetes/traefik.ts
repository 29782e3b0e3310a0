/**
 * Traefik as a cluster's ingress controller (the official chart), where the cloud's own
 * controller cannot hold a slow answer or stay internal (AKS: see docs/tiers/sme-azure.md).
 */
import type * as pulumi from "@pulumi/pulumi";
import { API_IDLE_TIMEOUT_SECONDS } from "../shared/runtime-image";
import { CONTAINER_SECURITY, resources, ZONE_KEY } from "./pod-security";

export const TRAEFIK_NAMESPACE = "traefik";
export const TRAEFIK_INGRESS_CLASS = "traefik";
/** The labels the chart gives Traefik's pods (release "traefik" in its namespace). */
export const TRAEFIK_LABELS = {
  "app.kubernetes.io/name": "traefik",
  "app.kubernetes.io/instance": `traefik-${TRAEFIK_NAMESPACE}`,
} as const;

/**
 * Every timeout on a request's way in, in whole minutes (an Azure load balancer counts its idle
 * timeout in minutes): above the longest answer the API gives (API_IDLE_TIMEOUT_SECONDS), so
 * nothing between a client and the API cuts it first.
 */
export const INGRESS_IDLE_MINUTES = Math.ceil((API_IDLE_TIMEOUT_SECONDS + 15) / 60);
const IDLE = `${INGRESS_IDLE_MINUTES * 60}s`;
/** The ports Traefik's pods listen on for clients: the chart's web (HTTP) and websecure (HTTPS). */
export const TRAEFIK_PORTS = { web: 8000, websecure: 8443 } as const;
/** How long a stopping Traefik keeps taking requests while the load balancer takes it out. */
const ACCEPT_GRACE_SECONDS = 20;

export interface TraefikArgs {
  /** The Service's annotations (the cloud's load balancer: internal, idle timeout). */
  readonly serviceAnnotations: Record<string, pulumi.Input<string>>;
  /** Namespaces whose Ingresses Traefik serves. */
  readonly namespaces: readonly string[];
  /**
   * Serve HTTPS only (443, TLS 1.2 and up) with this Secret (kubernetes.io/tls, in Traefik's
   * namespace) as the certificate. @default - plain HTTP on 80 (an internal load balancer)
   */
  readonly tlsSecretName?: string;
}

/**
 * The chart's values (v41): two replicas across zones with a budget; Ingresses of the class
 * `traefik` in `namespaces` only; one entry point, HTTP (internal) or HTTPS only; timeouts
 * above the API's longest answer at every hop (the entry point's read and write, the wait for the
 * API's response headers) and a shutdown that finishes them; JSON logs and access logs; the
 * restricted security context; no version check or usage report.
 */
export function traefikValues(args: TraefikArgs): Record<string, unknown> {
  const tls = args.tlsSecretName !== undefined;
  const transport = {
    respondingTimeouts: { readTimeout: IDLE, writeTimeout: IDLE, idleTimeout: IDLE },
    lifeCycle: { requestAcceptGraceTimeout: `${ACCEPT_GRACE_SECONDS}s`, graceTimeOut: IDLE },
  };
  return {
    deployment: {
      replicas: 2,
      terminationGracePeriodSeconds: ACCEPT_GRACE_SECONDS + INGRESS_IDLE_MINUTES * 60 + 40,
    },
    podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
    ingressClass: { enabled: true, isDefaultClass: false, name: TRAEFIK_INGRESS_CLASS },
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    api: { dashboard: false },
    providers: {
      // TLSOption and TLSStore come from the CRD provider; IngressRoutes are not used.
      kubernetesCRD: {
        enabled: true,
        namespaces: [TRAEFIK_NAMESPACE],
        allowCrossNamespace: false,
        allowExternalNameServices: false,
      },
      kubernetesIngress: {
        enabled: true,
        ingressClass: TRAEFIK_INGRESS_CLASS,
        namespaces: [...args.namespaces],
        allowExternalNameServices: false,
        // The Ingress's status gets the load balancer's address.
        publishedService: { enabled: true },
      },
    },
    ports: {
      web: tls
        ? { port: TRAEFIK_PORTS.web, expose: { default: false } }
        : { port: TRAEFIK_PORTS.web, asDefault: true, expose: { default: true }, transport },
      websecure: tls
        ? {
            port: TRAEFIK_PORTS.websecure,
            asDefault: true,
            expose: { default: true },
            http: { tls: { enabled: true } },
            transport,
          }
        : { port: TRAEFIK_PORTS.websecure, expose: { default: false } },
    },
    ...(tls
      ? {
          tlsOptions: { default: { minVersion: "VersionTLS12" } },
          tlsStore: { default: { defaultCertificate: { secretName: args.tlsSecretName } } },
        }
      : {}),
    service: {
      annotations: args.serviceAnnotations,
      // The client's address reaches Traefik (its access log, the API's X-Forwarded-For).
      spec: { type: "LoadBalancer", externalTrafficPolicy: "Local" },
    },
    // A hung API gets a 504 once no answer could still be coming.
    additionalArguments: [`--serversTransport.forwardingTimeouts.responseHeaderTimeout=${IDLE}`],
    log: { format: "json" },
    accessLog: { enabled: true, format: "json" },
    resources: resources({ cpuMillicores: 100, memoryMiB: 256 }),
    securityContext: CONTAINER_SECURITY,
    podSecurityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    },
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: ZONE_KEY,
        whenUnsatisfiable: "DoNotSchedule",
        labelSelector: { matchLabels: TRAEFIK_LABELS },
      },
    ],
  };
}
