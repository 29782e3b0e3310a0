/**
 * The cloud stand-in for offline synthesis: Pulumi's runtime mocks. A resource's state is its
 * inputs plus the few computed outputs the program reads (ids, digests, generated values).
 */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";

function digest(seed: string): string {
  return createHash("sha256").update(seed).digest("hex");
}

/** Computed outputs by resource type, derived from the name so synthesis is deterministic. */
const COMPUTED: Record<string, (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown>> = {
  "docker:index/remoteImage:RemoteImage": (a) => ({ imageId: `sha256:${digest(String(a.inputs.name))}` }),
  "docker:index/image:Image": (a) => ({ repoDigest: `sha256:${digest(String(a.inputs.imageName))}` }),
  "random:index/randomPassword:RandomPassword": (a) => ({ result: digest(a.name).slice(0, Number(a.inputs.length ?? 32)) }),
};

export function mockState(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
  const computed = COMPUTED[args.type]?.(args) ?? {};
  return { id: `${args.name}-id`, state: { ...args.inputs, ...computed } };
}

export function mockCall(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
  throw new Error(`synthesis has no mock for the data source ${args.token}; add one in tools/mocks.ts`);
}
