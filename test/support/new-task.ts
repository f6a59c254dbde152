import { newTaskId } from "../../server/engine/ids.js";
import type { NewTask } from "../../server/engine/task-records.js";

/** A task as the submit path hands it to the inserter: a JSON `null` payload of type `echo`, 3 attempts. */
export function newTask(queue: string, overrides: Partial<NewTask> = {}): NewTask {
  const now = Date.now();
  return {
    id: newTaskId(now),
    queue,
    type: "echo",
    payload: Buffer.from("null"),
    payloadFormat: 1,
    priority: 0,
    maxAttempts: 3,
    backoffInitialMs: 1000,
    backoffMaxMs: 60_000,
    backoffMultiplier: 2,
    timeoutMs: null,
    idempotencyKey: null,
    labels: {},
    createdMs: now,
    runAt: null,
    startDeadline: null,
    ...overrides,
  };
}
