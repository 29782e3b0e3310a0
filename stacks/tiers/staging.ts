/**
 * staging: end-to-end validation on a light container orchestrator (ECS Fargate on AWS), with
 * managed Postgres and Redis, one GPU host for the LLM (or a hosted API) and basic
 * observability. The services and contracts are dev's; the platform and the presets differ.
 */
export { composeStandardTier as stagingTier } from "./core";
