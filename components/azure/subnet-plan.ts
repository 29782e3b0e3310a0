/** How the Azure platform cuts its virtual network into subnets. */
import { subnetCidr } from "../shared/cidr";

/** The largest address space (smallest prefix length) the subnet plan fits in is /21. */
export const MAX_VNET_PREFIX = 21;

/**
 * An AKS cluster's own address ranges (Azure CNI overlay): pods and Services take addresses
 * outside the virtual network, so they must not overlap it (nor a network peered with it).
 */
export const AKS_OVERLAY = {
  podCidr: "192.168.0.0/16",
  serviceCidr: "172.16.0.0/16",
  dnsServiceIP: "172.16.0.10",
} as const;

/** The subnets, each a fixed block of the address space. */
export function azureSubnetPlan(addressSpace: string): {
  apps: string;
  postgres: string;
  endpoints: string;
  llm: string;
  apiServer: string;
} {
  const prefix = Number(addressSpace.split("/")[1]);
  if (!(prefix <= MAX_VNET_PREFIX))
    throw new Error(
      `azureSubnetPlan: ${addressSpace} is too small; the subnets need a /${MAX_VNET_PREFIX} or larger`,
    );
  return {
    // Container Apps: a /23 leaves room for the environment's infrastructure and its replicas.
    apps: subnetCidr(addressSpace, 23, 0),
    postgres: subnetCidr(addressSpace, 24, 2),
    endpoints: subnetCidr(addressSpace, 24, 3),
    llm: subnetCidr(addressSpace, 24, 4),
    // A cluster's API server (VNet integration), in the GPU host's block: a cluster has no GPU host.
    apiServer: subnetCidr(addressSpace, 28, 4 * 16),
  };
}
