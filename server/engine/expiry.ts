import { bareTransition, type TaskTransition } from "./task-records.js";

/** The transition of a task whose start deadline passed before its first attempt started. */
export function expiredTransition(id: string, now: Date): TaskTransition {
  return {
    ...bareTransition(id, "EXPIRED", 0),
    finishedAt: now,
    error: { message: "not started before its start deadline", type: "StartDeadlineExceeded", attempt: 0 },
  };
}
