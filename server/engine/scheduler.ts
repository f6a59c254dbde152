import type { Logger } from "../observability/logger.js";
import type { QueueStore } from "../redis/queue-store.js";
import type { DurableTransitions } from "./durable-transitions.js";
import { expiredTransition } from "./expiry.js";
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
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private running = false;
  private again = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Promotes what is due now and arms the timer. */
  start(): void {
    void this.promote();
  }

  /** Cancels the timer. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** A task became due at `dueMs`: make sure the timer fires by then. */
  notifyDue(dueMs: number): void {
    if (dueMs < this.armedFor) this.arm(dueMs);
  }

  /** Promotes every due task now. */
  async promote(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    let next: number | null = null;
    try {
      do {
        this.again = false;
        const { expired, nextDeadlineMs } = await this.options.store.expire(1000);
        if (expired.length > 0) {
          const now = new Date(this.now());
          this.options.transitions.writeInBackground(expired.map((id) => expiredTransition(id, now)));
        }
        if (expired.length === 1000) this.again = true;
        const { promoted, nextDueMs } = await this.options.store.promote(1000);
        next = Math.min(nextDueMs ?? Number.POSITIVE_INFINITY, nextDeadlineMs ?? Number.POSITIVE_INFINITY);
        if (promoted.length > 0) {
          const transitions: TaskTransition[] = promoted.map((p) => bareTransition(p.id, "QUEUED", p.attempt));
          this.options.transitions.writeInBackground(transitions);
          this.options.onReady([...new Set(promoted.map((p) => p.queue))]);
        }
        if (promoted.length === 1000) this.again = true;
      } while (this.again && !this.stopped);
    } catch (error) {
      this.options.logger.warn({ err: error }, "promoting delayed tasks failed; will retry");
    } finally {
      this.running = false;
    }
    this.arm(next ?? Number.POSITIVE_INFINITY);
  }

  private arm(dueMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const at = Math.min(dueMs, this.now() + this.options.backstopMs);
    this.armedFor = at;
    this.timer = setTimeout(() => {
      this.armedFor = Number.POSITIVE_INFINITY;
      void this.promote();
    }, Math.max(0, at - this.now()));
    this.timer.unref();
  }
}
