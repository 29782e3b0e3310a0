/**
 * dev: fast iteration on one machine. The docker-compose shape of TIERS.md: Postgres (pgvector),
 * Redis, Qdrant, Ollama with light models, the API and the ingest worker. What differs from
 * staging is configuration (presets) and the platform, not the composition.
 */
export { composeStandardTier as devTier } from "./core";
