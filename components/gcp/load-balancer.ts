import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { GcpScope } from "./common";

export interface GcpHttpsLoadBalancerArgs {
  readonly scope: GcpScope;
  /** The Cloud Run service the load balancer sends to (its ingress admits the load balancer only). */
  readonly cloudRunService: pulumi.Input<string>;
  readonly hostname: string;
  /** "google-managed" (Google issues one for the hostname once its DNS points here), or a Compute Engine SSL certificate's path. */
  readonly certificate: string;
}

/**
 * A global external Application Load Balancer for the API: HTTPS 443 only (no plain-HTTP
 * listener), TLS 1.2 or later with the MODERN profile, every request logged, in front of a
 * serverless network endpoint group on the Cloud Run service.
 */
export class GcpHttpsLoadBalancer extends pulumi.ComponentResource {
  readonly url: string;
  /** The address the hostname's A record must point at. */
  readonly ipAddress: pulumi.Output<string>;

  constructor(
    name: string,
    args: GcpHttpsLoadBalancerArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("rag:gcp:LoadBalancer", name, {}, opts);
    const { project, region } = args.scope;
    const parent = { parent: this, dependsOn: [...args.scope.apis] };
    const endpoints = new gcp.compute.RegionNetworkEndpointGroup(
      name,
      {
        project,
        region,
        networkEndpointType: "SERVERLESS",
        cloudRun: { service: args.cloudRunService },
      },
      parent,
    );
    const backend = new gcp.compute.BackendService(
      name,
      {
        project,
        loadBalancingScheme: "EXTERNAL_MANAGED",
        protocol: "HTTPS",
        backends: [{ group: endpoints.id }],
        logConfig: { enable: true, sampleRate: 1 },
      },
      parent,
    );
    const urlMap = new gcp.compute.URLMap(name, { project, defaultService: backend.id }, parent);
    const policy = new gcp.compute.SSLPolicy(
      name,
      { project, profile: "MODERN", minTlsVersion: "TLS_1_2" },
      parent,
    );
    const certificate =
      args.certificate === "google-managed"
        ? new gcp.compute.ManagedSslCertificate(
            name,
            { project, type: "MANAGED", managed: { domains: [args.hostname] } },
            parent,
          ).id
        : pulumi.output(args.certificate);
    const proxy = new gcp.compute.TargetHttpsProxy(
      name,
      { project, urlMap: urlMap.id, sslCertificates: [certificate], sslPolicy: policy.id },
      parent,
    );
    const address = new gcp.compute.GlobalAddress(
      name,
      { project, addressType: "EXTERNAL", ipVersion: "IPV4" },
      parent,
    );
    new gcp.compute.GlobalForwardingRule(
      name,
      {
        project,
        target: proxy.id,
        portRange: "443",
        ipProtocol: "TCP",
        ipAddress: address.address,
        loadBalancingScheme: "EXTERNAL_MANAGED",
      },
      parent,
    );
    this.url = `https://${args.hostname}`;
    this.ipAddress = address.address;
    this.registerOutputs({ ipAddress: this.ipAddress });
  }
}
