/** A hosted LLM (llm.mode managed), the same on every cloud: no GPU, an API key the operator stores. */
import * as pulumi from "@pulumi/pulumi";
import type { LlmEndpoint, SecretRef } from "../../components/contracts";
import type { LlmRequest } from "./platform";

/** Default endpoints and embedding choices of the hosted LLM providers. */
export const MANAGED_LLM = {
  openai: { provider: "openai", baseUrl: "https://api.openai.com/v1", embeddingProvider: "openai", embeddingModel: "text-embedding-3-small" },
  "openai-compatible": { provider: "openai", baseUrl: undefined, embeddingProvider: "openai", embeddingModel: undefined },
  "azure-openai": { provider: "openai", baseUrl: undefined, embeddingProvider: "openai", embeddingModel: undefined },
  anthropic: { provider: "anthropic", baseUrl: "https://api.anthropic.com", embeddingProvider: "local", embeddingModel: "local-hashed-ngrams" },
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
