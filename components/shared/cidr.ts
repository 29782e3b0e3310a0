/** IPv4 CIDR arithmetic for carving subnets out of a VPC range. */
function toInt(ip: string): number {
  return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function toIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** Whether two IPv4 CIDRs share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const range = (cidr: string): [number, number] => {
    const [ip, prefixText] = cidr.split("/");
    const size = 2 ** (32 - Number(prefixText));
    const start = toInt(ip!) - (toInt(ip!) % size);
    return [start, start + size - 1];
  };
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}

/** The `index`-th subnet of prefix length `newPrefix` inside `base` (like Terraform's cidrsubnet). */
export function subnetCidr(base: string, newPrefix: number, index: number): string {
  const [ip, prefixText] = base.split("/");
  const prefix = Number(prefixText);
  if (newPrefix < prefix || newPrefix > 28)
    throw new Error(`subnetCidr: /${newPrefix} does not fit in ${base}`);
  const count = 2 ** (newPrefix - prefix);
  if (index < 0 || index >= count)
    throw new Error(
      `subnetCidr: ${base} holds ${count} /${newPrefix} subnets; index ${index} is out of range`,
    );
  const network = toInt(ip!) - (toInt(ip!) % 2 ** (32 - prefix));
  return `${toIp(network + index * 2 ** (32 - newPrefix))}/${newPrefix}`;
}

/**
 * The VPC is cut in 16 equal blocks: private subnets (where everything runs) take blocks 0-2,
 * public subnets (load balancer, NAT) take blocks 8-10.
 */
export function subnetPlan(
  vpcCidr: string,
  azCount: number,
): { privateCidrs: string[]; publicCidrs: string[] } {
  const newPrefix = Number(vpcCidr.split("/")[1]) + 4;
  const indexes = Array.from({ length: azCount }, (_, i) => i);
  return {
    privateCidrs: indexes.map((i) => subnetCidr(vpcCidr, newPrefix, i)),
    publicCidrs: indexes.map((i) => subnetCidr(vpcCidr, newPrefix, 8 + i)),
  };
}
