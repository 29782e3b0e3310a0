/** How the GCP platform cuts its VPC range: one regional subnet for Cloud Run's egress and the GPU host. */
import { subnetCidr } from "../shared/cidr";

/** The largest range (smallest prefix length) the subnet fits in: a /20. */
export const MAX_VPC_PREFIX = 20;

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
