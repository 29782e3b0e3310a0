import * as network from "@pulumi/azure-native/network";
import type * as pulumi from "@pulumi/pulumi";
import { placed, type AzureScope } from "./common";
import type { AzureNetwork } from "./network";

/** The private DNS zone of each service the platform reaches through a private endpoint. */
export const PRIVATE_LINK = {
  vault: { groupId: "vault", zone: "privatelink.vaultcore.azure.net" },
  blob: { groupId: "blob", zone: "privatelink.blob.core.windows.net" },
  redisEnterprise: { groupId: "redisEnterprise", zone: "privatelink.redis.azure.net" },
} as const;
export type PrivateLinkService = keyof typeof PRIVATE_LINK;

export interface PrivateEndpointArgs {
  readonly scope: AzureScope;
  readonly network: AzureNetwork;
  /** The resource reached privately (a vault, a storage account, a Redis cluster). */
  readonly targetId: pulumi.Input<string>;
  readonly service: PrivateLinkService;
}

/**
 * A private endpoint in the network's endpoint subnet, registered in the service's private DNS
 * zone: inside the network the service's usual name resolves to the endpoint's private address.
 */
export function privateEndpoint(
  name: string,
  args: PrivateEndpointArgs,
  opts: pulumi.CustomResourceOptions,
): network.PrivateEndpoint {
  const link = PRIVATE_LINK[args.service];
  const zone = args.network.privateZone(link.zone);
  const endpoint = new network.PrivateEndpoint(
    name,
    {
      ...placed(args.scope),
      subnet: { id: args.network.endpointsSubnetId },
      privateLinkServiceConnections: [
        { name, privateLinkServiceId: args.targetId, groupIds: [link.groupId] },
      ],
    },
    opts,
  );
  new network.PrivateDnsZoneGroup(
    name,
    {
      resourceGroupName: args.scope.resourceGroupName,
      privateEndpointName: endpoint.name,
      privateDnsZoneConfigs: [{ name: link.groupId, privateDnsZoneId: zone.id }],
    },
    opts,
  );
  return endpoint;
}
