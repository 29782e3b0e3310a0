import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { GcpScope } from "./common";
import { gcpSubnetPlan } from "./subnet-plan";

/** Google's range for Identity-Aware Proxy TCP forwarding (`gcloud compute ssh --tunnel-through-iap`). */
export const IAP_TCP_FORWARDING_RANGE = "35.235.240.0/20";

/** Network tags: what the runtime's egress carries, and what the GPU host wears. */
export const NETWORK_TAGS = { runtime: "rag-runtime", ollama: "rag-ollama" } as const;

export interface GcpNetworkArgs {
  readonly scope: GcpScope;
  /** The VPC's range, a /20 or larger (subnet-plan.ts). */
  readonly vpcCidr: string;
  /** The port the GPU host serves Ollama on (the runtime's egress may reach it, nothing else). */
  readonly ollamaPort: number;
}

/**
 * The VPC: one regional subnet for Cloud Run's direct egress and the GPU host, with Private Google
 * Access and flow logs; Cloud NAT for their way out (neither has a public IP); private services
 * access for Cloud SQL and Memorystore; firewall rules that let the runtime (by its network tag)
 * reach Ollama and Google's IAP range reach SSH on the GPU host, and log a denial of everything else.
 */
export class GcpNetwork extends pulumi.ComponentResource {
  readonly networkId: pulumi.Output<string>;
  readonly networkName: pulumi.Output<string>;
  readonly subnetworkId: pulumi.Output<string>;
  readonly subnetworkName: pulumi.Output<string>;
  readonly plan: ReturnType<typeof gcpSubnetPlan>;
  /** Cloud SQL and Memorystore reach the VPC through this peering: create them after it. */
  readonly privateServices: pulumi.Resource;

  constructor(name: string, args: GcpNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:Network", name, {}, opts);
    const parent = { parent: this, dependsOn: [...args.scope.apis] };
    const { project, region } = args.scope;
    this.plan = gcpSubnetPlan(args.vpcCidr);
    const network = new gcp.compute.Network(
      name,
      { project, autoCreateSubnetworks: false, routingMode: "REGIONAL" },
      parent,
    );
    const subnet = new gcp.compute.Subnetwork(
      `${name}-workloads`,
      {
        project,
        region,
        network: network.id,
        ipCidrRange: this.plan.workloads,
        privateIpGoogleAccess: true,
        logConfig: {
          aggregationInterval: "INTERVAL_5_SEC",
          flowSampling: 0.5,
          metadata: "INCLUDE_ALL_METADATA",
        },
      },
      parent,
    );
    const router = new gcp.compute.Router(
      `${name}-router`,
      { project, region, network: network.id },
      parent,
    );
    new gcp.compute.RouterNat(
      `${name}-nat`,
      {
        project,
        region,
        router: router.name,
        natIpAllocateOption: "AUTO_ONLY",
        sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
        logConfig: { enable: true, filter: "ERRORS_ONLY" },
      },
      parent,
    );
    const peeringRange = new gcp.compute.GlobalAddress(
      `${name}-services`,
      {
        project,
        network: network.id,
        purpose: "VPC_PEERING",
        addressType: "INTERNAL",
        prefixLength: 16,
      },
      parent,
    );
    this.privateServices = new gcp.servicenetworking.Connection(
      `${name}-services`,
      {
        network: network.id,
        service: "servicenetworking.googleapis.com",
        reservedPeeringRanges: [peeringRange.name],
      },
      parent,
    );
    const logged = { logConfig: { metadata: "INCLUDE_ALL_METADATA" } };
    new gcp.compute.Firewall(
      `${name}-ollama`,
      {
        project,
        network: network.id,
        direction: "INGRESS",
        priority: 1000,
        sourceTags: [NETWORK_TAGS.runtime],
        targetTags: [NETWORK_TAGS.ollama],
        allows: [{ protocol: "tcp", ports: [String(args.ollamaPort)] }],
        description: "the runtime's egress reaches Ollama",
        ...logged,
      },
      parent,
    );
    new gcp.compute.Firewall(
      `${name}-iap-ssh`,
      {
        project,
        network: network.id,
        direction: "INGRESS",
        priority: 1000,
        sourceRanges: [IAP_TCP_FORWARDING_RANGE],
        targetTags: [NETWORK_TAGS.ollama],
        allows: [{ protocol: "tcp", ports: ["22"] }],
        description: "SSH to the GPU host through Identity-Aware Proxy only (it has no public IP)",
        ...logged,
      },
      parent,
    );
    new gcp.compute.Firewall(
      `${name}-deny-ingress`,
      {
        project,
        network: network.id,
        direction: "INGRESS",
        priority: 65534,
        sourceRanges: ["0.0.0.0/0"],
        denies: [{ protocol: "all" }],
        description: "everything else is refused, and the refusals logged",
        ...logged,
      },
      parent,
    );
    this.networkId = network.id;
    this.networkName = network.name;
    this.subnetworkId = subnet.id;
    this.subnetworkName = subnet.name;
    this.registerOutputs({ networkId: this.networkId });
  }
}
