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
  /** Uses a Key Vault key's crypto operations (AKS's KMS encryption of Secrets in etcd). */
  keyVaultCryptoUser: "12338af0-0e69-4776-bea7-57ae8d297424",
  /** Manages a vault (AKS's KMS makes its private endpoint to a private vault). */
  keyVaultContributor: "f25e0fa2-a7c8-4377-a976-54943a77a395",
  /** Manages network resources (AKS's load balancers and the API server's subnet). */
  networkContributor: "4d97b98b-1d4f-4787-a291-c67834d212e7",
  /** Assigns a user-assigned identity (AKS's control plane, the kubelet identity). */
  managedIdentityOperator: "f1a07417-d97a-45cb-824c-7a7467783830",
  /** Reads a resource (AKS's control plane, the disk encryption set). */
  reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
  /** Full access to the Kubernetes API of a cluster with Azure RBAC. */
  aksRbacClusterAdmin: "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
} as const;
export type BuiltinRole = keyof typeof BUILTIN_ROLES;

/** The role definition's resource id in the subscription. */
export function builtinRoleId(
  subscriptionId: pulumi.Input<string>,
  role: BuiltinRole,
): pulumi.Output<string> {
  return pulumi.interpolate`/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${BUILTIN_ROLES[role]}`;
}

/** The kinds of Entra principal a role is assigned to. */
export type AzurePrincipalType = "User" | "Group" | "ServicePrincipal";

/** The Azure CLI's application: a token it obtained signs in a person. */
const AZURE_CLI_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/**
 * What kind of principal runs `pulumi up`, from the application its token came from: a person
 * signed in with the Azure CLI, else a service principal (CI with OIDC or a secret, a managed
 * identity).
 */
export function deployerPrincipalType(clientId: string): AzurePrincipalType {
  return clientId === AZURE_CLI_APP_ID ? "User" : "ServicePrincipal";
}

/** `user:<id>`, `group:<id>` or `servicePrincipal:<id>` (kubernetes.adminPrincipals on Azure). */
export function parsePrincipal(member: string): { type: AzurePrincipalType; objectId: string } {
  const [kind, objectId] = member.split(":");
  const type = ({ user: "User", group: "Group", servicePrincipal: "ServicePrincipal" } as const)[
    kind as "user" | "group" | "servicePrincipal"
  ];
  if (!type || !objectId)
    throw new Error(`${member} is not user:<id>, group:<id> or servicePrincipal:<id>`);
  return { type, objectId };
}

export interface GrantArgs {
  /** The managed identity (or service principal) the role is granted to. */
  readonly principalId: pulumi.Input<string>;
  /** The role definition's resource id (builtinRoleId, or a custom role's id). */
  readonly roleDefinitionId: pulumi.Input<string>;
  /** The narrowest resource the grant covers: a vault, a key, a registry, a container. */
  readonly scope: pulumi.Input<string>;
  readonly description: string;
  /**
   * What the principal is. Azure refuses an assignment whose type is not the principal's, and
   * waits for a new service principal (a managed identity) to replicate only when told it is one.
   * @default "ServicePrincipal" (a managed identity)
   */
  readonly principalType?: pulumi.Input<AzurePrincipalType>;
}

/** One role assignment (to a managed identity, unless principalType says otherwise). */
export function grant(
  name: string,
  args: GrantArgs,
  opts: pulumi.CustomResourceOptions,
): authorization.RoleAssignment {
  return new authorization.RoleAssignment(
    name,
    {
      principalId: args.principalId,
      principalType: args.principalType ?? "ServicePrincipal",
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
