/**
 * What every GCP component shares: where resources go (the project, the region, labels), the
 * APIs they wait for, and the IAM member helper.
 */
import * as pulumi from "@pulumi/pulumi";

/** The project, region and labels each GCP component creates its resources in. */
export interface GcpScope {
  readonly project: string;
  /** The project's number (service agents are named by it). */
  readonly projectNumber: pulumi.Input<string>;
  /** The region, e.g. europe-west1. */
  readonly region: string;
  readonly labels: Readonly<Record<string, string>>;
  /**
   * A short lowercase suffix, the same for the whole stack, for names GCP requires to be unique
   * beyond the project (buckets) or forbids reusing for a while after deletion (Cloud SQL instances).
   */
  readonly uniqueSuffix: pulumi.Input<string>;
  /** The project's APIs, enabled: everything that calls one waits for these. */
  readonly apis: readonly pulumi.Resource[];
}

/** An IAM member for a service account's email. */
export function serviceAccountMember(email: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.output(email).apply((e) => `serviceAccount:${e}`);
}

/** A name with the stack's unique suffix, cut to `maxLength` (GCP names: lowercase letters, digits, dashes). */
export function uniqueName(
  prefix: string,
  suffix: pulumi.Input<string>,
  maxLength: number,
): pulumi.Output<string> {
  return pulumi.output(suffix).apply((s) => `${prefix.slice(0, maxLength - s.length - 1)}-${s}`);
}
