import { setTimeout as delay } from "node:timers/promises";
import { NonRetryableError, type TaskContext, type TaskHandlers } from "../index.js";

/** Payload of the `sleep` task. */
export interface SleepPayload {
  /** How long to sleep, in ms. */
  ms: number;
}

/** Payload of the `fail` task. */
export interface FailPayload {
  /** Attempts 1..times fail. */
  times: number;
  /** False makes the failures non-retryable. Default true. */
  retryable?: boolean;
}

/** `echo`: returns its payload unchanged. */
export function echo(task: TaskContext): unknown {
  return task.payload;
}

/** `sleep`: waits `payload.ms` (abortable by the task's signal) and returns `{ slept }`. */
export async function sleep(task: TaskContext<SleepPayload>): Promise<{ slept: number }> {
  const ms = task.payload?.ms;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new NonRetryableError("payload.ms must be a non-negative number", { type: "InvalidPayload" });
  }
  await delay(ms, undefined, { signal: task.signal });
  return { slept: ms };
}

/**
 * `fail`: throws on attempts 1..`payload.times` (non-retryable when `retryable` is false)
 * and returns `{ attempt }` afterwards.
 */
export function fail(task: TaskContext<FailPayload>): { attempt: number } {
  const times = task.payload?.times;
  if (typeof times !== "number" || !Number.isInteger(times) || times < 0) {
    throw new NonRetryableError("payload.times must be a non-negative integer", { type: "InvalidPayload" });
  }
  if (task.attempt <= times) {
    const message = `failing attempt ${task.attempt} of ${times} on purpose`;
    if (task.payload.retryable === false) throw new NonRetryableError(message, { type: "PlannedFailure" });
    throw new Error(message);
  }
  return { attempt: task.attempt };
}

/** The example worker's handlers by task type. */
export function exampleHandlers(): TaskHandlers {
  return { echo, sleep, fail };
}
