import type { Logger } from "../observability/logger.js";
import type { QueueStore } from "../redis/queue-store.js";
import type { DurableTransitions } from "./durable-transitions.js";
import { expiredTransition } from "./expiry.js";
import { PeriodicTask } from "./periodic-task.js";
import type { Service } from "./service.js";
import { bareTransition, type TaskTransition } from "./task-records.js";

/** Options for {@link Scheduler}. */
export interface SchedulerOptions {
  store: QueueStore;
  transitions: DurableTransitions;
  logger: Logger;
  /** Longest wait between two promotions, ms (covers due times armed by other servers). */
  backstopMs: number;
  now?: () => number;
  /** Told which queues gained ready tasks. */
  onReady: (queues: string[]) => void;
}

/**
 * Moves delayed tasks (SCHEDULED, or FAILED waiting for back-off) to their ready queue when
 * they are due, and ends never-started tasks whose start deadline passed (EXPIRED). One timer armed for the earliest due time: waiting costs nothing, and no
 * task is polled individually.
 */
export class Scheduler implements Service {
  private readonly periodic: PeriodicTask;
  private readonly now: () => number;

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? Date.now;
    this.periodic = new PeriodicTask({
      name: "scheduler",
      run: () => this.promoteDue(),
      intervalMs: options.backstopMs,
      runAtStart: true,
      logger: options.logger,
      now: this.now,
    });
  }

  /** Promotes what is due now and arms the timer. */
  start(): void {
    this.periodic.start();
  }

  /** Cancels the timer and waits for a promotion under way. */
  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** A task became due at `dueMs`: make sure the timer fires by then. */
  notifyDue(dueMs: number): void {
    this.periodic.request(dueMs - this.now());
  }

  /** Promotes every due task now (when a promotion is under way, another follows it). */
  async promote(): Promise<void> {
    await this.periodic.runNow();
  }

  private async promoteDue(): Promise<void> {
    let next: number | null = null;
    try {
      let more: boolean;
      do {
        more = false;
        const { expired, nextDeadlineMs } = await this.options.store.expire(1000);
        if (expired.length > 0) {
          const now = new Date(this.now());
          this.options.transitions.writeInBackground(expired.map((id) => expiredTransition(id, now)));
        }
        if (expired.length >= 1000) more = true;
        const { promoted, nextDueMs } = await this.options.store.promote(1000);
        next = Math.min(nextDueMs ?? Number.POSITIVE_INFINITY, nextDeadlineMs ?? Number.POSITIVE_INFINITY);
        if (promoted.length > 0) {
          const transitions: TaskTransition[] = promoted.map((p) => bareTransition(p.id, "QUEUED", p.attempt));
          this.options.transitions.writeInBackground(transitions);
          this.options.onReady([...new Set(promoted.map((p) => p.queue))]);
        }
        if (promoted.length >= 1000) more = true;
      } while (more && !this.periodic.stopped);
    } catch (error) {
      this.options.logger.warn({ err: error }, "promoting delayed tasks failed; will retry");
    }
    if (next !== null && next !== Number.POSITIVE_INFINITY) this.periodic.request(next - this.now());
  }
}
