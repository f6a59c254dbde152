import type { TaskStateName } from "../db/schema.js";
import type { TaskRepository } from "../db/task-repository.js";
import type { QueueStore } from "../redis/queue-store.js";

/** The finished marker forget.lua leaves for each terminal state. */
const MARKER_OF: Partial<Record<TaskStateName, "done" | "cancelled" | "expired">> = {
  SUCCEEDED: "done",
  DEAD: "done",
  CANCELLED: "cancelled",
  EXPIRED: "expired",
};

/**
 * Removes from the dispatch state of `queues` the tasks Postgres already has finished: leases,
 * ready and delayed entries left behind when a Redis Cluster failover lost the writes that
 * ended them (a fenced result whose outcome Postgres has, a cancel). Left there, such a lease
 * would be kept alive by its worker's heartbeats, hold a running slot, and run the task once
 * more when its stream ends. Only leases granted before `leasedBeforeMs` (by the former
 * masters) are removed: a later one, or a task with more attempts in Redis than in Postgres,
 * is running again already and is left to end as any attempt does. Compares a page of ids at
 * a time with Postgres; for the failover's slot sweep only (it reads every dispatched id of
 * those queues). Returns how many tasks were removed.
 */
export async function forgetFinishedLeftovers(
  store: QueueStore,
  repository: TaskRepository,
  queues: readonly string[],
  leasedBeforeMs: number,
  stopped: () => boolean,
): Promise<number> {
  let removed = 0;
  for (const queue of queues) {
    for await (const ids of store.dispatchedTaskIds(queue)) {
      if (stopped()) return removed;
      const finished = await repository.finishedStates(ids);
      const markers = new Map<string, { marker: "done" | "cancelled" | "expired"; attempt: number }>();
      for (const [id, { state, attempt }] of finished) markers.set(id, { marker: MARKER_OF[state]!, attempt });
      removed += await store.forgetFinished(queue, markers, leasedBeforeMs);
    }
  }
  return removed;
}
