import type { Logger } from "../observability/logger.js";

/**
 * Fixed time a shutdown may take after the drain deadline: ending the streams still open,
 * committing the lease ends that makes, closing the servers and connections. The whole
 * shutdown therefore takes at most `DRAIN_TIMEOUT_MS` + this.
 */
export const SHUTDOWN_GRACE_MS = 2_000;

/** The last part of {@link SHUTDOWN_GRACE_MS}, kept for closing servers and connections. */
export const CLOSE_RESERVE_MS = 500;

/** How a shutdown went. */
export interface ShutdownReport {
  /** True when every step finished in time: everything acknowledged was written. */
  readonly complete: boolean;
  /** The steps cut short at their deadline (what they had not done is left to recovery). */
  readonly unfinished: readonly string[];
  /** How long the shutdown took, ms. */
  readonly tookMs: number;
}

/** Options for {@link ShutdownBudget}. */
export interface ShutdownBudgetOptions {
  /** How long workers get to finish what they hold (`DRAIN_TIMEOUT_MS`). */
  drainTimeoutMs: number;
  logger: Logger;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * The deadlines of one shutdown, counted from its start, and the steps it had to cut short.
 * Every step of a shutdown waits through {@link ShutdownBudget.within}, so none can hold the
 * process past {@link ShutdownBudget.exitDeadline}; what a cut step leaves unwritten is
 * left to recovery (another server's, or this one's at its next start).
 */
export class ShutdownBudget {
  /** Start of the shutdown, epoch ms. */
  readonly startedAt: number;
  /** Workers finish what they hold by then; streams still open are ended then. */
  readonly drainDeadline: number;
  /** Lease ends and results are committed by then. */
  readonly writeDeadline: number;
  /** Everything is closed by then: the process may exit. */
  readonly exitDeadline: number;
  private readonly cut: string[] = [];
  private readonly now: () => number;

  constructor(private readonly options: ShutdownBudgetOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.drainDeadline = this.startedAt + options.drainTimeoutMs;
    this.exitDeadline = this.drainDeadline + SHUTDOWN_GRACE_MS;
    this.writeDeadline = this.exitDeadline - CLOSE_RESERVE_MS;
  }

  /**
   * Waits for `work` until `deadline` (epoch ms). Returns true when it settled in time
   * (a rejection counts: the step is over), false when the deadline passed first: the step
   * is then recorded as cut short and logged, and the shutdown goes on without it.
   */
  async within(step: string, deadline: number, work: Promise<unknown>): Promise<boolean> {
    const inTime = await this.settlesBy(deadline, work, step);
    if (!inTime) {
      this.cut.push(step);
      this.options.logger.warn({ step, afterMs: this.now() - this.startedAt }, "shutdown step cut short at its deadline");
    }
    return inTime;
  }

  /**
   * Waits for `work` until `deadline` (epoch ms), as {@link within}, but a deadline that
   * passes first is part of the plan (e.g. workers still busy at the drain deadline), not a
   * step cut short.
   */
  async settlesBy(deadline: number, work: Promise<unknown>, step = "shutdown wait"): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, deadline - this.now()));
      timer.unref();
    });
    const settled = work.then(
      () => true as const,
      (error: unknown) => {
        this.options.logger.warn({ err: error, step }, "shutdown step failed");
        return true as const;
      },
    );
    const inTime = await Promise.race([settled, expired]);
    clearTimeout(timer);
    return inTime;
  }

  /** The steps cut short so far, in order (empty: nothing was left undone). */
  get unfinished(): readonly string[] {
    return this.cut;
  }

  /** The report of the shutdown so far. */
  report(): ShutdownReport {
    return { complete: this.cut.length === 0, unfinished: [...this.cut], tookMs: this.now() - this.startedAt };
  }
}
