import type { JsonValue } from "@bufbuild/protobuf";

/**
 * Retry policy of one task. Unset fields take the queue's defaults, then the server's; the
 * wait before attempt n+1 is `min(maxBackoffMs, initialBackoffMs × backoffMultiplier^(n-1))`
 * with jitter.
 */
export interface RetryPolicySpec {
  /** Total attempts allowed, the first one included. */
  maxAttempts?: number;
  /** Back-off after the first failure, in milliseconds. */
  initialBackoffMs?: number;
  /** Upper bound of the back-off, in milliseconds. */
  maxBackoffMs?: number;
  /** Growth factor of the back-off between attempts. */
  backoffMultiplier?: number;
}

/**
 * A task to submit: `SubmitTaskRequest` as plain values. `queue` and `type` are required;
 * every other field may be left out, and the server then applies its defaults. The server
 * validates the values (lengths, characters, ranges) and names the field it refuses; the
 * client only refuses values of the wrong JavaScript type, before sending anything.
 */
export interface TaskSpec {
  /** Queue name: 1-128 characters of letters, digits and `. _ : -`. */
  queue: string;
  /** Task type, matched to a worker handler: 1-128 characters of letters, digits and `. _ : / -`. */
  type: string;
  /**
   * Input as JSON: null, a boolean, a finite number, a string, an array or a plain object of
   * those (what `JSON.parse` returns). Sent as a `google.protobuf.Value`.
   */
  payload?: JsonValue;
  /** Input as opaque bytes, instead of `payload`. */
  payloadBytes?: Uint8Array;
  /**
   * Priority 0-100, higher first, FIFO within a priority. Unset: the queue's default
   * priority (UpdateQueue), else 0; an explicit 0 is sent and kept.
   */
  priority?: number;
  /** Retry policy; unset fields take the defaults. */
  retryPolicy?: RetryPolicySpec;
  /** A second submit with the same key in the same queue returns the first task. */
  idempotencyKey?: string;
  /** Free-form labels: at most 32 pairs. */
  labels?: Readonly<Record<string, string>>;
  /** Do not run before this time: a `Date` or milliseconds since the epoch. */
  runAt?: Date | number;
  /** Execution timeout per attempt, in milliseconds (at most 24 h). */
  timeoutMs?: number;
  /** Schedule-to-start deadline in milliseconds: unstarted this long after it became due, the task ends EXPIRED. */
  startTimeoutMs?: number;
  /**
   * Concurrency key (e.g. a customer id, at most 256 bytes): tasks sharing a key share the
   * queue's `maxConcurrencyPerKey`, and the queue serves its keys round-robin.
   */
  concurrencyKey?: string;
}
