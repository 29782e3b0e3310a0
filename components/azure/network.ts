import * as network from "@pulumi/azure-native/network";
import * as privatedns from "@pulumi/azure-native/privatedns";
import type { network as NetworkInputs } from "@pulumi/azure-native/types/input";
import * as pulumi from "@pulumi/pulumi";
import { placed, type AzureScope } from "./common";
import { AKS_OVERLAY, azureSubnetPlan } from "./subnet-plan";

export interface AzureNetworkArgs {
  readonly scope: AzureScope;
  /** The virtual network's range, /21 or larger (subnet-plan.ts) (e.g. 10.40.0.0/16). */
  readonly addressSpace: string;
  /** Admit HTTPS (443) from the internet to the Container Apps subnet, for a public API. @default false */
  readonly publicHttps?: boolean;
  /** Ports the platform's services listen on, reachable from the apps subnet only. */
  readonly ports: { readonly postgres: number; readonly redis: number; readonly ollama: number };
  /**
   * What runs in the apps subnet: a Container Apps environment (the subnet delegated to it, and a
   * subnet for the GPU host beside it), or a Kubernetes cluster's nodes (GPUs in a node pool).
   * @default "container-apps"
   */
  readonly workloads?: "container-apps" | "kubernetes";
}

const WORKLOADS_LABEL = {
  "container-apps": "Container Apps",
  kubernetes: "cluster nodes'",
} as const;

/**
 * The virtual network: a subnet for the workloads (Container Apps, or a cluster's nodes), one
 * delegated to PostgreSQL flexible server, one for private endpoints (Key Vault, storage, Redis)
 * and, beside Container Apps, one for the GPU host. Every subnet is private (no default outbound
 * access); the workloads and the GPU host reach the internet through one NAT gateway. The data
 * subnets and the GPU host admit only the workloads' subnet, on their service's port; nothing
 * admits the internet except, when asked, HTTPS to the workloads.
 */
export class AzureNetwork extends pulumi.ComponentResource {
  readonly vnetId: pulumi.Output<string>;
  readonly vnetName: pulumi.Output<string>;
  readonly addressSpace: string;
  readonly cidrs: ReturnType<typeof azureSubnetPlan>;
  readonly appsSubnetId: pulumi.Output<string>;
  readonly postgresSubnetId: pulumi.Output<string>;
  readonly endpointsSubnetId: pulumi.Output<string>;
  /** The GPU host's subnet (Container Apps only). */
  readonly llmSubnetId: pulumi.Output<string> | undefined;
  /** The cluster API server's subnet, delegated to AKS (a cluster's network only). */
  readonly apiServerSubnetId: pulumi.Output<string> | undefined;
  private readonly zones = new Map<string, privatedns.PrivateZone>();
  private readonly scope: AzureScope;
  private readonly name: string;

  constructor(name: string, args: AzureNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:azure:Network", name, {}, opts);
    this.scope = args.scope;
    this.name = name;
    this.addressSpace = args.addressSpace;
    this.cidrs = azureSubnetPlan(args.addressSpace);
    const parent = { parent: this };
    const where = placed(args.scope);
    const vnet = new network.VirtualNetwork(
      name,
      { ...where, addressSpace: { addressPrefixes: [args.addressSpace] } },
      parent,
    );
    const natIp = new network.PublicIPAddress(
      `${name}-nat`,
      {
        ...where,
        sku: { name: "Standard", tier: "Regional" },
        publicIPAllocationMethod: "Static",
        publicIPAddressVersion: "IPv4",
      },
      parent,
    );
    const nat = new network.NatGateway(
      `${name}-nat`,
      {
        ...where,
        sku: { name: "Standard" },
        publicIpAddresses: [{ id: natIp.id }],
        idleTimeoutInMinutes: 4,
      },
      parent,
    );
    const nsgs = this.createSecurityGroups(name, args);

    // One subnet at a time: Azure refuses concurrent changes to one virtual network.
    let previous: pulumi.Resource[] = [];
    const subnet = (key: keyof typeof this.cidrs, extra: Partial<network.SubnetArgs>) => {
      const created = new network.Subnet(
        `${name}-${key}`,
        {
          resourceGroupName: args.scope.resourceGroupName,
          virtualNetworkName: vnet.name,
          addressPrefix: this.cidrs[key],
          defaultOutboundAccess: false,
          networkSecurityGroup: { id: nsgs[key]!.id },
          ...extra,
        },
        { parent: this, dependsOn: previous },
      );
      previous = [created];
      return created;
    };
    const kubernetes = args.workloads === "kubernetes";
    const apps = subnet("apps", {
      natGateway: { id: nat.id },
      ...(kubernetes
        ? {}
        : { delegations: [{ name: "container-apps", serviceName: "Microsoft.App/environments" }] }),
    });
    const postgres = subnet("postgres", {
      delegations: [{ name: "postgres", serviceName: "Microsoft.DBforPostgreSQL/flexibleServers" }],
    });
    // The security group applies to private endpoints too ("Enabled": the default leaves them unfiltered).
    const endpoints = subnet("endpoints", { privateEndpointNetworkPolicies: "Enabled" });
    const llm = kubernetes ? undefined : subnet("llm", { natGateway: { id: nat.id } });
    // API Server VNet Integration: the API server's own addresses (a private key vault for KMS needs it).
    const apiServer = kubernetes
      ? subnet("apiServer", {
          delegations: [{ name: "aks", serviceName: "Microsoft.ContainerService/managedClusters" }],
        })
      : undefined;

    this.vnetId = vnet.id;
    this.vnetName = vnet.name;
    this.appsSubnetId = apps.id;
    this.postgresSubnetId = postgres.id;
    this.endpointsSubnetId = endpoints.id;
    this.llmSubnetId = llm?.id;
    this.apiServerSubnetId = apiServer?.id;
    this.registerOutputs({ vnetId: this.vnetId });
  }

  /**
   * The private DNS zone for a service's private endpoints (privatelink.vaultcore.azure.net...),
   * linked to this network so its names resolve to private addresses here. Created once.
   */
  privateZone(zoneName: string): privatedns.PrivateZone {
    const existing = this.zones.get(zoneName);
    if (existing) return existing;
    const slug = zoneName.replace(/^privatelink\./, "").replace(/\W+/g, "-");
    const zone = new privatedns.PrivateZone(
      `${this.name}-${slug}`,
      {
        resourceGroupName: this.scope.resourceGroupName,
        privateZoneName: zoneName,
        location: "Global",
        tags: { ...this.scope.tags },
      },
      { parent: this },
    );
    new privatedns.VirtualNetworkLink(
      `${this.name}-${slug}`,
      {
        resourceGroupName: this.scope.resourceGroupName,
        privateZoneName: zone.name,
        location: "Global",
        virtualNetwork: { id: this.vnetId },
        registrationEnabled: false,
        tags: { ...this.scope.tags },
      },
      { parent: this },
    );
    this.zones.set(zoneName, zone);
    return zone;
  }

  private createSecurityGroups(
    name: string,
    args: AzureNetworkArgs,
  ): Record<
    Exclude<keyof ReturnType<typeof azureSubnetPlan>, "llm" | "apiServer">,
    network.NetworkSecurityGroup
  > & { llm?: network.NetworkSecurityGroup; apiServer?: network.NetworkSecurityGroup } {
    const where = placed(args.scope);
    const fromApps = (
      rule: string,
      priority: number,
      ports: number[],
    ): NetworkInputs.SecurityRuleArgs => ({
      name: rule,
      priority,
      direction: "Inbound",
      access: "Allow",
      protocol: "Tcp",
      sourceAddressPrefix: this.cidrs.apps,
      sourcePortRange: "*",
      destinationAddressPrefix: "*",
      destinationPortRanges: ports.map(String),
      description: `${rule} from the ${WORKLOADS_LABEL[args.workloads ?? "container-apps"]} subnet`,
    });
    // Below the allow rules, above Azure's own AllowVnetInBound (65000): the rest of the network is refused.
    const denyNetwork: NetworkInputs.SecurityRuleArgs = {
      name: "deny-rest-of-network",
      priority: 4000,
      direction: "Inbound",
      access: "Deny",
      protocol: "*",
      sourceAddressPrefix: "VirtualNetwork",
      sourcePortRange: "*",
      destinationAddressPrefix: "*",
      destinationPortRange: "*",
      description: "nothing else in the network reaches this subnet",
    };
    const nsg = (key: string, securityRules: NetworkInputs.SecurityRuleArgs[]) =>
      new network.NetworkSecurityGroup(
        `${name}-${key}`,
        { ...where, securityRules },
        { parent: this },
      );
    const publicHttps: NetworkInputs.SecurityRuleArgs[] = args.publicHttps
      ? [
          {
            name: "https-from-internet",
            priority: 100,
            direction: "Inbound",
            access: "Allow",
            protocol: "Tcp",
            sourceAddressPrefix: "Internet",
            sourcePortRange: "*",
            // A cluster's load balancer keeps its public address as the destination (floating IP).
            destinationAddressPrefix: args.workloads === "kubernetes" ? "*" : this.cidrs.apps,
            destinationPortRange: "443",
            description:
              args.workloads === "kubernetes"
                ? "the public API (HTTPS only; the ingress serves no plain HTTP)"
                : "the public API (HTTPS only; Container Apps refuses plain HTTP)",
          },
        ]
      : [];
    // Overlay pods talk across nodes with their own addresses, unencapsulated: the nodes' subnet admits them.
    const clusterTraffic: NetworkInputs.SecurityRuleArgs[] =
      args.workloads === "kubernetes"
        ? [
            {
              name: "cluster-pods",
              priority: 200,
              direction: "Inbound",
              access: "Allow",
              protocol: "*",
              sourceAddressPrefixes: [this.cidrs.apps, AKS_OVERLAY.podCidr],
              sourcePortRange: "*",
              destinationAddressPrefixes: [this.cidrs.apps, AKS_OVERLAY.podCidr],
              destinationPortRange: "*",
              description: "nodes and pods of the cluster (Azure CNI overlay) to each other",
            },
          ]
        : [];
    return {
      apps: nsg("apps", [...publicHttps, ...clusterTraffic]),
      // The server's own subnet too: a standby replicates from its primary there.
      postgres: nsg("postgres", [
        fromApps("postgres", 100, [args.ports.postgres]),
        {
          ...fromApps("postgres-replication", 110, [args.ports.postgres]),
          sourceAddressPrefix: this.cidrs.postgres,
          description: "replication to a standby in this subnet",
        },
        denyNetwork,
      ]),
      endpoints: nsg("endpoints", [
        fromApps("private-endpoints", 100, [443, args.ports.redis]),
        ...(args.workloads === "kubernetes"
          ? [
              {
                ...fromApps("key-vault-from-api-server", 110, [443]),
                sourceAddressPrefix: this.cidrs.apiServer,
                description: "the API server's KMS plugin to the key vault's private endpoint",
              },
            ]
          : []),
        denyNetwork,
      ]),
      ...(args.workloads === "kubernetes"
        ? { apiServer: nsg("api-server", []) }
        : { llm: nsg("llm", [fromApps("ollama", 100, [args.ports.ollama]), denyNetwork]) }),
    };
  }
}
