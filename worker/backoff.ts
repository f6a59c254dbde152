/** Options of {@link createBackoff}. */
export interface BackoffOptions {
  /** Delay before the first retry, in milliseconds. Default 100. */
  initialDelayMs?: number;
  /** Upper bound of any delay, in milliseconds. Default 5000. */
  maxDelayMs?: number;
  /** Random source in [0, 1), injectable for tests. Default Math.random. */
  random?: () => number;
}

/** Exponential back-off state: one instance per reconnect loop. */
export interface Backoff {
  /** Delay before the next attempt; each call doubles the base delay up to the cap. */
  next(): number;
  /** Number of delays handed out since the last reset. */
  readonly attempts: number;
  /** Starts again from the initial delay (call after a successful connection). */
  reset(): void;
}

/** Default initial delay of {@link createBackoff}, in milliseconds. */
export const DEFAULT_INITIAL_DELAY_MS = 100;
/** Default cap of {@link createBackoff}, in milliseconds. */
export const DEFAULT_MAX_DELAY_MS = 5_000;

/**
 * Creates an exponential back-off with "equal jitter": the n-th delay is drawn uniformly
 * from [d/2, d] where d = min(max, initial · 2ⁿ), so reconnecting workers spread out while
 * still waiting at least half the nominal delay.
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const initial = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const max = Math.max(initial, options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS);
  const random = options.random ?? Math.random;
  let attempts = 0;
  return {
    next() {
      // Cap the exponent so the power never overflows on long outages.
      const nominal = Math.min(max, initial * 2 ** Math.min(attempts, 30));
      attempts += 1;
      return Math.round(nominal / 2 + random() * (nominal / 2));
    },
    get attempts() {
      return attempts;
    },
    reset() {
      attempts = 0;
    },
  };
}
