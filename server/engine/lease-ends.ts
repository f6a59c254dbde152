import type { StoredError } from "../db/schema.js";
import type { LeaseEnd } from "../redis/queue-store.js";
import type { AttemptOutcomeName, TaskTransition } from "./task-records.js";

/** What a worker reported, for transitions that come from a result. */
export interface ReportedOutcome {
  result?: { bytes: Buffer; format: 1 | 2 };
  error?: StoredError;
}

/** Start of the error of an attempt lost with its worker's stream. */
const LOST_STREAM = "worker stream ended while holding the task";

const serverErrors: Partial<Record<LeaseEnd["how"], string>> = {
  expired: "lease expired: no heartbeat from the worker within the lease duration",
  timeout: "attempt timed out",
  lost: LOST_STREAM,
};

/**
 * The error of an attempt lost because its worker's stream ended, naming why when known, e.g.
 * "worker stream ended while holding the task: CANCELED: operation was cancelled by the client".
 */
export function lostStreamError(cause?: string): StoredError {
  return { message: cause ? `${LOST_STREAM}: ${cause}`.slice(0, 4096) : LOST_STREAM, type: "LeaseLost" };
}

function attemptOutcome(end: LeaseEnd): AttemptOutcomeName {
  if (end.state === "CANCELLED") return "CANCELLED";
  switch (end.how) {
    case "succeeded":
      return "SUCCEEDED";
    case "expired":
    case "timeout":
      return "LEASE_EXPIRED";
    case "lost":
      return "WORKER_LOST";
    default:
      return "FAILED";
  }
}

/** Turns a lease that ended in Redis into the Postgres transition that records it. */
export function transitionOfLeaseEnd(end: LeaseEnd, nowMs: number, reported: ReportedOutcome = {}): TaskTransition {
  const terminal = end.state === "SUCCEEDED" || end.state === "DEAD" || end.state === "CANCELLED";
  const serverMessage = serverErrors[end.how];
  const error: StoredError | null =
    reported.error ?? (serverMessage ? { message: serverMessage, type: end.how === "timeout" ? "TimeoutError" : "LeaseLost" } : null);
  return {
    id: end.id,
    state: end.state,
    attempt: end.attempt,
    workerId: end.workerId || null,
    startedAt: end.startedMs > 0 ? new Date(end.startedMs) : null,
    finishedAt: terminal ? new Date(nowMs) : null,
    scheduledAt: end.state === "FAILED" ? new Date(end.dueMs) : null,
    result: end.state === "SUCCEEDED" && reported.result ? reported.result.bytes : null,
    resultFormat: end.state === "SUCCEEDED" && reported.result ? reported.result.format : null,
    error: error && end.state !== "SUCCEEDED" ? { ...error, attempt: end.attempt } : null,
    attemptOutcome: attemptOutcome(end),
    attemptEndedAt: new Date(nowMs),
  };
}
