/**
 * What the runtime image (runtime/Dockerfile) offers every platform: its two processes, the
 * ports they listen on, and the unprivileged user it runs as. Docker, ECS and Kubernetes all
 * read these, so the image and its deployments cannot disagree.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ApiEndpoint } from "../contracts";
import {
  ENV,
  MODEL_TIMEOUT_DEFAULTS,
  STARTUP_TIMEOUT_DEFAULT_SECONDS,
} from "../../runtime/src/config";
import { MODEL_RETRIES } from "../../runtime/src/models/fetch";
import { RERANK_TIMEOUT_MS } from "../../runtime/src/search/rerank";

/** The official Node.js image's `node` user. */
export const RUNTIME_UID = 1000;

/**
 * `stopGraceSeconds`: how long the platform waits after SIGTERM before it kills the process
 * (ECS stopTimeout, at most 120 on Fargate; Kubernetes terminationGracePeriodSeconds; Docker's
 * stop timeout). The process gives itself 10 s less (SHUTDOWN_TIMEOUT_SECONDS) to finish what it
 * is doing: requests for the API, the documents being indexed for the worker.
 */
export const RUNTIME_PROCESSES = {
  /** The HTTP API; `metricsPort` serves its /metrics apart from the load-balanced port (METRICS_PORT). */
  api: { command: ["node", "dist/server.js"], port: 8080, metricsPort: 8081, stopGraceSeconds: 30 },
  /** The ingest worker; `port` serves its liveness and metrics (WORKER_HEALTH_PORT). */
  worker: { command: ["node", "dist/worker.js"], port: 8081, stopGraceSeconds: 120 },
} as const;

/**
 * Whether an API replica should get traffic: started (a replica still waiting for its backends
 * answers 503 here, 200 on /healthz) and able to reach its database. Load balancer health checks
 * and readiness probes ask this, not /healthz, so a rollout never trades serving replicas for
 * starting ones; and not every backend, so an outage of one the service degrades around (Redis,
 * the object store, the vector index) does not take every replica out at once.
 */
export const API_READINESS_PATH = "/readyz?check=database";

/**
 * The API served at `url`, with the readiness URL a global router checks: on the region's own
 * address (`regionalUrl`), not a name the router itself may answer. A note such as
 * "(pending: ...)" in place of a URL stays as it is.
 */
export function apiEndpointAt(
  url: pulumi.Input<string>,
  regionalUrl: pulumi.Input<string> = url,
): ApiEndpoint {
  const healthCheckUrl = pulumi
    .output(regionalUrl)
    .apply((u) => (/^https?:\/\//.test(u) ? `${u}${API_READINESS_PATH}` : u));
  return { url: pulumi.output(url), healthCheckUrl };
}

/**
 * How long a platform lets a new API replica fail its load balancer's health check before it
 * replaces it (ECS's health check grace period): as long as the runtime waits for its backends
 * at start (a fresh GPU host installing Ollama and pulling the embedding model takes minutes),
 * and a minute more for the balancer to see it healthy. Meanwhile /healthz answers 200, and a
 * process whose wait ran out exits, which the platform counts as a failure at once.
 */
export const API_STARTUP_GRACE_SECONDS = STARTUP_TIMEOUT_DEFAULT_SECONDS + 60;

/**
 * How long the API's load balancer keeps a connection on which no byte moves (the ALB's idle
 * timeout). A non-streamed POST /v1/query sends nothing until its answer is ready, which with the
 * runtime's default bounds takes at most two tries at the question's embedding, the reranker and
 * two tries at generation; a margin covers the database. Less, and the balancer would cut a slow
 * answer with a 504 the runtime never sees.
 */
export const API_IDLE_TIMEOUT_SECONDS = answerBoundSeconds(MODEL_TIMEOUT_DEFAULTS);

/** The longest a non-streamed answer can take with these model timeouts (each tried twice), plus a margin for the database. */
export function answerBoundSeconds(timeouts: {
  readonly embeddingSeconds: number;
  readonly llmSeconds: number;
}): number {
  return (
    (MODEL_RETRIES + 1) * (timeouts.embeddingSeconds + timeouts.llmSeconds) +
    RERANK_TIMEOUT_MS / 1000 +
    30
  );
}

/**
 * Model timeouts (EMBEDDING_TIMEOUT_SECONDS, LLM_TIMEOUT_SECONDS) for a platform whose load
 * balancer cuts idle connections after a fixed time it will not raise (Container Apps: 240 s):
 * the defaults scaled down in proportion until the longest answer fits (answerBoundSeconds).
 */
export function modelTimeoutsWithin(idleTimeoutSeconds: number): {
  embeddingSeconds: number;
  llmSeconds: number;
} {
  const perAttempt = (idleTimeoutSeconds - RERANK_TIMEOUT_MS / 1000 - 30) / (MODEL_RETRIES + 1);
  const scale = Math.min(
    1,
    perAttempt / (MODEL_TIMEOUT_DEFAULTS.embeddingSeconds + MODEL_TIMEOUT_DEFAULTS.llmSeconds),
  );
  const timeouts = {
    embeddingSeconds: Math.floor(MODEL_TIMEOUT_DEFAULTS.embeddingSeconds * scale),
    llmSeconds: Math.floor(MODEL_TIMEOUT_DEFAULTS.llmSeconds * scale),
  };
  if (timeouts.embeddingSeconds < 5 || timeouts.llmSeconds < 5)
    throw new Error(
      `an idle timeout of ${idleTimeoutSeconds} s leaves the models under 5 s to answer`,
    );
  return timeouts;
}

/**
 * How long an API replica taken out of service (a rollout, a scale-in) keeps the requests it holds:
 * as long as one can last behind the load balancer (API_IDLE_TIMEOUT_SECONDS), so that a rollout
 * never cuts an answer a client is waiting for. On ECS the target group drains the replica this
 * long at most before ECS sends SIGTERM (its deregistration delay); Kubernetes sends SIGTERM
 * whatever the balancer does, so there the process itself waits this long (its shutdown
 * deadline, inside the pod's grace period) and the target group keeps its connections as long.
 */
export const API_DRAIN_LIMIT_SECONDS = API_IDLE_TIMEOUT_SECONDS;

/**
 * What each process is told about its platform: its shutdown deadline inside the platform's
 * grace period (`stopGraceSeconds`, the process's own unless the platform gives it another) and,
 * for the API, to keep idle connections open longer than its load balancer does (so the balancer
 * never sends a request down a connection the API is closing: a 502).
 */
export function processEnv(
  process: keyof typeof RUNTIME_PROCESSES,
  stopGraceSeconds: number = RUNTIME_PROCESSES[process].stopGraceSeconds,
): Record<string, string> {
  return {
    [ENV.shutdownTimeoutSeconds]: String(stopGraceSeconds - 10),
    ...(process === "api"
      ? { [ENV.httpKeepAliveSeconds]: String(API_IDLE_TIMEOUT_SECONDS + 5) }
      : {}),
  };
}

/**
 * Where a platform that mounts secrets as files (Kubernetes, Container Apps) puts them. Each
 * secret reaches the runtime as a file it names with `<NAME>_FILE`, never as an environment value
 * (which leaks into process listings, crash reports and child processes); a database password
 * given so (PGPASSWORD_FILE) is read again for every new connection.
 */
export const SECRETS_DIR = "/run/secrets/rag";

/** Waiting documents per worker replica the autoscalers aim for (KEDA on Kubernetes, target tracking on ECS). */
export const QUEUE_DEPTH_PER_WORKER = 20;

/** The one-off re-embedding run after a change of embedding model (runtime/src/reembed.ts), with the worker's environment. */
export const REEMBED_COMMAND = ["node", "dist/reembed.js"] as const;

/** Makes the database users the workloads sign in as with IAM tokens (runtime/src/bootstrap-db-users.ts), with the master's password; the users follow. */
export const BOOTSTRAP_DB_USERS_COMMAND = ["node", "dist/bootstrap-db-users.js"] as const;
