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
  repository: Pick<TaskRepository, "finishedStates">,
  queues: readonly string[],
  leasedBeforeMs: number,
  stopped: () => boolean,
): Promise<number> {
  let removed = 0;
  for (const queue of queues) {
    for await (const ids of store.dispatchedTaskIds(queue)) {
      if (stopped()) return removed;
      const markers = finishedMarkers(await repository.finishedStates(ids));
      removed += await store.forgetFinished(queue, markers, leasedBeforeMs);
    }
  }
  return removed;
}

/**
 * Before expired leases are ended (which would run their tasks again), removes those of tasks
 * Postgres already has finished: Redis lost the writes that ended them (a failover, a restart
 * from an older snapshot) and nobody heartbeats them any more. Whatever attempt Redis shows,
 * the task is over: an execution past its end is not run once more. `expired`: lease ids by
 * queue ({@link QueueStore.expiredLeases}). Returns how many tasks were removed.
 */
export async function forgetExpiredOfFinished(
  store: QueueStore,
  repository: Pick<TaskRepository, "finishedStates">,
  expired: ReadonlyMap<string, readonly string[]>,
): Promise<number> {
  const ids = [...expired.values()].flat();
  const finished = new Map<string, { state: TaskStateName; attempt: number }>();
  for (let at = 0; at < ids.length; at += FINISHED_LOOKUP_PAGE) {
    for (const [id, found] of await repository.finishedStates(ids.slice(at, at + FINISHED_LOOKUP_PAGE))) finished.set(id, found);
  }
  if (finished.size === 0) return 0;
  let removed = 0;
  for (const [queue, ids] of expired) {
    const ofQueue = new Map([...ids].filter((id) => finished.has(id)).map((id) => [id, finished.get(id)!]));
    removed += await store.forgetFinished(queue, finishedMarkers(ofQueue, { anyAttempt: true }));
  }
  return removed;
}

/** Ids looked up in Postgres per query. */
const FINISHED_LOOKUP_PAGE = 1000;

/** Attempt count that forget.lua never finds exceeded in Redis. */
const ANY_ATTEMPT = 2 ** 31 - 1;

/** forget.lua's marker and attempt for each finished task; `anyAttempt`: whatever attempt Redis shows. */
function finishedMarkers(
  finished: ReadonlyMap<string, { state: TaskStateName; attempt: number }>,
  options: { anyAttempt?: boolean } = {},
): Map<string, { marker: "done" | "cancelled" | "expired"; attempt: number }> {
  const markers = new Map<string, { marker: "done" | "cancelled" | "expired"; attempt: number }>();
  for (const [id, { state, attempt }] of finished) markers.set(id, { marker: MARKER_OF[state]!, attempt: options.anyAttempt ? ANY_ATTEMPT : attempt });
  return markers;
}
