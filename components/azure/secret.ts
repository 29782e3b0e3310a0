import * as keyvault from "@pulumi/azure-native/keyvault";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SecretRef } from "../contracts";
import { requireFilled } from "../shared/operator-secret";
import type { KeyVault } from "./key-vault";

/** The secret's name in a Key Vault secret URL (https://<vault>.vault.azure.net/secrets/<name>[/<version>]). */
export function keyVaultSecretName(url: string): string {
  const match = /^https:\/\/[^/]+\/secrets\/([A-Za-z0-9-]+)(\/[0-9a-f]{32})?\/?$/.exec(url);
  if (!match) throw new Error(`${url} is not a Key Vault secret URL`);
  return match[1]!;
}

/** The ARM API version the fill command writes a secret with (the one the provider reads with). */
export const KEY_VAULT_API_VERSION = "2024-11-01";

export type KeyVaultSecretValue =
  /** Generated here: random and alphanumeric, of this length. */
  | { readonly generateLength: number }
  /** Computed in the stack (a service's access key, a generated password another resource uses). */
  | { readonly value: pulumi.Input<string> }
  /** Filled by the operator after the first deployment (a third-party key). */
  | { readonly operatorFilled: true };

export interface KeyVaultSecretArgs {
  readonly vault: KeyVault;
  readonly resourceGroupName: pulumi.Input<string>;
  /** The secret's name in the vault: letters, digits and dashes. */
  readonly secretName: string;
  readonly description: string;
  readonly value: KeyVaultSecretValue;
}

/**
 * A secret in the stack's Key Vault, written through Azure Resource Manager (the vault refuses
 * data-plane calls from outside its network; ARM writes it from anywhere the deployer's role
 * allows).
 *
 * An operator-filled secret is not managed by the stack (so `pulumi up` never overwrites what
 * the operator put): its `ref` resolves once the vault holds it, and until then fails with the
 * command that fills it, before anything that reads it is created.
 */
export class KeyVaultSecret extends pulumi.ComponentResource {
  readonly ref: SecretRef;
  /** The value, when the stack generated or computed it (secret). */
  readonly value: pulumi.Output<string> | undefined;
  /** How the operator fills this secret, when the operator does. */
  readonly fillCommand: pulumi.Output<string> | undefined;

  constructor(name: string, args: KeyVaultSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:azure:Secret", name, {}, opts);
    if (!/^[a-zA-Z0-9-]{1,127}$/.test(args.secretName)) {
      throw new Error(
        `KeyVaultSecret ${name}: "${args.secretName}" is not a Key Vault secret name (letters, digits and dashes, at most 127)`,
      );
    }
    const uri = pulumi.interpolate`${args.vault.vaultUri}secrets/${args.secretName}`;
    if ("operatorFilled" in args.value) {
      this.value = undefined;
      // The value from a file, never on the command line (shell history, `ps`).
      const fill = pulumi.interpolate`az rest --method put --url "https://management.azure.com${args.vault.vaultId}/secrets/${args.secretName}?api-version=${KEY_VAULT_API_VERSION}" --body @<file holding {"properties":{"value":"<the value>"}}>`;
      this.fillCommand = fill;
      const filled = pulumi
        .all([args.resourceGroupName, args.vault.vaultName, uri, fill])
        .apply(async ([resourceGroupName, vaultName, secretUri, fillCommand]) => {
          await requireFilled(
            () =>
              keyvault.getSecret(
                { resourceGroupName, vaultName, secretName: args.secretName },
                { parent: this },
              ),
            {
              name: `${vaultName}/${args.secretName}`,
              description: args.description,
              fillCommand,
            },
          );
          return secretUri;
        });
      this.ref = { kind: "azure-keyvault", secretUri: filled };
    } else {
      const value =
        "generateLength" in args.value
          ? pulumi.secret(
              new random.RandomPassword(
                `${name}-value`,
                { length: args.value.generateLength, special: false },
                { parent: this },
              ).result,
            )
          : pulumi.secret(pulumi.output(args.value.value));
      const secret = new keyvault.Secret(
        name,
        {
          resourceGroupName: args.resourceGroupName,
          vaultName: args.vault.vaultName,
          secretName: args.secretName,
          properties: { value, contentType: args.description },
        },
        { parent: this },
      );
      this.value = value;
      this.fillCommand = undefined;
      // Readers reference the secret once it holds its value.
      this.ref = {
        kind: "azure-keyvault",
        secretUri: pulumi.all([uri, secret.id]).apply(([u]) => u),
        value,
      };
    }
    this.registerOutputs({});
  }
}
