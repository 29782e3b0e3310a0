import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SecretRef } from "../contracts";
import { secretNotFilled } from "../shared/operator-secret";
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
  /**
   * Regions that hold a read-only replica, each encrypted with its key there (the multi-region
   * key's replica): readers in a region read its replica, which outlives the primary region.
   * @default - none
   */
  readonly replicas?: readonly {
    readonly region: string;
    readonly kmsKeyId: pulumi.Input<string>;
  }[];
}

/** The ARN of a secret's replica in `region` (a replica keeps the secret's name and suffix). */
export function replicaArn(arn: pulumi.Input<string>, region: string): pulumi.Output<string> {
  return pulumi.output(arn).apply((a) =>
    a
      .split(":")
      .map((part, i) => (i === 3 ? region : part))
      .join(":"),
  );
}

/** Passes when a secret's versions include the current one (a secret created empty has none). */
export function requireCurrentValue(
  secret: { name: string; description: string; fillCommand: string },
  versions: readonly { versionStages?: readonly string[] }[],
): void {
  if (!versions.some((v) => v.versionStages?.includes("AWSCURRENT"))) {
    throw secretNotFilled(secret);
  }
}

/**
 * A Secrets Manager secret encrypted with our key; generated, or filled by the operator.
 *
 * The `ref` of an operator-filled secret resolves once the secret has a value. Whatever reads
 * the secret (an ECS task definition, an ExternalSecret, and what mounts the Secret it makes)
 * therefore waits for the check: an empty secret fails them at once with the command that fills
 * it, instead of a rollout timing out on a missing value half an hour later.
 */
export class ManagedSecret extends pulumi.ComponentResource {
  /** The secret's ARN, for grants (available before it has a value). */
  readonly arn: pulumi.Output<string>;
  /** The ARN as readers reference it: known once the secret holds a value. */
  readonly readableArn: pulumi.Output<string>;
  /** The secret as its readers reference it (`readableArn`). */
  readonly ref: SecretRef;
  /** The generated value (secret), when generated here. */
  readonly value: pulumi.Output<string> | undefined;
  /** How the operator fills this secret, when it is not generated. */
  readonly fillCommand: pulumi.Output<string> | undefined;

  constructor(name: string, args: ManagedSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rag:aws:Secret", name, {}, opts);
    let generatedArn: pulumi.Output<string> | undefined;
    const secret = new aws.secretsmanager.Secret(
      name,
      {
        namePrefix: `${name}-`,
        description: args.description,
        kmsKeyId: args.kmsKey.arn,
        recoveryWindowInDays: args.recoveryWindowDays ?? 7,
        ...(args.replicas?.length
          ? { replicas: args.replicas.map((r) => ({ region: r.region, kmsKeyId: r.kmsKeyId })) }
          : {}),
      },
      { parent: this },
    );
    if (args.generateLength !== undefined) {
      const generated = new random.RandomPassword(
        `${name}-value`,
        { length: args.generateLength, special: false },
        { parent: this },
      );
      this.value = pulumi.secret(generated.result);
      const version = new aws.secretsmanager.SecretVersion(
        `${name}-value`,
        { secretId: secret.id, secretString: this.value },
        { parent: this },
      );
      // Readers reference the secret once it holds its value.
      generatedArn = pulumi.all([secret.arn, version.id]).apply(([arn]) => arn);
      this.fillCommand = undefined;
    } else {
      this.value = undefined;
      // The value from a file (or /dev/stdin), never on the command line: it would stay in shell history and `ps`.
      this.fillCommand = pulumi.interpolate`aws secretsmanager put-secret-value --secret-id ${secret.arn} --secret-string file://<file holding the value>`;
    }
    this.arn = secret.arn;
    const fill = this.fillCommand;
    this.readableArn = fill
      ? pulumi
          .all([
            secret.arn,
            aws.secretsmanager.getSecretVersionsOutput({ secretId: secret.arn }, { parent: this })
              .versions,
            fill,
          ])
          .apply(([arn, versions, fillCommand]) => {
            requireCurrentValue({ name, description: args.description, fillCommand }, versions);
            return arn;
          })
      : (generatedArn ?? secret.arn);
    this.ref = { kind: "aws-secretsmanager", arn: this.readableArn };
    this.registerOutputs({ arn: this.arn });
  }
}
