import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SecretRef } from "../contracts";
import { requireFilled } from "../shared/operator-secret";
import type { GcpScope } from "./common";
import type { GcpKms } from "./kms";

export type GcpSecretValue =
  /** Generated here: random and alphanumeric, of this length. */
  | { readonly generateLength: number }
  /** Computed in the stack (a service's AUTH string, a server's CA certificate). */
  | { readonly value: pulumi.Input<string> }
  /** Filled by the operator after the first deployment (a third-party key). */
  | { readonly operatorFilled: true };

export interface GcpSecretArgs {
  readonly scope: GcpScope;
  /** Its key encrypts the secret's replica. */
  readonly kms: GcpKms;
  /** The secret's id in Secret Manager: letters, digits, dashes and underscores. */
  readonly secretId: string;
  readonly description: string;
  readonly value: GcpSecretValue;
}

/**
 * A Secret Manager secret, replicated in the stack's region only and encrypted with its key. The
 * stack writes a generated or computed value as a version; an operator-filled secret gets no
 * version from the stack (so `pulumi up` never replaces one), and its `ref` resolves once it has
 * one, failing until then with the command that adds it, before anything reads it.
 */
export class GcpSecret extends pulumi.ComponentResource {
  readonly ref: SecretRef;
  /** The secret's id, for grants. */
  readonly secretId: pulumi.Output<string>;
  /** The value, when the stack generated or computed it (secret). */
  readonly value: pulumi.Output<string> | undefined;
  /** How the operator fills this secret, when the operator does. */
  readonly fillCommand: pulumi.Output<string> | undefined;

  constructor(name: string, args: GcpSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:gcp:Secret", name, {}, opts);
    if (!/^[a-zA-Z0-9_-]{1,255}$/.test(args.secretId)) {
      throw new Error(
        `GcpSecret ${name}: "${args.secretId}" is not a Secret Manager id (letters, digits, dashes and underscores)`,
      );
    }
    const { project, region } = args.scope;
    const secret = new gcp.secretmanager.Secret(
      name,
      {
        project,
        secretId: args.secretId,
        replication: {
          userManaged: {
            replicas: [
              { location: region, customerManagedEncryption: { kmsKeyName: args.kms.keyId } },
            ],
          },
        },
        labels: { ...args.scope.labels },
        annotations: { description: args.description },
      },
      { parent: this, dependsOn: [...args.scope.apis, ...args.kms.keyReady] },
    );
    this.secretId = secret.secretId;
    if ("operatorFilled" in args.value) {
      // The value from a file, never on the command line (shell history, `ps`).
      const fill = pulumi.interpolate`gcloud secrets versions add ${secret.secretId} --project ${project} --data-file=<file holding the value>`;
      this.fillCommand = fill;
      this.value = undefined;
      const filled = pulumi.all([secret.secretId, fill]).apply(async ([secretId, fillCommand]) => {
        await requireFilled(
          () =>
            gcp.secretmanager.getSecretVersion(
              { project, secret: secretId, fetchSecretData: false },
              { parent: this },
            ),
          {
            name: `${project}/${secretId}`,
            description: args.description,
            fillCommand,
          },
        );
        return secretId;
      });
      this.ref = { kind: "gcp-secretmanager", secretId: filled, project };
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
      const version = new gcp.secretmanager.SecretVersion(
        name,
        { secret: secret.id, secretData: value },
        { parent: this },
      );
      this.fillCommand = undefined;
      this.value = value;
      // Readers reference the secret once it holds its value.
      this.ref = {
        kind: "gcp-secretmanager",
        secretId: pulumi.all([secret.secretId, version.id]).apply(([id]) => id),
        project,
      };
    }
    this.registerOutputs({ secretId: this.secretId });
  }
}
