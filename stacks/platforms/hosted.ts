/**
 * What a tier takes as a hosted service instead of running it, the same on every cloud: a hosted
 * LLM (llm.mode managed) and staging's vector store (pgvector in the managed database, or Qdrant
 * Cloud), each with an API key the operator stores in the cloud's secret manager.
 */
import * as pulumi from "@pulumi/pulumi";
import type { LlmEndpoint, SecretRef, VectorDbEndpoint } from "../../components/contracts";
import type { LlmRequest, VectorDbRequest } from "./platform";

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

/** The hosted LLM's key, a secret the operator fills, named the same on every cloud. */
export function llmApiKeySecret(req: LlmRequest): {
  readonly name: string;
  readonly description: string;
} {
  return {
    name: "llm-api-key",
    description: `API key for the hosted LLM (${req.managedProvider})`,
  };
}

/**
 * Staging's LLM: Ollama on the cloud's GPU host (`gpuHost`), or a hosted LLM whose key
 * `apiKey` gives (asked for only then).
 */
export function stagingLlm(
  req: LlmRequest,
  gpuHost: () => LlmEndpoint,
  apiKey: (name: string, description: string) => SecretRef,
): LlmEndpoint {
  switch (req.mode) {
    case "self-hosted":
      return gpuHost();
    case "managed": {
      const key = llmApiKeySecret(req);
      return managedLlmEndpoint(req, apiKey(key.name, key.description));
    }
    default: {
      const unreachable: never = req.mode;
      throw new Error(`unknown LLM mode ${String(unreachable)}`);
    }
  }
}

/** Staging's vector store: pgvector, or Qdrant Cloud with the key `qdrantCloudKey` gives (asked for only then). */
export function stagingVectorDb(
  req: VectorDbRequest,
  qdrantCloudKey: () => SecretRef,
): VectorDbEndpoint {
  switch (req.mode) {
    case "pgvector":
      return { kind: "pgvector" };
    case "qdrant-cloud":
      return {
        kind: "qdrant",
        url: pulumi.output(req.qdrantCloudUrl!),
        apiKey: qdrantCloudKey(),
        collection: req.collection,
      };
    case "qdrant":
      throw new Error(
        "a self-hosted Qdrant runs on Kubernetes (sme, enterprise); the config schema refuses it for staging",
      );
    default: {
      const unreachable: never = req.mode;
      throw new Error(`unknown vector DB mode ${String(unreachable)}`);
    }
  }
}

/** The name and description of the Qdrant Cloud key the operator fills. */
export const QDRANT_CLOUD_KEY = {
  name: "qdrant-cloud-api-key",
  description: "Qdrant Cloud API key (from the Qdrant Cloud console)",
} as const;
