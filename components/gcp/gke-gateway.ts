import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { API_IDLE_TIMEOUT_SECONDS, API_READINESS_PATH } from "../shared/runtime-image";
import type { GcpScope } from "./common";
import { GOOGLE_LOAD_BALANCER_RANGES, type GcpNetwork } from "./network";

/** The GatewayClasses of GKE's controller this platform uses: regional internal, global external. */
export const GATEWAY_CLASSES = {
  internal: "gke-l7-rilb",
  external: "gke-l7-global-external-managed",
} as const;
/** The Gateway's one listener: HTTPS on 443 (no plain-HTTP listener exists). */
export const GATEWAY_LISTENER = { name: "https", port: 443 } as const;
/**
 * How long the load balancer waits for the API's whole answer: above the longest the runtime
 * gives with its model bounds (API_IDLE_TIMEOUT_SECONDS), so the balancer never cuts one first.
 */
export const GATEWAY_BACKEND_TIMEOUT_SECONDS = API_IDLE_TIMEOUT_SECONDS + 20;
/**
 * How long Google's Envoy proxies keep an idle connection to a backend (fixed at 10 minutes): the
 * API keeps its own open longer, so it never closes one a proxy is about to send on.
 */
export const GATEWAY_UPSTREAM_IDLE_SECONDS = 600;
/** Cloud Logging's request logs: every request (the sample rate counts in millionths). */
const LOG_EVERY_REQUEST = 1_000_000;
/** How long the stack-issued internal certificate lasts, and when a `pulumi up` renews it. */
const INTERNAL_CERTIFICATE = { validityHours: 2 * 365 * 24, renewInLastHours: 60 * 24 } as const;

export interface GkeGatewayArgs {
  readonly scope: GcpScope;
  /** The cluster's network: an internal Gateway takes an address of its nodes' subnet. */
  readonly network: GcpNetwork;
  /**
   * A public API at `hostname`, with `certificate`: "google-managed" (Google issues and renews one
   * once the name's DNS points at the address) or a global Compute Engine SSL certificate's path.
   * @default - an internal Gateway, reachable from the network, with a certificate the stack issues
   */
  readonly public?: { readonly hostname: string; readonly certificate: string };
  /** How long the API takes to stop serving, after the load balancer stops sending it new requests. */
  readonly drainSeconds: number;
}

/** The API's Service the Gateway routes to. */
export interface RoutedService {
  readonly namespace: pulumi.Input<string>;
  readonly serviceName: string;
  readonly port: number;
}

/**
 * The API's entry through GKE's Gateway controller: a regional internal Application Load Balancer
 * (gke-l7-rilb) on a reserved address of the nodes' subnet with a certificate the stack issues
 * from its own CA, or a global external one on a reserved public address with a Google-managed (or
 * given) certificate. HTTPS only, TLS 1.2 and up (an SSL policy of the MODERN profile), every
 * request logged, timeouts above the longest answer, stopping pods drained, health checked on the
 * API's readiness.
 */
export class GkeGateway extends pulumi.ComponentResource {
  readonly className: string;
  /** The load balancer's address: the internal one, or the public one the hostname must point at. */
  readonly address: pulumi.Output<string>;
  /** The stack's CA (PEM) an internal Gateway's certificate chains to: clients trust it. */
  readonly caCertificatePem: pulumi.Output<string> | undefined;
  /** Where the load balancer's requests and health checks reach the pods from. */
  readonly sourceCidrs: readonly string[];
  private readonly name: string;
  private readonly args: GkeGatewayArgs;
  private readonly addressName: pulumi.Output<string>;
  private readonly certificateName: pulumi.Output<string>;
  private readonly sslPolicyName: pulumi.Output<string>;

  constructor(name: string, args: GkeGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:GkeGateway", name, {}, opts);
    this.name = name;
    this.args = args;
    const { project, region } = args.scope;
    const parent = { parent: this, dependsOn: [...args.scope.apis] };
    const plan = args.network.clusterPlan;
    if (!plan) throw new Error(`GkeGateway ${name}: the network was not built for Kubernetes`);
    this.sourceCidrs = [plan.proxyOnly, ...GOOGLE_LOAD_BALANCER_RANGES];
    const policy = { profile: "MODERN", minTlsVersion: "TLS_1_2" };
    if (args.public) {
      this.className = GATEWAY_CLASSES.external;
      const address = new gcp.compute.GlobalAddress(
        name,
        { project, addressType: "EXTERNAL", ipVersion: "IPV4" },
        parent,
      );
      this.address = address.address;
      this.addressName = address.name;
      this.certificateName =
        args.public.certificate === "google-managed"
          ? new gcp.compute.ManagedSslCertificate(
              name,
              { project, type: "MANAGED", managed: { domains: [args.public.hostname] } },
              parent,
            ).name
          : pulumi.output(args.public.certificate.split("/").pop()!);
      this.sslPolicyName = new gcp.compute.SSLPolicy(name, { project, ...policy }, parent).name;
      this.caCertificatePem = undefined;
    } else {
      this.className = GATEWAY_CLASSES.internal;
      const address = new gcp.compute.Address(
        name,
        { project, region, addressType: "INTERNAL", subnetwork: args.network.subnetworkId },
        parent,
      );
      this.address = address.address;
      this.addressName = address.name;
      const issued = this.internalCertificate(name, address.address);
      this.caCertificatePem = issued.caPem;
      this.certificateName = new gcp.compute.RegionSslCertificate(
        name,
        { project, region, certificate: issued.certificatePem, privateKey: issued.privateKeyPem },
        parent,
      ).name;
      this.sslPolicyName = new gcp.compute.RegionSslPolicy(
        name,
        { project, region, ...policy },
        parent,
      ).name;
    }
    this.registerOutputs({ address: this.address });
  }

  /** The stack's own CA (ten years) and the internal address's certificate from it, renewed by `pulumi up`. */
  private internalCertificate(
    name: string,
    ip: pulumi.Output<string>,
  ): {
    caPem: pulumi.Output<string>;
    certificatePem: pulumi.Output<string>;
    privateKeyPem: pulumi.Output<string>;
  } {
    const parent = { parent: this };
    const ecdsa = { algorithm: "ECDSA", ecdsaCurve: "P256" };
    const caKey = new tls.PrivateKey(`${name}-ca`, ecdsa, parent);
    const ca = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: caKey.privateKeyPem,
        subject: { commonName: `${name} internal CA`, organization: "rag-platform" },
        isCaCertificate: true,
        validityPeriodHours: 10 * 365 * 24,
        allowedUses: ["cert_signing", "crl_signing"],
      },
      parent,
    );
    const key = new tls.PrivateKey(name, ecdsa, parent);
    const request = new tls.CertRequest(
      name,
      {
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: `${name} internal API`, organization: "rag-platform" },
        ipAddresses: [ip],
      },
      parent,
    );
    const certificate = new tls.LocallySignedCert(
      name,
      {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
        validityPeriodHours: INTERNAL_CERTIFICATE.validityHours,
        earlyRenewalHours: INTERNAL_CERTIFICATE.renewInLastHours,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      },
      parent,
    );
    return {
      caPem: ca.certPem,
      certificatePem: pulumi.interpolate`${certificate.certPem}${ca.certPem}`,
      privateKeyPem: pulumi.secret(key.privateKeyPem),
    };
  }

  /**
   * The Gateway (with its SSL policy), the route of every path to `api`, and the Service's backend
   * policy (timeout, draining, request logs) and health check, in the Service's namespace.
   * Returns the API's URL on the load balancer's own address.
   */
  route(api: RoutedService, opts: pulumi.CustomResourceOptions): { url: pulumi.Output<string> } {
    const onCluster = { ...opts, parent: this };
    const { namespace, serviceName } = api;
    const hostname = this.args.public?.hostname;
    const gateway = new k8s.apiextensions.CustomResource(
      `${this.name}-gateway`,
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: serviceName, namespace },
        spec: {
          gatewayClassName: this.className,
          addresses: [{ type: "NamedAddress", value: this.addressName }],
          listeners: [
            {
              name: GATEWAY_LISTENER.name,
              protocol: "HTTPS",
              port: GATEWAY_LISTENER.port,
              ...(hostname ? { hostname } : {}),
              tls: {
                mode: "Terminate",
                options: { "networking.gke.io/pre-shared-certs": this.certificateName },
              },
              allowedRoutes: { namespaces: { from: "Same" }, kinds: [{ kind: "HTTPRoute" }] },
            },
          ],
        },
      },
      onCluster,
    );
    const targetService = { group: "", kind: "Service", name: serviceName };
    const policies = [
      new k8s.apiextensions.CustomResource(
        `${this.name}-gateway-policy`,
        {
          apiVersion: "networking.gke.io/v1",
          kind: "GCPGatewayPolicy",
          metadata: { name: serviceName, namespace },
          spec: {
            default: {
              sslPolicy: this.sslPolicyName,
              // An internal Gateway answers its own region only.
              ...(this.args.public ? {} : { allowGlobalAccess: false }),
            },
            targetRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: serviceName },
          },
        },
        onCluster,
      ),
      new k8s.apiextensions.CustomResource(
        `${this.name}-backend-policy`,
        {
          apiVersion: "networking.gke.io/v1",
          kind: "GCPBackendPolicy",
          metadata: { name: serviceName, namespace },
          spec: {
            default: {
              timeoutSec: GATEWAY_BACKEND_TIMEOUT_SECONDS,
              // A stopping pod keeps its connections while it finishes what it holds.
              connectionDraining: { drainingTimeoutSec: this.args.drainSeconds },
              logging: { enabled: true, sampleRate: LOG_EVERY_REQUEST },
            },
            targetRef: targetService,
          },
        },
        onCluster,
      ),
      new k8s.apiextensions.CustomResource(
        `${this.name}-health-check`,
        {
          apiVersion: "networking.gke.io/v1",
          kind: "HealthCheckPolicy",
          metadata: { name: serviceName, namespace },
          spec: {
            default: {
              checkIntervalSec: 5,
              timeoutSec: 3,
              healthyThreshold: 1,
              unhealthyThreshold: 2,
              config: {
                type: "HTTP",
                httpHealthCheck: {
                  portSpecification: "USE_SERVING_PORT",
                  requestPath: API_READINESS_PATH,
                },
              },
            },
            targetRef: targetService,
          },
        },
        onCluster,
      ),
    ];
    new k8s.apiextensions.CustomResource(
      `${this.name}-route`,
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: serviceName, namespace },
        spec: {
          parentRefs: [{ name: serviceName, sectionName: GATEWAY_LISTENER.name }],
          ...(hostname ? { hostnames: [hostname] } : {}),
          rules: [
            {
              matches: [{ path: { type: "PathPrefix", value: "/" } }],
              backendRefs: [{ name: serviceName, port: api.port }],
            },
          ],
        },
      },
      // The backend service takes its settings from the start.
      { ...onCluster, dependsOn: [gateway, ...policies] },
    );
    return { url: pulumi.interpolate`https://${this.address}` };
  }
}
