/**
 * What a tier takes as a hosted service instead of running it, the same on every cloud and
 * tier: a hosted LLM (llm.mode managed) and a hosted vector store (pgvector in the managed
 * database, or Qdrant Cloud), each with an API key the operator stores in the cloud's secret
 * manager.
 */
import * as pulumi from "@pulumi/pulumi";
import type { LlmEndpoint, SecretRef, VectorDbEndpoint } from "../../components/contracts";
import type { DataServices, LlmRequest, VectorDbRequest } from "./platform";

/** Default endpoints and embedding choices of the hosted LLM providers. */
export const MANAGED_LLM = {
  openai: {
    provider: "openai",
    baseUrl: "https://api.openai.com/v1",
    embeddingProvider: "openai",
    embeddingModel: "text-embedding-3-small",
  },
  "openai-compatible": {
    provider: "openai",
    baseUrl: undefined,
    embeddingProvider: "openai",
    embeddingModel: undefined,
  },
  "azure-openai": {
    provider: "openai",
    baseUrl: undefined,
    embeddingProvider: "openai",
    embeddingModel: undefined,
  },
  anthropic: {
    provider: "anthropic",
    baseUrl: "https://api.anthropic.com",
    embeddingProvider: "local",
    embeddingModel: "local-hashed-ngrams",
  },
} as const;

/** The runtime's endpoint for a hosted LLM whose key is `apiKey` (an operator-filled secret). */
export function managedLlmEndpoint(req: LlmRequest, apiKey: SecretRef): LlmEndpoint {
  const spec = MANAGED_LLM[req.managedProvider!];
  const baseUrl = req.managedBaseUrl ?? spec.baseUrl!;
  return {
    provider: spec.provider,
    baseUrl: pulumi.output(baseUrl),
    model: req.model,
    embeddingProvider: spec.embeddingProvider,
    embeddingBaseUrl: spec.embeddingProvider === "openai" ? pulumi.output(baseUrl) : undefined,
    embeddingModel: spec.embeddingModel ?? req.embeddingModel,
    apiKey,
  };
}

/** Where a platform keeps the keys of hosted services: the cloud's secret manager. */
type KeyHolder = Pick<DataServices, "externalSecret">;

/** An operator-filled key, named the same on every cloud. */
function operatorKey(holder: KeyHolder, name: string, description: string): SecretRef {
  const ref = holder.externalSecret(name, description);
  if (!ref) throw new Error(`${name}: this platform has no secret manager to hold it`);
  return ref;
}

/**
 * The LLM a tier runs: the platform's own servers (`selfHosted`: a GPU host, or model servers on
 * the cluster), or a hosted LLM whose key the operator fills (asked for only then).
 */
export function llmFor(
  req: LlmRequest,
  holder: KeyHolder,
  selfHosted: () => LlmEndpoint,
): LlmEndpoint {
  switch (req.mode) {
    case "self-hosted":
      return selfHosted();
    case "managed":
      return managedLlmEndpoint(
        req,
        operatorKey(holder, "llm-api-key", `API key for the hosted LLM (${req.managedProvider})`),
      );
    default: {
      const unreachable: never = req.mode;
      throw new Error(`unknown LLM mode ${String(unreachable)}`);
    }
  }
}

/**
 * The vector store a tier uses: pgvector in the managed database, Qdrant Cloud with the key the
 * operator fills (asked for only then), or a Qdrant of the platform's own (`selfHosted`; the
 * Kubernetes tiers only: the config schema refuses it elsewhere).
 */
export function vectorDbFor(
  req: VectorDbRequest,
  holder: KeyHolder,
  selfHosted?: () => VectorDbEndpoint,
): VectorDbEndpoint {
  switch (req.mode) {
    case "pgvector":
      return { kind: "pgvector" };
    case "qdrant-cloud":
      return {
        kind: "qdrant",
        url: pulumi.output(req.qdrantCloudUrl!),
        apiKey: operatorKey(
          holder,
          "qdrant-cloud-api-key",
          "Qdrant Cloud API key (from the Qdrant Cloud console)",
        ),
        collection: req.collection,
      };
    case "qdrant":
      if (!selfHosted)
        throw new Error(
          "a self-hosted Qdrant runs on Kubernetes (sme, enterprise); the config schema refuses it here",
        );
      return selfHosted();
    default: {
      const unreachable: never = req.mode;
      throw new Error(`unknown vector DB mode ${String(unreachable)}`);
    }
  }
}
