/**
 * Every pinned version the program deploys, in one place. Bump here; nothing else pins.
 * Images carry exact tags (never `latest`, never a moving major tag).
 */
/** Ollama release: the dev image tag and the version installed on GPU hosts. */
export const OLLAMA_VERSION = "0.6.5";

export const IMAGES = {
  postgres: "pgvector/pgvector:0.8.0-pg16",
  redis: "redis:7.4.2-alpine3.21",
  qdrant: "qdrant/qdrant:v1.13.4",
  ollama: `ollama/ollama:${OLLAMA_VERSION}`,
} as const;

/** The runtime image's base (runtime/Dockerfile's ARG NODE_IMAGE default must match). */
export const RUNTIME_BASE_IMAGE = "node:20.19.0-bookworm-slim";
