/** Ollama pieces shared by every place we run it (Docker, Kubernetes, a GPU host). */
import type * as pulumi from "@pulumi/pulumi";
import type { LlmEndpoint } from "../contracts";

/** One Ollama server answers both generation and embeddings. */
export function ollamaEndpoint(baseUrl: pulumi.Output<string>, model: string, embeddingModel: string): LlmEndpoint {
  return { provider: "ollama", baseUrl, model, embeddingProvider: "ollama", embeddingBaseUrl: baseUrl, embeddingModel };
}

const MODEL_REF = /^[a-z0-9][a-z0-9._/-]*(:[a-zA-Z0-9._-]+)?$/;

/** Throws, naming the owner, when a model is not an Ollama model reference. */
export function assertOllamaModels(owner: string, models: readonly string[]): void {
  for (const m of models) {
    if (!MODEL_REF.test(m)) throw new Error(`${owner}: "${m}" is not an Ollama model reference such as llama3.1:8b`);
  }
}

/** The start script: serve, then pull each model once (the model cache volume keeps them). */
export function ollamaStartScript(models: readonly string[]): string {
  return [
    "#!/bin/sh",
    "set -eu",
    "ollama serve &",
    "server=$!",
    "until ollama list >/dev/null 2>&1; do sleep 1; done",
    ...models.map((m) => `ollama show ${m} >/dev/null 2>&1 || ollama pull ${m}`),
    'wait "$server"',
    "",
  ].join("\n");
}

/** A shell test that succeeds once every model is present (health and readiness checks). */
export function ollamaModelsPresent(models: readonly string[]): string {
  return models.map((m) => `ollama show ${m} >/dev/null`).join(" && ");
}
