import * as authorization from "@pulumi/azure-native/authorization";
import * as storage from "@pulumi/azure-native/storage";
import * as pulumi from "@pulumi/pulumi";
import type { ObjectStore } from "../contracts";
import { globalName, placed, type AzureScope } from "./common";
import type { KeyVault } from "./key-vault";
import type { LogWorkspace } from "./log-workspace";
import type { AzureNetwork } from "./network";
import { privateEndpoint } from "./private-endpoint";

/**
 * What the runtime does with documents, and nothing more: read, write, list (its container's
 * properties for readiness), delete, and delete previous versions. Secure deletion removes every
 * version of an original, which the built-in Storage Blob Data Contributor cannot (only Owner
 * can, with much else).
 */
export const DOCUMENT_ACCESS = {
  actions: ["Microsoft.Storage/storageAccounts/blobServices/containers/read"],
  dataActions: [
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
    "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action",
  ],
} as const;

export interface BlobDocumentStoreArgs {
  readonly scope: AzureScope;
  readonly network: AzureNetwork;
  /** Its data key encrypts the account (with infrastructure encryption beneath). */
  readonly vault: KeyVault;
  /** Where every read, write and delete of a document is logged. */
  readonly logs: LogWorkspace;
  /** Days a replaced or deleted version is kept before it is removed. */
  readonly noncurrentVersionRetentionDays: number;
  /** Zone-redundant storage (three zones) instead of three copies in one. @default false */
  readonly zoneRedundant?: boolean;
  /** @default "documents" */
  readonly containerName?: string;
}

/**
 * The document store: a storage account with HTTPS and TLS 1.2 only, no shared keys (Entra ID
 * only), no public access (a private endpoint in the network), encrypted with the vault's key and
 * infrastructure encryption, versioning on with old versions removed after the retention, and a
 * container with no anonymous access, every access logged. Blob soft delete stays off: a document's secure deletion
 * removes every version for good, as on S3. The role the runtime needs is `documentRoleId`.
 */
export class BlobDocumentStore extends pulumi.ComponentResource {
  readonly accountId: pulumi.Output<string>;
  readonly accountName: pulumi.Output<string>;
  readonly containerName: pulumi.Output<string>;
  /** The container's resource id: the narrowest scope for the runtime's grant. */
  readonly containerId: pulumi.Output<string>;
  /** A custom role with DOCUMENT_ACCESS, assignable on this account only. */
  readonly documentRoleId: pulumi.Output<string>;
  /** The runtime's OBJECT_STORE_URL. */
  readonly objectStore: ObjectStore;

  constructor(name: string, args: BlobDocumentStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:azure:DocumentStore", name, {}, opts);
    const parent = { parent: this };
    const account = new storage.StorageAccount(
      name,
      {
        ...placed(args.scope),
        accountName: globalName(name, args.scope.uniqueSuffix, {
          maxLength: 24,
          alphanumericOnly: true,
        }),
        kind: "StorageV2",
        sku: { name: args.zoneRedundant ? "Standard_ZRS" : "Standard_LRS" },
        accessTier: "Hot",
        enableHttpsTrafficOnly: true,
        minimumTlsVersion: "TLS1_2",
        allowBlobPublicAccess: false,
        allowSharedKeyAccess: false,
        defaultToOAuthAuthentication: true,
        allowCrossTenantReplication: false,
        publicNetworkAccess: "Disabled",
        networkRuleSet: { defaultAction: "Deny", bypass: "AzureServices" },
        identity: {
          type: "UserAssigned",
          userAssignedIdentities: [args.vault.encryptionIdentityId],
        },
        encryption: {
          keySource: "Microsoft.Keyvault",
          keyVaultProperties: { keyVaultUri: args.vault.vaultUri, keyName: args.vault.dataKeyName },
          encryptionIdentity: { encryptionUserAssignedIdentity: args.vault.encryptionIdentityId },
          requireInfrastructureEncryption: true,
          services: { blob: { enabled: true, keyType: "Account" } },
        },
      },
      // The documents outlive the stack, as the S3 bucket does; remove the account by hand when you mean it.
      { parent: this, retainOnDelete: true, dependsOn: args.vault.keyReady },
    );
    const blobService = new storage.BlobServiceProperties(
      name,
      {
        resourceGroupName: args.scope.resourceGroupName,
        accountName: account.name,
        blobServicesName: "default",
        isVersioningEnabled: true,
        deleteRetentionPolicy: { enabled: false },
        containerDeleteRetentionPolicy: { enabled: true, days: 30 },
      },
      parent,
    );
    const container = new storage.BlobContainer(
      name,
      {
        resourceGroupName: args.scope.resourceGroupName,
        accountName: account.name,
        containerName: args.containerName ?? "documents",
        publicAccess: "None",
      },
      { parent: this, retainOnDelete: true },
    );
    new storage.ManagementPolicy(
      name,
      {
        resourceGroupName: args.scope.resourceGroupName,
        accountName: account.name,
        managementPolicyName: "default",
        policy: {
          rules: [
            {
              name: "expire-previous-versions",
              type: "Lifecycle",
              enabled: true,
              definition: {
                filters: { blobTypes: ["blockBlob"] },
                actions: {
                  version: {
                    delete: { daysAfterCreationGreaterThan: args.noncurrentVersionRetentionDays },
                  },
                },
              },
            },
          ],
        },
      },
      parent,
    );
    privateEndpoint(
      `${name}-pe`,
      { scope: args.scope, network: args.network, targetId: account.id, service: "blob" },
      parent,
    );
    args.logs.collect(`${name}-access`, blobService.id, parent);
    const role = new authorization.RoleDefinition(
      `${name}-documents`,
      {
        scope: account.id,
        roleName: pulumi.interpolate`rag documents (${account.name})`,
        description:
          "The runtime's access to its documents: read, write, and delete every version of one.",
        roleType: "CustomRole",
        permissions: [
          { actions: [...DOCUMENT_ACCESS.actions], dataActions: [...DOCUMENT_ACCESS.dataActions] },
        ],
        assignableScopes: [account.id],
      },
      parent,
    );

    this.accountId = account.id;
    this.accountName = account.name;
    this.containerName = container.name;
    this.containerId = container.id;
    this.documentRoleId = role.id;
    this.objectStore = {
      url: pulumi.interpolate`azblob://${account.name}/${container.name}/documents`,
      resourceId: container.id,
      encryptionKeyId: args.vault.dataKeyUri,
    };
    this.registerOutputs({ accountName: this.accountName });
  }
}
