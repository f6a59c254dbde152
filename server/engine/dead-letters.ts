import type { TaskRow } from "../db/schema.js";
import type { TaskRepository } from "../db/task-repository.js";
import { UnavailableError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { QueueStore } from "../redis/queue-store.js";
import { newTaskOfRow } from "./task-of-row.js";

/** Options for {@link DeadLetters}. */
export interface DeadLettersOptions {
  repository: TaskRepository;
  store: QueueStore;
  logger: Logger;
  /** Told which queues gained ready tasks. */
  onReady: (queues: string[]) => void;
  /**
   * Told that re-driven tasks were committed but not enqueued: a full recovery sweep must
   * enqueue them (the regular sweep only looks at recently created tasks).
   */
  onEnqueueFailed?: () => void;
}

/**
 * Re-drives and purges dead-lettered tasks. A re-drive is committed in Postgres first (DEAD →
 * QUEUED; `max_attempts` grows by the attempts the task was submitted with), then the tasks are put back into the dispatch state; if that
 * second step fails, the recovery sweep finishes it.
 */
export class DeadLetters {
  constructor(private readonly options: DeadLettersOptions) {}

  /** Re-drives DEAD tasks; returns those now QUEUED. */
  async redrive(selector: { ids: string[] } | { queue: string; limit: number }): Promise<TaskRow[]> {
    const rows = await this.options.repository.redriveDead(selector);
    if (rows.length === 0) return rows;
    try {
      const { readyQueues } = await this.options.store.enqueue(
        rows.map((row) => ({ task: { ...newTaskOfRow(row), runAt: null, startDeadline: null }, attempt: row.attempt, dueMs: 0 })),
        { replaceFinished: true },
      );
      this.options.onReady(readyQueues);
    } catch (error) {
      this.options.logger.error({ err: error, count: rows.length }, "re-driven tasks not enqueued; recovery will enqueue them");
      this.options.onEnqueueFailed?.();
      throw new UnavailableError("re-drive committed, but the dispatch state (Redis) is unavailable; the tasks will be enqueued by recovery", { cause: error });
    }
    return rows;
  }

  /** Deletes DEAD tasks; returns how many. */
  purge(selector: { ids: string[] } | { queue: string; finishedBefore?: Date }): Promise<number> {
    return this.options.repository.purgeDead(selector);
  }
}
