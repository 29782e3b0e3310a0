import * as keyvault from "@pulumi/azure-native/keyvault";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as pulumi from "@pulumi/pulumi";
import { builtinRoleId, globalName, grant, placed, type AzureScope } from "./common";
import type { LogWorkspace } from "./log-workspace";
import type { AzureNetwork } from "./network";
import { privateEndpoint } from "./private-endpoint";

/** How a customer-managed key is rotated: a new version each year, the old ones kept for decryption. */
export const KEY_ROTATION = {
  rotateAfter: "P1Y",
  expiresAfter: "P2Y",
  notifyBefore: "P30D",
} as const;

export interface KeyVaultArgs {
  readonly scope: AzureScope;
  readonly network: AzureNetwork;
  /** Where the vault's audit events (every read of a secret or use of a key) go. */
  readonly logs: LogWorkspace;
  /** Days a deleted secret or key can be recovered (7-90). Purge protection keeps them that long. @default 90 */
  readonly softDeleteRetentionDays?: number;
}

/**
 * A Key Vault for the stack's secrets and its customer-managed key: RBAC authorization (no access
 * policies), soft delete with purge protection, no public network access (a private endpoint in
 * the network; Azure's trusted services, such as storage encrypting with the key, pass), and one
 * RSA key that rotates yearly. The `encryptionIdentity` may wrap and unwrap with that key and
 * nothing else: storage, PostgreSQL and disks encrypt under it.
 */
export class KeyVault extends pulumi.ComponentResource {
  readonly vaultId: pulumi.Output<string>;
  readonly vaultName: pulumi.Output<string>;
  readonly vaultUri: pulumi.Output<string>;
  /** The data key, versionless (consumers follow its rotation). */
  readonly dataKeyUri: pulumi.Output<string>;
  /** The data key's current version (for consumers that need one: disk encryption sets). */
  readonly dataKeyVersionedUri: pulumi.Output<string>;
  readonly dataKeyName: pulumi.Output<string>;
  /** The identity that storage, PostgreSQL and disk encryption use to reach the data key. */
  readonly encryptionIdentityId: pulumi.Output<string>;
  readonly encryptionIdentityClientId: pulumi.Output<string>;
  /** Resources to wait for before using the data key (the identity's grant). */
  readonly keyReady: pulumi.Resource[];

  constructor(name: string, args: KeyVaultArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:azure:KeyVault", name, {}, opts);
    const parent = { parent: this };
    const retention = args.softDeleteRetentionDays ?? 90;
    if (!Number.isInteger(retention) || retention < 7 || retention > 90) {
      throw new Error(
        `KeyVault ${name}: softDeleteRetentionDays must be a whole number of days from 7 to 90, got ${retention}`,
      );
    }
    const vault = new keyvault.Vault(
      name,
      {
        ...placed(args.scope),
        vaultName: globalName(name, args.scope.uniqueSuffix, { maxLength: 24 }),
        properties: {
          tenantId: args.scope.tenantId,
          sku: { family: "A", name: "standard" },
          enableRbacAuthorization: true,
          enableSoftDelete: true,
          softDeleteRetentionInDays: retention,
          enablePurgeProtection: true,
          enabledForDeployment: false,
          enabledForDiskEncryption: false,
          enabledForTemplateDeployment: false,
          publicNetworkAccess: "Disabled",
          networkAcls: { defaultAction: "Deny", bypass: "AzureServices" },
        },
      },
      // The vault holds what the stack keeps on destroy (document and database keys): so does it.
      { parent: this, retainOnDelete: true },
    );
    privateEndpoint(
      `${name}-pe`,
      { scope: args.scope, network: args.network, targetId: vault.id, service: "vault" },
      parent,
    );
    args.logs.collect(`${name}-audit`, vault.id, parent, "audit");

    const key = new keyvault.Key(
      `${name}-data`,
      {
        resourceGroupName: args.scope.resourceGroupName,
        vaultName: vault.name,
        keyName: "data",
        properties: {
          kty: "RSA",
          keySize: 3072,
          keyOps: ["wrapKey", "unwrapKey", "encrypt", "decrypt"],
          rotationPolicy: {
            attributes: { expiryTime: KEY_ROTATION.expiresAfter },
            lifetimeActions: [
              {
                trigger: { timeAfterCreate: KEY_ROTATION.rotateAfter },
                action: { type: "rotate" },
              },
              {
                trigger: { timeBeforeExpiry: KEY_ROTATION.notifyBefore },
                action: { type: "notify" },
              },
            ],
          },
        },
      },
      // Rotation makes new versions outside Pulumi; the key itself is what the stack declares.
      { parent: this, retainOnDelete: true },
    );
    const identity = new managedidentity.UserAssignedIdentity(
      `${name}-encryption`,
      placed(args.scope),
      parent,
    );
    const keyGrant = grant(
      `${name}-encryption-key`,
      {
        principalId: identity.principalId,
        roleDefinitionId: builtinRoleId(
          args.scope.subscriptionId,
          "keyVaultCryptoServiceEncryptionUser",
        ),
        scope: pulumi.interpolate`${vault.id}/keys/${key.name}`,
        description:
          "customer-managed encryption of storage, PostgreSQL and disks with the data key",
      },
      parent,
    );

    this.vaultId = vault.id;
    this.vaultName = vault.name;
    this.vaultUri = pulumi.interpolate`https://${vault.name}.vault.azure.net/`;
    this.dataKeyUri = key.keyUri;
    this.dataKeyVersionedUri = key.keyUriWithVersion;
    this.dataKeyName = key.name;
    this.encryptionIdentityId = identity.id;
    this.encryptionIdentityClientId = identity.clientId;
    this.keyReady = [keyGrant];
    this.registerOutputs({ vaultId: this.vaultId });
  }
}
