/** Ollama pieces shared by every place we run it (Docker, Kubernetes, a GPU host). */
import type * as pulumi from "@pulumi/pulumi";
import type { LlmEndpoint } from "../contracts";

/** Ollama's API port, on every platform. */
export const OLLAMA_PORT = 11434;

/** One Ollama server answers both generation and embeddings. */
export function ollamaEndpoint(
  baseUrl: pulumi.Output<string>,
  model: string,
  embeddingModel: string,
): LlmEndpoint {
  return {
    provider: "ollama",
    baseUrl,
    model,
    embeddingProvider: "ollama",
    embeddingBaseUrl: baseUrl,
    embeddingModel,
  };
}

const MODEL_REF = /^[a-z0-9][a-z0-9._/-]*(:[a-zA-Z0-9._-]+)?$/;

/** Throws, naming the owner, when a model is not an Ollama model reference. */
export function assertOllamaModels(owner: string, models: readonly string[]): void {
  for (const m of models) {
    if (!MODEL_REF.test(m))
      throw new Error(`${owner}: "${m}" is not an Ollama model reference such as llama3.1:8b`);
  }
}

/** Seconds between attempts at a model pull that failed (the registry or the network away). */
export const PULL_RETRY_SECONDS = 5;

/**
 * How long Ollama keeps a model loaded after its last request (its default is 5 minutes): a
 * quiet half hour, not a few minutes, before the next question pays for loading the weights again.
 */
export const OLLAMA_KEEP_ALIVE = "30m";

/**
 * The start script, the container's PID 1: serve, then pull each model that is not there yet
 * (the model cache volume keeps them), retrying a failed pull until it succeeds. PID 1 ignores
 * SIGTERM unless it handles it, so the script passes it on to the server and waits for it to
 * finish; pulls run in the background so a stop is answered at once. A server that dies while
 * starting ends the script (the container restarts).
 */
export function ollamaStartScript(models: readonly string[]): string {
  return [
    "#!/bin/sh",
    "set -eu",
    "ollama serve &",
    "server=$!",
    'stopping=""',
    "trap 'stopping=1; kill -TERM \"$server\" 2>/dev/null || true' TERM INT",
    'until ollama list >/dev/null 2>&1; do kill -0 "$server" 2>/dev/null || exit 1; sleep 1; done',
    "(",
    ...models.map(
      (m) =>
        `  until ollama show ${m} >/dev/null 2>&1 || ollama pull ${m}; do sleep ${PULL_RETRY_SECONDS}; done`,
    ),
    ") &",
    "status=0",
    'wait "$server" || status=$?',
    // A signal ends that wait early: wait again, for the server itself to finish, and take its status.
    'if [ -n "$stopping" ]; then status=0; wait "$server" || status=$?; fi',
    'exit "$status"',
    "",
  ].join("\n");
}

/** A shell test that succeeds once every model is present (health and readiness checks). */
export function ollamaModelsPresent(models: readonly string[]): string {
  return models.map((m) => `ollama show ${m} >/dev/null`).join(" && ");
}

/**
 * The boot script of a GPU host (EC2 user data, an Azure VM's custom script): install the pinned
 * Ollama (it finds the NVIDIA driver the image or an earlier extension installed), serve on every
 * interface (the host's security group or NSG admits only the platform's services), keep models
 * loaded as OLLAMA_KEEP_ALIVE says, then pull each model.
 */
export function ollamaHostScript(version: string, models: readonly string[]): string {
  return [
    "#!/bin/bash",
    "set -euo pipefail",
    // cloud-init runs this without HOME, and the ollama CLI panics without it ("$HOME is not defined").
    "export HOME=/root",
    `curl -fsSL https://ollama.com/install.sh | OLLAMA_VERSION=${version} sh`,
    "mkdir -p /etc/systemd/system/ollama.service.d",
    "cat >/etc/systemd/system/ollama.service.d/override.conf <<'CONF'",
    "[Service]",
    `Environment="OLLAMA_HOST=0.0.0.0:${OLLAMA_PORT}"`,
    `Environment="OLLAMA_KEEP_ALIVE=${OLLAMA_KEEP_ALIVE}"`,
    "CONF",
    "systemctl daemon-reload",
    "systemctl enable --now ollama",
    `until curl -sf http://127.0.0.1:${OLLAMA_PORT}/api/version >/dev/null; do sleep 2; done`,
    ...models.map((m) => `ollama pull ${m}`),
    "",
  ].join("\n");
}
