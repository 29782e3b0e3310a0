/**
 * How the runtime waits on a model server (generation, embeddings): a bounded time for the
 * response to start, and one retry. The SDKs' defaults (10 minutes, two retries) would hold a
 * user's request, or an ingest job, far past any load balancer's patience.
 */
import { setTimeout as sleep } from "node:timers/promises";

/** Retries of a model request that failed to connect, timed out or answered 408/409/429/5xx (a user is waiting). */
export const MODEL_RETRIES = 1;

/** The wait before a retry (the OpenAI and Anthropic SDKs start from half a second too). */
export const MODEL_RETRY_DELAY_MS = 500;

/** What the OpenAI and Anthropic SDKs retry besides connection failures and timeouts. */
function retryable(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * `fetch` that gives up when the response has not started within `ms` (its headers: a streamed
 * answer may then take as long as it takes), and tries `retries` more times, as the OpenAI and
 * Anthropic SDKs do, when the connection failed, the time ran out or the server answered a
 * retryable status. For the clients without such options (Ollama's); the request body must be
 * re-sendable (a string or bytes, as JSON clients send). `cancel` aborts it all, the answer's
 * body included (the user went away).
 */
export function fetchStartingWithin(
  ms: number,
  retries = MODEL_RETRIES,
  cancel?: AbortSignal,
): typeof fetch {
  const once: typeof fetch = async (input, init) => {
    const timeout = new AbortController();
    const timer = setTimeout(
      () =>
        timeout.abort(new Error(`the model server did not start answering within ${ms / 1000} s`)),
      ms,
    );
    const signals = [init?.signal, cancel, timeout.signal].filter((s): s is AbortSignal =>
      Boolean(s),
    );
    try {
      return await fetch(input, { ...init, signal: AbortSignal.any(signals) });
    } finally {
      clearTimeout(timer);
    }
  };
  return async (input, init) => {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= retries;
      try {
        const response = await once(input, init);
        if (last || !retryable(response.status)) return response;
        await response.body?.cancel();
      } catch (error) {
        // The caller's own abort (a client gone) is not retried.
        if (last || init?.signal?.aborted || cancel?.aborted) throw error;
      }
      await sleep(MODEL_RETRY_DELAY_MS);
    }
  };
}
