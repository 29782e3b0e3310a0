import * as compute from "@pulumi/azure-native/compute";
import type * as pulumi from "@pulumi/pulumi";
import { placed, type AzureScope } from "./common";
import type { KeyVault } from "./key-vault";

/**
 * A disk encryption set on the vault's data key (customer-managed, following its rotation), used
 * through the vault's encryption identity: disks created with it are encrypted under the key.
 */
export function customerKeyDiskEncryption(
  name: string,
  args: { readonly scope: AzureScope; readonly vault: KeyVault },
  opts: pulumi.CustomResourceOptions,
): compute.DiskEncryptionSet {
  return new compute.DiskEncryptionSet(
    name,
    {
      ...placed(args.scope),
      encryptionType: "EncryptionAtRestWithCustomerKey",
      identity: { type: "UserAssigned", userAssignedIdentities: [args.vault.encryptionIdentityId] },
      activeKey: {
        keyUrl: args.vault.dataKeyVersionedUri,
        sourceVault: { id: args.vault.vaultId },
      },
      rotationToLatestKeyVersionEnabled: true,
    },
    { ...opts, dependsOn: args.vault.keyReady },
  );
}
