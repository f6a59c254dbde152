import { Batcher } from "../db/batcher.js";
import type { InsertOutcome, TaskInserter } from "../db/task-inserter.js";
import { UnavailableError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { QueueStore } from "../redis/queue-store.js";
import { unavailableDependency } from "./dependency-errors.js";
import type { NewTask } from "./task-records.js";

/** Options for {@link Submitter}. */
export interface SubmitterOptions {
  inserter: TaskInserter;
  store: QueueStore;
  logger: Logger;
  /**
   * Asks local dispatch for a lease pass on these queues. It is called right after the
   * enqueue is sent, before its reply: the pass's script follows the enqueue on the same
   * Redis connection, so Redis runs it after the enqueue and it sees the new tasks.
   */
  wake: (queues: string[]) => void;
  /** Tells the other servers which queues gained ready tasks. */
  announce: (queues: string[]) => void;
  /** Told about newly accepted tasks (not idempotent repeats). */
  onAccepted?: (tasks: NewTask[]) => void;
  /**
   * Told the queues of new tasks once they are enqueued in Redis (before the submit is
   * answered), so that views of the queues re-read them.
   */
  onEnqueued?: (queues: Iterable<string>) => void;
  /** Told the due time of delayed tasks. */
  onDue: (dueMs: number) => void;
  /** Told that tasks were committed but could not be enqueued (recovery will). */
  onEnqueueFailed: () => void;
}

/** Told of a submit's steps: its tasks committed, then the new ones enqueued. */
export type SubmitStepListener = (step: "committed" | "enqueued", tasks: number) => void;

/**
 * Accepts validated tasks: commits them to Postgres (group commit), then adds the new ones
 * to the Redis dispatch state and wakes dispatch. The answer comes after the commit; if
 * the enqueue fails after it, the task is still acknowledged and recovery enqueues it.
 */
export class Submitter {
  /** Enqueues of concurrent submits share one Lua call. */
  private readonly enqueues: Batcher<NewTask, undefined>;

  constructor(private readonly options: SubmitterOptions) {
    this.enqueues = new Batcher({
      flush: async (tasks) => {
        await this.enqueueNow(tasks);
        return tasks.map(() => undefined);
      },
      windowMs: 0,
      maxBatch: 1000,
      maxInFlight: 2,
    });
  }

  /**
   * Commits and enqueues; one outcome per task, in order. `onStep` is told when the tasks are
   * committed to Postgres and when the new ones are enqueued in Redis (tracing: span events on
   * the submit's RPC span).
   */
  async submit(tasks: NewTask[], onStep?: SubmitStepListener): Promise<InsertOutcome[]> {
    if (tasks.length === 0) return [];
    let outcomes: InsertOutcome[];
    try {
      outcomes = await this.options.inserter.insert(tasks);
    } catch (error) {
      if (!unavailableDependency(error)) throw error;
      this.options.logger.warn({ err: error }, "committing submitted tasks failed: Postgres unavailable");
      throw new UnavailableError("the task store (Postgres) is unavailable; nothing was written", { cause: error });
    }
    onStep?.("committed", tasks.length);
    await this.enqueueCommitted(tasks.filter((t, i) => !outcomes[i]!.existing), onStep);
    return outcomes;
  }

  /**
   * Adds tasks already committed to Postgres (by {@link submit}, or in another transaction
   * such as a schedule's firing) to the dispatch state and wakes dispatch. Never rejects:
   * when the enqueue fails, recovery enqueues them from Postgres. `onStep` as in {@link submit}.
   */
  async enqueueCommitted(fresh: NewTask[], onStep?: SubmitStepListener): Promise<void> {
    this.options.onAccepted?.(fresh);
    if (fresh.length === 0) return;
    await this.enqueues.submitMany(fresh).then(
      () => {
        this.options.onEnqueued?.(queuesOf(fresh));
        onStep?.("enqueued", fresh.length);
      },
      (error: unknown) => {
        this.options.logger.error({ err: error, count: fresh.length }, "tasks committed but not enqueued; recovery will enqueue them");
        this.options.onEnqueueFailed();
      },
    );
  }

  private async enqueueNow(tasks: NewTask[]): Promise<void> {
    // Dispatch does not wait for the enqueue's reply: its lease goes out right behind it. A
    // small enqueue shares the lease's write (one syscall, one wake-up of Redis instead of
    // two); a large one goes out first, so that Redis runs it while the lease is encoded.
    const woken = readyQueuesOf(tasks, Date.now());
    const send = () => {
      const reply = this.options.store.enqueue(tasks.map((task) => ({ task, attempt: 0, dueMs: task.runAt ? task.runAt.getTime() : 0 })));
      if (woken.length > 0) this.options.wake(woken);
      return reply;
    };
    const enqueued = tasks.length <= SHARED_WRITE_MAX_TASKS ? this.options.store.writeTogether(send) : send();
    const { readyQueues } = await enqueued;
    const late = readyQueues.filter((q) => !woken.includes(q));
    if (late.length > 0) this.options.wake(late);
    if (readyQueues.length > 0) this.options.announce(readyQueues);
    let earliest = Infinity;
    for (const t of tasks) earliest = Math.min(earliest, t.runAt?.getTime() ?? Infinity, t.startDeadline?.getTime() ?? Infinity);
    if (earliest !== Infinity) this.options.onDue(earliest);
  }
}

/** Largest enqueue that goes out in one write with the lease pass behind it. */
const SHARED_WRITE_MAX_TASKS = 16;

/** The queues of the tasks that are ready at `nowMs` (no run_at in the future). */
function readyQueuesOf(tasks: NewTask[], nowMs: number): string[] {
  const queues = new Set<string>();
  for (const t of tasks) if (!t.runAt || t.runAt.getTime() <= nowMs) queues.add(t.queue);
  return [...queues];
}

/** The distinct queues of `tasks` (most batches name one). */
function queuesOf(tasks: readonly NewTask[]): Iterable<string> {
  const first = tasks[0]!.queue;
  if (tasks.every((t) => t.queue === first)) return [first];
  return new Set(tasks.map((t) => t.queue));
}
