import type { Logger } from "./logger.js";

/** Identity of one leased attempt, as carried by task events. */
export interface TaskInfo {
  /** Task id. */
  readonly id: string;
  /** Queue of the task. */
  readonly queue: string;
  /** Task type: the handler that ran it. */
  readonly type: string;
  /** Attempt number, from 1. */
  readonly attempt: number;
  /** Total attempts allowed. */
  readonly maxAttempts: number;
  /** Fencing token of this attempt's lease. */
  readonly leaseToken: string;
}

/**
 * What a handler receives: the task, its input and the means to cooperate with the worker
 * (an abort signal and progress reports).
 */
export interface TaskContext<P = unknown> extends TaskInfo {
  /** The input: a plain JS value for JSON payloads, a Uint8Array for bytes, or undefined. */
  readonly payload: P;
  /** Labels given at submit. */
  readonly labels: Readonly<Record<string, string>>;
  /** When the task was submitted, if the server said. */
  readonly createdAt: Date | undefined;
  /**
   * The same in epoch milliseconds to the microsecond (a Date keeps whole milliseconds),
   * for measuring how long the task waited.
   */
  readonly createdAtMs: number | undefined;
  /** Execution timeout of this attempt in milliseconds, if any. */
  readonly timeoutMs: number | undefined;
  /**
   * Aborted when the task is cancelled, times out, loses its lease (connection lost) or the
   * worker stops past its deadline; `signal.reason` is the matching SDK error.
   */
  readonly signal: AbortSignal;
  /** Logger bound to this task's id and attempt. */
  readonly logger: Logger;
  /**
   * Reports progress (0-100) with an optional status line. Calls are throttled per task;
   * the latest value is always delivered.
   */
  progress(percent: number, message?: string): void;
}

/**
 * A task handler: returns the task's output (a Uint8Array for bytes, anything
 * JSON-encodable otherwise) or throws to fail the attempt.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskHandler<P = any, R = unknown> = (task: TaskContext<P>) => R | Promise<R>;

/** Handlers by task type; their names are the task types the worker announces. */
export type TaskHandlers = Record<string, TaskHandler>;
