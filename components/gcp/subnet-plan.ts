/** How the GCP platform cuts its VPC range: one regional subnet for Cloud Run's egress and the GPU host, or a cluster's. */
import { subnetCidr } from "../shared/cidr";

/** The largest range (smallest prefix length) the subnet fits in: a /20. */
export const MAX_VPC_PREFIX = 20;
/** The largest range a GKE cluster's ranges fit in: a /16 (nodes, Services, pods, the load balancers' proxies). */
export const MAX_GKE_VPC_PREFIX = 16;

/** The workloads' subnet: the range's first /20 (Cloud Run's direct VPC egress takes addresses from it as it scales). */
export function gcpSubnetPlan(vpcCidr: string): { workloads: string; ollamaAddress: string } {
  const prefix = Number(vpcCidr.split("/")[1]);
  if (!(prefix <= MAX_VPC_PREFIX))
    throw new Error(
      `gcpSubnetPlan: ${vpcCidr} is too small; the subnet needs a /${MAX_VPC_PREFIX} or larger`,
    );
  const workloads = subnetCidr(vpcCidr, 20, 0);
  const [ip] = workloads.split("/");
  const octets = ip!.split(".").map(Number);
  // GCP keeps the first two addresses of a subnet; the GPU host takes a fixed one past them.
  return { workloads, ollamaAddress: [...octets.slice(0, 3), octets[3]! + 10].join(".") };
}

/** A GKE cluster's ranges inside the VPC's. */
export interface GkeSubnetPlan {
  /** The nodes' subnet (the workloads' /20, as on Cloud Run): 4,000 nodes and internal load balancers. */
  readonly nodes: string;
  /** The Services' secondary range: a /20. */
  readonly services: string;
  /** The pods' secondary range: a /18, a /24 per node (110 pods) for 64 nodes. */
  readonly pods: string;
  /** The proxy-only subnet regional Envoy load balancers (the internal Gateway) send from: a /23. */
  readonly proxyOnly: string;
}

/**
 * A cluster's ranges, each a fixed block of a /16 or larger, so a cluster's addresses never
 * overlap the network's other subnets: nodes first (as the Cloud Run subnet), then Services, the
 * proxies, and the pods in the second quarter.
 */
export function gkeSubnetPlan(vpcCidr: string): GkeSubnetPlan {
  const prefix = Number(vpcCidr.split("/")[1]);
  if (!(prefix <= MAX_GKE_VPC_PREFIX))
    throw new Error(
      `gkeSubnetPlan: ${vpcCidr} is too small; a cluster's ranges need a /${MAX_GKE_VPC_PREFIX} or larger`,
    );
  const block = subnetCidr(vpcCidr, 16, 0);
  return {
    nodes: subnetCidr(block, 20, 0),
    services: subnetCidr(block, 20, 1),
    proxyOnly: subnetCidr(block, 23, 16),
    pods: subnetCidr(block, 18, 1),
  };
}
