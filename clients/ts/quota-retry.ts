import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Response metadata of a RESOURCE_EXHAUSTED quota error: milliseconds to wait before retrying
 * (gRPC's retry pushback key; the gateway sends it as a header, with `retry-after` in seconds).
 */
export const RETRY_PUSHBACK_KEY = "grpc-retry-pushback-ms";

/**
 * The delay a RESOURCE_EXHAUSTED error asks for (`grpc-retry-pushback-ms`), or undefined for
 * any other error: a refusal without that delay (a payload over its limit) is final.
 */
export function quotaRetryDelayMs(error: unknown): number | undefined {
  if (!(error instanceof ConnectError) || error.code !== Code.ResourceExhausted) return undefined;
  const text = error.metadata.get(RETRY_PUSHBACK_KEY);
  if (text === null || !/^\d{1,9}$/.test(text.trim())) return undefined;
  return Number(text);
}

/** How a call retries after a quota refusal. */
export interface QuotaRetryOptions {
  /** Most time spent waiting in total, ms; 0 never retries. */
  maxWaitMs: number;
  /** Aborts the wait (the call then fails with the last error). */
  signal?: AbortSignal;
  /** Told before each wait. */
  onWait?: (delayMs: number, error: ConnectError) => void;
}

/**
 * Runs `call`; when the server refuses it for a quota with a retry delay (nothing was
 * written), waits that delay and calls again, while the total wait stays within `maxWaitMs`.
 */
export async function withQuotaRetry<T>(call: () => Promise<T>, options: QuotaRetryOptions): Promise<T> {
  let waited = 0;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      const delayMs = quotaRetryDelayMs(error);
      if (delayMs === undefined || waited + delayMs > options.maxWaitMs || options.signal?.aborted) throw error;
      options.onWait?.(delayMs, error as ConnectError);
      waited += delayMs;
      await sleep(delayMs, options.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
