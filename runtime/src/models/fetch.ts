/**
 * How the runtime waits on a model server (generation, embeddings): a bounded time for the
 * response to start, and one retry. The SDKs' defaults (10 minutes, two retries) would hold a
 * user's request, or an ingest job, far past any load balancer's patience.
 */

/** Retries of a model request that failed to connect or answered 5xx/429 (a user is waiting). */
export const MODEL_RETRIES = 1;

/**
 * `fetch` that gives up when the response has not started within `ms` (its headers: a streamed
 * answer may then take as long as it takes). The SDKs of OpenAI and Anthropic time out the same way.
 */
export function fetchStartingWithin(ms: number): typeof fetch {
  return async (input, init) => {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`the model server did not start answering within ${ms / 1000} s`)), ms);
    try {
      return await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout.signal]) : timeout.signal });
    } finally {
      clearTimeout(timer);
    }
  };
}
