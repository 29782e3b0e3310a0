/**
 * Where a model server's weights come from, shared by the servers that load them (vLLM, the
 * embeddings server): the Hugging Face hub (a token as a file, a pinned revision) or a copy
 * fetched onto the model volume by an init container before the server starts.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { CONTAINER_SECURITY, resources } from "./pod-security";

/** The weights' origin. */
export type ModelWeights =
  | {
      /** The Hugging Face hub: `repo` (the model's id by default) at `revision`, the token read from a file. */
      readonly kind: "hub";
      /** The Secret holding the Hugging Face token (gated or private repositories) and its key. */
      readonly token: { readonly secretName: pulumi.Input<string>; readonly key: string };
      /** @default - the model's id */
      readonly repo?: string;
      /** A commit of the repository. @default - the default branch's head */
      readonly revision?: string;
    }
  | {
      /** Copied onto the model volume by an init container (`command` writes WEIGHTS_DIR). */
      readonly kind: "fetched";
      /** A pinned image with the copying tool. */
      readonly image: string;
      readonly command: readonly string[];
      /** What the copy is of, for readers of the pod (an annotation). */
      readonly from: string;
    };

/** Where a fetched copy of the weights lives, on the model volume. */
export const WEIGHTS_DIR = "/models/weights";
/** Where a server mounts the Hugging Face token's Secret. */
export const HF_TOKEN_DIR = "/var/run/secrets/huggingface";

/** The init container copying the weights onto the model volume before the server starts. */
export function fetchContainer(
  weights: Extract<ModelWeights, { kind: "fetched" }>,
): k8s.types.input.core.v1.Container {
  return {
    name: "fetch-weights",
    image: weights.image,
    command: [...weights.command],
    env: [{ name: "HOME", value: "/tmp" }],
    resources: resources({ cpuMillicores: 1000, memoryMiB: 1024 }),
    securityContext: CONTAINER_SECURITY,
    volumeMounts: [
      { name: "tmp", mountPath: "/tmp" },
      { name: "model-cache", mountPath: "/models" },
    ],
  };
}

/**
 * The model a server loads and what pins it: the hub's repository (the model's id by default) at
 * its revision, or the fetched copy (a local directory, loaded as is). No weights: the public hub
 * under the model's id.
 */
export function modelArgs(model: string, weights: ModelWeights | undefined): string[] {
  switch (weights?.kind) {
    case undefined:
      return [model];
    case "hub":
      return [weights.repo ?? model, ...(weights.revision ? ["--revision", weights.revision] : [])];
    case "fetched":
      return [WEIGHTS_DIR];
    default: {
      const unreachable: never = weights;
      throw new Error(`unknown weights ${String(unreachable)}`);
    }
  }
}
