import { PeriodicTask } from "../engine/periodic-task.js";
import type { Service } from "../engine/service.js";
import type { Logger } from "../observability/logger.js";
import type { ScheduleFirer } from "./schedule-firer.js";

/** Options for {@link ScheduleLoop}. */
export interface ScheduleLoopOptions {
  firer: Pick<ScheduleFirer, "fireDue" | "earliestWake">;
  logger: Logger;
  /** Longest sleep between two looks, ms: the backstop when a change announcement is lost. */
  maxSleepMs: number;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * A schedule that is due but held by another server (its firing transaction under way) is
 * looked at again this soon, ms.
 */
const HELD_RETRY_MS = 50;

/** After a failed pass (Postgres unreachable), the next one comes this soon, ms. */
const FAILED_RETRY_MS = 1_000;

/**
 * Fires schedules on time without polling them: after each pass it sleeps until the earliest
 * `wake_at` of all schedules (at most `maxSleepMs`), and a change of any schedule, here or on
 * another server (announced through Redis), wakes it at once ({@link rearm}).
 */
export class ScheduleLoop implements Service {
  private readonly task: PeriodicTask<void>;
  private readonly now: () => number;

  constructor(private readonly options: ScheduleLoopOptions) {
    this.now = options.now ?? Date.now;
    this.task = new PeriodicTask({
      name: "schedules",
      run: () => this.pass(),
      intervalMs: options.maxSleepMs,
      logger: options.logger,
      runAtStart: true,
      now: this.now,
    });
  }

  /** Fires what is due and arms the timer for what comes next. */
  start(): void {
    this.task.start();
  }

  /** Stops the timer and waits for a pass under way. */
  stop(): Promise<void> {
    return this.task.stop();
  }

  /** A schedule changed: look again now (the next pass arms the timer anew). */
  rearm(): void {
    this.task.request(0);
  }

  private async pass(): Promise<void> {
    try {
      await this.fireAndArm();
    } catch (error) {
      this.task.request(Math.min(FAILED_RETRY_MS, this.options.maxSleepMs));
      throw error;
    }
  }

  private async fireAndArm(): Promise<void> {
    const { more, fired } = await this.options.firer.fireDue();
    if (this.task.stopped) return;
    if (more) {
      this.task.request(0);
      return;
    }
    const wake = await this.options.firer.earliestWake();
    if (wake === null) return;
    const delay = wake - this.now();
    if (delay > 0) this.task.request(Math.min(delay, this.options.maxSleepMs));
    // Due already: came due during this pass (again at once), or held by another server.
    else this.task.request(fired > 0 ? 0 : HELD_RETRY_MS);
  }
}
