import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SecretRef } from "../contracts";
import type { KmsKey } from "./kms-key";

export interface ManagedSecretArgs {
  readonly description: string;
  readonly kmsKey: KmsKey;
  /**
   * Generate the value (random, alphanumeric) of this length. Without it the secret is created
   * empty and the operator puts the value (`aws secretsmanager put-secret-value`).
   * @default - no value: the operator fills it
   */
  readonly generateLength?: number;
  /** Days a deleted secret can be restored. @default 7 */
  readonly recoveryWindowDays?: number;
}

/** A Secrets Manager secret encrypted with our key; generated, or filled by the operator. */
export class ManagedSecret extends pulumi.ComponentResource {
  readonly arn: pulumi.Output<string>;
  readonly ref: SecretRef;
  /** The generated value (secret), when generated here. */
  readonly value: pulumi.Output<string> | undefined;
  /** How the operator fills this secret, when it is not generated. */
  readonly fillCommand: pulumi.Output<string> | undefined;

  constructor(name: string, args: ManagedSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:Secret", name, {}, opts);
    const secret = new aws.secretsmanager.Secret(
      name,
      { namePrefix: `${name}-`, description: args.description, kmsKeyId: args.kmsKey.arn, recoveryWindowInDays: args.recoveryWindowDays ?? 7 },
      { parent: this },
    );
    if (args.generateLength !== undefined) {
      const generated = new random.RandomPassword(`${name}-value`, { length: args.generateLength, special: false }, { parent: this });
      this.value = pulumi.secret(generated.result);
      new aws.secretsmanager.SecretVersion(`${name}-value`, { secretId: secret.id, secretString: this.value }, { parent: this });
      this.fillCommand = undefined;
    } else {
      this.value = undefined;
      // The value from a file (or /dev/stdin), never on the command line: it would stay in shell history and `ps`.
      this.fillCommand = pulumi.interpolate`aws secretsmanager put-secret-value --secret-id ${secret.arn} --secret-string file://<file holding the value>`;
    }
    this.arn = secret.arn;
    this.ref = { kind: "aws-secretsmanager", arn: secret.arn };
    this.registerOutputs({ arn: this.arn });
  }
}
