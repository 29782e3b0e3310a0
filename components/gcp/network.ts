import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { GcpScope } from "./common";
import { gcpSubnetPlan, gkeSubnetPlan, type GkeSubnetPlan } from "./subnet-plan";

/** Google's range for Identity-Aware Proxy TCP forwarding (`gcloud compute ssh --tunnel-through-iap`). */
export const IAP_TCP_FORWARDING_RANGE = "35.235.240.0/20";
/**
 * Where Google's health checks, and the global external Application Load Balancer's proxies,
 * reach backends from.
 */
export const GOOGLE_LOAD_BALANCER_RANGES = ["35.191.0.0/16", "130.211.0.0/22"] as const;

/**
 * Network tags: what the runtime's egress carries, what the GPU host wears, what a cluster's nodes
 * wear, and what an operator's bastion (docs/tiers/sme-gcp.md) wears.
 */
export const NETWORK_TAGS = {
  runtime: "rag-runtime",
  ollama: "rag-ollama",
  gkeNode: "rag-gke-node",
  bastion: "rag-bastion",
} as const;

/** The secondary ranges' names on the nodes' subnet, as a cluster's IP allocation names them. */
export const GKE_RANGE_NAMES = { pods: "pods", services: "services" } as const;

/** What runs in the network: Cloud Run with a GPU host, or a GKE cluster. */
export type GcpNetworkWorkloads =
  /** The runtime's egress may reach the GPU host on Ollama's port; Identity-Aware Proxy its SSH. */
  | { readonly kind: "cloud-run"; readonly ollamaPort: number }
  /**
   * Pods and Services as secondary ranges of the subnet, the proxy-only subnet of regional Envoy
   * load balancers, the load balancers' way to `backendPorts` of the nodes' pods, and SSH from
   * Identity-Aware Proxy to a bastion. The range must be a /16 or larger.
   */
  | { readonly kind: "kubernetes"; readonly backendPorts: readonly number[] };

export interface GcpNetworkArgs {
  readonly scope: GcpScope;
  /** The VPC's range, a /20 or larger (a /16 or larger for a cluster: subnet-plan.ts). */
  readonly vpcCidr: string;
  readonly workloads: GcpNetworkWorkloads;
}

/**
 * The VPC: one regional subnet for Cloud Run's direct egress and the GPU host, or a cluster's nodes
 * (its pods and Services in secondary ranges), with Private Google Access and flow logs; Cloud NAT
 * for their way out (nothing has a public IP); private services access for Cloud SQL and
 * Memorystore; firewall rules for what runs there (gpuHostRules, clusterRules), and a logged
 * denial of everything else.
 */
export class GcpNetwork extends pulumi.ComponentResource {
  readonly networkId: pulumi.Output<string>;
  readonly networkName: pulumi.Output<string>;
  readonly subnetworkId: pulumi.Output<string>;
  readonly subnetworkName: pulumi.Output<string>;
  readonly plan: ReturnType<typeof gcpSubnetPlan>;
  /** A cluster's ranges, when the network was built for one. */
  readonly clusterPlan: GkeSubnetPlan | undefined;
  /** Cloud SQL and Memorystore reach the VPC through this peering: create them after it. */
  readonly privateServices: pulumi.Resource;

  constructor(name: string, args: GcpNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:Network", name, {}, opts);
    const parent = { parent: this, dependsOn: [...args.scope.apis] };
    const { project, region } = args.scope;
    this.plan = gcpSubnetPlan(args.vpcCidr);
    this.clusterPlan =
      args.workloads.kind === "kubernetes" ? gkeSubnetPlan(args.vpcCidr) : undefined;
    const clusterPlan = this.clusterPlan;
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
        ...(clusterPlan
          ? {
              secondaryIpRanges: [
                { rangeName: GKE_RANGE_NAMES.pods, ipCidrRange: clusterPlan.pods },
                { rangeName: GKE_RANGE_NAMES.services, ipCidrRange: clusterPlan.services },
              ],
            }
          : {}),
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
    const workloads = args.workloads;
    switch (workloads.kind) {
      case "cloud-run":
        this.gpuHostRules(name, project, network, workloads.ollamaPort, parent);
        break;
      case "kubernetes":
        this.clusterRules(name, args.scope, network, clusterPlan!, workloads.backendPorts, parent);
        break;
      default: {
        const unreachable: never = workloads;
        throw new Error(`GcpNetwork ${name}: unknown workloads ${String(unreachable)}`);
      }
    }
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

  /** The runtime's egress to Ollama on the GPU host, and SSH to it through Identity-Aware Proxy only. */
  private gpuHostRules(
    name: string,
    project: string,
    network: gcp.compute.Network,
    ollamaPort: number,
    parent: pulumi.CustomResourceOptions,
  ): void {
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
        allows: [{ protocol: "tcp", ports: [String(ollamaPort)] }],
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
  }

  /**
   * A cluster's extras: the proxy-only subnet (flow logs cannot be turned on for one), the load
   * balancers' proxies and health checks to the backends' ports on the nodes, and SSH through
   * Identity-Aware Proxy to a bastion, whence `kubectl` reaches a private control plane.
   */
  private clusterRules(
    name: string,
    { project, region }: GcpScope,
    network: gcp.compute.Network,
    plan: GkeSubnetPlan,
    backendPorts: readonly number[],
    opts: pulumi.CustomResourceOptions,
  ): void {
    new gcp.compute.Subnetwork(
      `${name}-proxy-only`,
      {
        project,
        region,
        network: network.id,
        ipCidrRange: plan.proxyOnly,
        purpose: "REGIONAL_MANAGED_PROXY",
        role: "ACTIVE",
      },
      opts,
    );
    const logged = { logConfig: { metadata: "INCLUDE_ALL_METADATA" } };
    new gcp.compute.Firewall(
      `${name}-load-balancers`,
      {
        project,
        network: network.id,
        direction: "INGRESS",
        priority: 1000,
        sourceRanges: [plan.proxyOnly, ...GOOGLE_LOAD_BALANCER_RANGES],
        targetTags: [NETWORK_TAGS.gkeNode],
        allows: [{ protocol: "tcp", ports: backendPorts.map(String) }],
        description: "the load balancers' proxies and health checks reach the API's pods",
        ...logged,
      },
      opts,
    );
    new gcp.compute.Firewall(
      `${name}-iap-bastion`,
      {
        project,
        network: network.id,
        direction: "INGRESS",
        priority: 1000,
        sourceRanges: [IAP_TCP_FORWARDING_RANGE],
        targetTags: [NETWORK_TAGS.bastion],
        allows: [{ protocol: "tcp", ports: ["22"] }],
        description: "SSH to an operator's bastion through Identity-Aware Proxy only",
        ...logged,
      },
      opts,
    );
  }
}
