/**
 * sme: production for small and medium businesses on managed Kubernetes (EKS on AWS), with
 * managed Postgres and Redis, Qdrant and vLLM on the cluster (a GPU pool), SSO and OpenTelemetry.
 * The services and contracts are those of every tier; the platform and the presets differ.
 */
export { composeStandardTier as smeTier } from "./core";
