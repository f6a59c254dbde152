import type { PayloadFormatValue, StoredError, TaskStateName } from "../db/schema.js";

/** A validated task, ready to be inserted and enqueued. */
export interface NewTask {
  id: string;
  queue: string;
  type: string;
  payload: Buffer;
  payloadFormat: PayloadFormatValue;
  priority: number;
  maxAttempts: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  backoffMultiplier: number;
  timeoutMs: number | null;
  idempotencyKey: string | null;
  /** Concurrency key (fair shares and the per-key limit within the queue); absent or null: none. */
  concurrencyKey?: string | null;
  labels: Record<string, string>;
  /** When the server accepted it: epoch ms, to the microsecond. */
  createdMs: number;
  /** Set when the task must not run before this time. */
  runAt: Date | null;
  /** Set when the first attempt must start by this time, or the task EXPIREs. */
  startDeadline: Date | null;
  /** W3C trace context of the submit that created the task, handed to its workers; absent: none. */
  trace?: TraceContext;
}

/** A W3C trace context: the `traceparent` header and the `tracestate` that came with it. */
export interface TraceContext {
  traceparent: string;
  /** Empty when none came. */
  tracestate: string;
}

/** How a dispatch ended, as stored in `task_attempts.outcome`. */
export type AttemptOutcomeName = "SUCCEEDED" | "FAILED" | "LEASE_EXPIRED" | "WORKER_LOST" | "CANCELLED";

/**
 * A state change of one task at one attempt, written by the group-commit writer. Applied
 * only if the row is not terminal and its attempt is not newer (see the writer's guard).
 */
export interface TaskTransition {
  id: string;
  state: TaskStateName;
  attempt: number;
  workerId: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  scheduledAt: Date | null;
  result: Buffer | null;
  resultFormat: PayloadFormatValue | null;
  error: StoredError | null;
  /** Outcome of the attempt that ended with this transition; null when none ended. */
  attemptOutcome: AttemptOutcomeName | null;
  /** When that attempt ended; null when none ended. */
  attemptEndedAt?: Date | null;
}

/** Progress reported for a running task. */
export interface ProgressUpdate {
  id: string;
  percent: number;
  message: string;
}

/** A transition of task `id` to `state` at `attempt` with nothing else set; spread overrides over it. */
export function bareTransition(id: string, state: TaskStateName, attempt: number): TaskTransition {
  return {
    id,
    state,
    attempt,
    workerId: null,
    startedAt: null,
    finishedAt: null,
    scheduledAt: null,
    result: null,
    resultFormat: null,
    error: null,
    attemptOutcome: null,
  };
}
