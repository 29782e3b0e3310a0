/** How the Azure platform cuts its virtual network into subnets. */
import { subnetCidr } from "../shared/cidr";

/** The largest address space (smallest prefix length) the subnet plan fits in is /21. */
export const MAX_VNET_PREFIX = 21;

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
