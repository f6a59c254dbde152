import type { TaskTransition } from "./task-records.js";

/** The transition of a task whose start deadline passed before its first attempt started. */
export function expiredTransition(id: string, now: Date): TaskTransition {
  return {
    id,
    state: "EXPIRED",
    attempt: 0,
    workerId: null,
    startedAt: null,
    finishedAt: now,
    scheduledAt: null,
    result: null,
    resultFormat: null,
    error: { message: "not started before its start deadline", type: "StartDeadlineExceeded", attempt: 0 },
    attemptOutcome: null,
  };
}
