/**
 * What the runtime image (runtime/Dockerfile) offers every platform: its two processes, the
 * ports they listen on, and the unprivileged user it runs as. Docker, ECS and Kubernetes all
 * read these, so the image and its deployments cannot disagree.
 */
import { ENV } from "../../runtime/src/config";

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

/** The runtime's own shutdown deadline inside the platform's grace period, as the variable that sets it. */
export function shutdownEnv(process: keyof typeof RUNTIME_PROCESSES): Record<string, string> {
  return { [ENV.shutdownTimeoutSeconds]: String(RUNTIME_PROCESSES[process].stopGraceSeconds - 10) };
}

/** Waiting documents per worker replica the autoscalers aim for (KEDA on Kubernetes, target tracking on ECS). */
export const QUEUE_DEPTH_PER_WORKER = 20;

/** The one-off re-embedding run after a change of embedding model (runtime/src/reembed.ts), with the worker's environment. */
export const REEMBED_COMMAND = ["node", "dist/reembed.js"] as const;
