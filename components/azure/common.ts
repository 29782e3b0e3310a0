/**
 * What every Azure component shares: where resources go (the stack's resource group, region and
 * tags), the built-in roles the platform grants, and the role assignment helper.
 */
import * as authorization from "@pulumi/azure-native/authorization";
import * as pulumi from "@pulumi/pulumi";

/** The resource group, region and tags each Azure component creates its resources in. */
export interface AzureScope {
  readonly resourceGroupName: pulumi.Input<string>;
  /** The region, e.g. westeurope. */
  readonly location: string;
  readonly subscriptionId: pulumi.Input<string>;
  readonly tenantId: pulumi.Input<string>;
  readonly tags: Readonly<Record<string, string>>;
  /**
   * A short lowercase suffix, the same for the whole stack, that makes names Azure requires to be
   * globally unique (storage accounts, Key Vaults, registries, servers) unique.
   */
  readonly uniqueSuffix: pulumi.Input<string>;
}

/** Where a resource of the scope goes: its resource group, region and tags. */
export function placed(scope: AzureScope): {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  tags: Record<string, string>;
} {
  return {
    resourceGroupName: scope.resourceGroupName,
    location: scope.location,
    tags: { ...scope.tags },
  };
}

/** Azure's built-in role definitions the platform grants (their ids are the same in every tenant). */
export const BUILTIN_ROLES = {
  /** Reads secret values (Container Apps' Key Vault references). */
  keyVaultSecretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
  /** Wraps and unwraps data keys with a Key Vault key (customer-managed encryption). */
  keyVaultCryptoServiceEncryptionUser: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
  /** Pulls images from a container registry. */
  acrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
} as const;
export type BuiltinRole = keyof typeof BUILTIN_ROLES;

/** The role definition's resource id in the subscription. */
export function builtinRoleId(
  subscriptionId: pulumi.Input<string>,
  role: BuiltinRole,
): pulumi.Output<string> {
  return pulumi.interpolate`/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${BUILTIN_ROLES[role]}`;
}

export interface GrantArgs {
  /** The managed identity (or service principal) the role is granted to. */
  readonly principalId: pulumi.Input<string>;
  /** The role definition's resource id (builtinRoleId, or a custom role's id). */
  readonly roleDefinitionId: pulumi.Input<string>;
  /** The narrowest resource the grant covers: a vault, a key, a registry, a container. */
  readonly scope: pulumi.Input<string>;
  readonly description: string;
}

/** One role assignment to a managed identity. */
export function grant(
  name: string,
  args: GrantArgs,
  opts: pulumi.CustomResourceOptions,
): authorization.RoleAssignment {
  return new authorization.RoleAssignment(
    name,
    {
      principalId: args.principalId,
      principalType: "ServicePrincipal",
      roleDefinitionId: args.roleDefinitionId,
      scope: args.scope,
      description: args.description,
    },
    opts,
  );
}

/**
 * A name for a resource whose name is global (a DNS label): the stack's prefix without what the
 * resource type forbids, cut to leave room for the unique suffix.
 */
export function globalName(
  prefix: string,
  suffix: pulumi.Input<string>,
  rule: { maxLength: number; alphanumericOnly?: boolean },
): pulumi.Output<string> {
  const base = (rule.alphanumericOnly ? prefix.replace(/[^a-z0-9]/gi, "") : prefix).toLowerCase();
  return pulumi.output(suffix).apply((s) => {
    const separator = rule.alphanumericOnly ? "" : "-";
    return `${base.slice(0, rule.maxLength - s.length - separator.length)}${separator}${s}`;
  });
}
