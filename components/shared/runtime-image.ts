/**
 * What the runtime image (runtime/Dockerfile) offers every platform: its two processes, the
 * ports they listen on, and the unprivileged user it runs as. Docker, ECS and Kubernetes all
 * read these, so the image and its deployments cannot disagree.
 */

/** The official Node.js image's `node` user. */
export const RUNTIME_UID = 1000;

export const RUNTIME_PROCESSES = {
  /** The HTTP API. */
  api: { command: ["node", "dist/server.js"], port: 8080 },
  /** The ingest worker; `port` serves its liveness and metrics (WORKER_HEALTH_PORT). */
  worker: { command: ["node", "dist/worker.js"], port: 8081 },
} as const;

/** The one-off re-embedding run after a change of embedding model (runtime/src/reembed.ts), with the worker's environment. */
export const REEMBED_COMMAND = ["node", "dist/reembed.js"] as const;
