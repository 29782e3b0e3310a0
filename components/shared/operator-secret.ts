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

/** The stack output `secretsToFill`: each operator-filled secret's fill command, by name. */
export function fillCommands(
  secrets: Readonly<Record<string, { readonly fillCommand: pulumi.Input<string> | undefined }>>,
): Record<string, pulumi.Input<string> | undefined> {
  return Object.fromEntries(Object.entries(secrets).map(([name, s]) => [name, s.fillCommand]));
}

export function secretNotFilled(secret: OperatorSecret): SecretNotFilledError {
  return new SecretNotFilledError(
    `the secret ${secret.name} (${secret.description}) has no value yet; fill it, then run pulumi up again: ${secret.fillCommand}`,
  );
}

/**
 * Resolves once `lookup` finds the secret. A lookup the cloud answers "not found" (404) fails with
 * the command that fills it; any other failure (no access, the vault unreachable) is passed on as
 * it is, not mistaken for an empty secret.
 */
export async function requireFilled(
  lookup: () => Promise<unknown>,
  secret: OperatorSecret,
): Promise<void> {
  try {
    await lookup();
  } catch (error) {
    if (/\b404\b|not ?found/i.test(error instanceof Error ? error.message : String(error)))
      throw secretNotFilled(secret);
    throw error;
  }
}
