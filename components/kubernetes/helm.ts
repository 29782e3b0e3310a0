import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/** A chart pinned to an exact version in a named repository. */
export interface PinnedChart {
  readonly repo: string;
  readonly chart: string;
  readonly version: string;
}

const EXACT_VERSION = /^v?\d+\.\d+\.\d+$/;

/**
 * A Helm release `name` of a pinned chart: atomic, cleaned up on failure, never an unpinned
 * version. Its Pulumi name is `args.resourceName`, or the release's.
 */
export function pinnedRelease(
  name: string,
  chart: PinnedChart,
  args: {
    /** The Pulumi resource's name, where it must differ from the release's. @default name */
    resourceName?: string;
    namespace: pulumi.Input<string>;
    values: pulumi.Input<Record<string, unknown>>;
    createNamespace?: boolean;
    timeoutSec?: number;
  },
  opts: pulumi.CustomResourceOptions,
): k8s.helm.v3.Release {
  if (!EXACT_VERSION.test(chart.version))
    throw new Error(
      `${name}: chart ${chart.chart} must be pinned to an exact version, got "${chart.version}"`,
    );
  return new k8s.helm.v3.Release(
    args.resourceName ?? name,
    {
      name,
      chart: chart.chart,
      version: chart.version,
      repositoryOpts: { repo: chart.repo },
      namespace: args.namespace,
      createNamespace: args.createNamespace ?? false,
      values: args.values,
      atomic: true,
      cleanupOnFail: true,
      timeout: args.timeoutSec ?? 600,
      maxHistory: 10,
    },
    opts,
  );
}
