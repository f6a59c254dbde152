/** Polling with a deadline, for the local services' start-up checks and the tests' waits. */

/** Raised when a {@link waitFor} deadline (or the tests' `waitForEvent`) passes. */
export class WaitTimeoutError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WaitTimeoutError";
  }
}

/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** Deadline, in milliseconds from the call. */
  timeoutMs: number;
  /** Pause between checks. Default 10 ms. */
  intervalMs?: number;
  /** What was awaited, for the timeout error, e.g. "task t1 to be SUCCEEDED". */
  message: string;
}

/**
 * Re-checks `predicate` until it returns a truthy value, and resolves with that value.
 * A throwing predicate counts as "not yet" (its last error is reported). Fails with
 * {@link WaitTimeoutError} naming `message` once `timeoutMs` has passed.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options: WaitForOptions,
): Promise<Exclude<T, false | 0 | "" | null | undefined>> {
  const deadline = Date.now() + options.timeoutMs;
  const intervalMs = options.intervalMs ?? 10;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as Exclude<T, false | 0 | "" | null | undefined>;
    } catch (error) {
      lastError = error;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const detail = lastError === undefined ? "" : ` (last error: ${(lastError as Error).message ?? String(lastError)})`;
      throw new WaitTimeoutError(`timed out after ${options.timeoutMs} ms waiting for ${options.message}${detail}`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, remaining)));
  }
}
