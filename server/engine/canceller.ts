import type { TaskRow } from "../db/schema.js";
import { terminalStates } from "../db/schema.js";
import type { TaskRepository } from "../db/task-repository.js";
import { FailedPreconditionError, NotFoundError } from "../errors.js";
import type { QueueStore } from "../redis/queue-store.js";
import type { CancelNotice } from "./notifier.js";

/** Options for {@link Canceller}. */
export interface CancellerOptions {
  repository: TaskRepository;
  store: QueueStore;
  /** Delivers a cancel to the worker session holding the task, wherever it is connected. */
  pushCancel: (notice: CancelNotice) => void;
}

/**
 * Cancels tasks. A task not yet running is removed from dispatch, then marked CANCELLED;
 * a running one is flagged in Redis and its worker told to abort: its lease then ends as
 * CANCELLED whether the worker answers or not.
 */
export class Canceller {
  constructor(private readonly options: CancellerOptions) {}

  /** Cancels task `id`; returns the task as it now stands. */
  async cancel(id: string, reason: string): Promise<TaskRow> {
    const row = await this.options.repository.get(id);
    if (!row) throw new NotFoundError(`task ${id} not found`);
    if (terminalStates.includes(row.state)) {
      throw new FailedPreconditionError(`task ${id} is already ${row.state} and cannot be cancelled`);
    }
    const outcome = await this.options.store.cancel(row.queue, id, reason);
    if (outcome.kind === "finished") {
      throw new FailedPreconditionError(`task ${id} has already finished and cannot be cancelled`);
    }
    if (outcome.kind === "running") {
      this.options.pushCancel({ sessionId: outcome.sessionId, taskId: id, leaseToken: outcome.leaseToken, reason });
      // Redis is the authority on dispatch: the task is running even if the RUNNING
      // mark has not reached Postgres yet.
      const updated = (await this.options.repository.setCancelReason(id, reason)) ?? row;
      return { ...updated, state: "RUNNING" };
    }
    const cancelled = await this.options.repository.markCancelled(id, reason);
    if (!cancelled) throw new FailedPreconditionError(`task ${id} has already finished and cannot be cancelled`);
    return cancelled;
  }
}
