import type { StoredError } from "../db/schema.js";
import { toStorableText } from "../db/storable-text.js";
import { isStorableTimeMs } from "../db/storable-time.js";
import type { TaskTransition } from "./task-records.js";

/**
 * Versions of a transition that Postgres refused, for the last resort of the outcome
 * writer: Redis has already applied the transition, so the task's state and attempt must
 * reach Postgres; what the worker or a bug put beside them may be altered to get there.
 */

/**
 * The transition with its text made storable (NUL and lone surrogates → U+FFFD, in the
 * error and the worker id) and any time Postgres cannot hold replaced by `nowMs`.
 * Everything that was storable is kept as it was.
 */
export function sanitisedTransition(t: TaskTransition, nowMs: number): TaskTransition {
  return {
    ...t,
    workerId: t.workerId === null ? null : toStorableText(t.workerId),
    startedAt: storableDate(t.startedAt, nowMs),
    finishedAt: storableDate(t.finishedAt, nowMs),
    scheduledAt: storableDate(t.scheduledAt, nowMs),
    attemptEndedAt: storableDate(t.attemptEndedAt ?? null, nowMs),
    error: t.error ? sanitisedError(t.error) : null,
  };
}

/**
 * Only the transition's state, attempt and outcome, with times the server chose, no result,
 * no worker id, and for an unsuccessful outcome an error that says why the worker's could
 * not be kept (`type` "OutcomeNotStored"): built from nothing a client sent but the numbers.
 */
export function strippedTransition(t: TaskTransition, reason: string, nowMs: number): TaskTransition {
  const now = new Date(nowMs);
  const error: StoredError | null =
    t.state === "SUCCEEDED" || t.error === null
      ? null
      : {
          message: toStorableText(`the outcome of attempt ${t.attempt} could not be stored as reported: ${reason}`).slice(0, 4096),
          type: "OutcomeNotStored",
          nonRetryable: t.error.nonRetryable ?? false,
          attempt: t.attempt,
        };
  return {
    id: t.id,
    state: t.state,
    attempt: t.attempt,
    workerId: null,
    startedAt: storableDate(t.startedAt, nowMs),
    finishedAt: t.finishedAt ? now : null,
    scheduledAt: storableDate(t.scheduledAt, nowMs),
    result: null,
    resultFormat: null,
    error,
    attemptOutcome: t.attemptOutcome,
    attemptEndedAt: t.attemptOutcome ? now : null,
  };
}

function sanitisedError(error: StoredError): StoredError {
  return {
    ...error,
    message: toStorableText(String(error.message)),
    ...(error.type === undefined ? {} : { type: toStorableText(String(error.type)) }),
  };
}

/** `date` when Postgres can store it, `nowMs` for an invalid or far-off time, null for none. */
function storableDate(date: Date | null, nowMs: number): Date | null {
  if (date === null) return null;
  return isStorableTimeMs(date.getTime()) ? date : new Date(nowMs);
}
