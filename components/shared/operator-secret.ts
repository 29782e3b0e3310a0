/** Secrets the operator fills after the first deployment (third-party keys), on every cloud. */
import * as pulumi from "@pulumi/pulumi";

/**
 * A secret the operator must fill has no value yet: what it is, and the command that fills it.
 * A RunError, so `pulumi up` prints the message alone, without a stack trace.
 */
export class SecretNotFilledError extends pulumi.RunError {}

export interface OperatorSecret {
  readonly name: string;
  readonly description: string;
  /** How the operator fills it: a command reading the value from a file, never from the command line. */
  readonly fillCommand: string;
}

export function secretNotFilled(secret: OperatorSecret): SecretNotFilledError {
  return new SecretNotFilledError(`the secret ${secret.name} (${secret.description}) has no value yet; fill it, then run pulumi up again: ${secret.fillCommand}`);
}
