import type { Logger } from "../observability/logger.js";
import type { LeaseEnd, QueueStore } from "../redis/queue-store.js";
import type { DurableTransitions } from "./durable-transitions.js";
import { lostStreamError, transitionOfLeaseEnd, type ReportedOutcome } from "./lease-ends.js";
import { PeriodicTask } from "./periodic-task.js";
import type { Service } from "./service.js";

/** Options for {@link LeaseReaper}. */
export interface LeaseReaperOptions {
  store: QueueStore;
  transitions: DurableTransitions;
  logger: Logger;
  intervalMs: number;
  now?: () => number;
  /** Told about every lease that ended here, so queues can be woken and back-offs armed. */
  onLeaseEnds: (ends: LeaseEnd[]) => void;
}

/**
 * Ends leases that are no longer backed by a live worker: on a timer for leases past their
 * deadline, and at once for every lease of a stream that closed.
 */
export class LeaseReaper implements Service {
  private readonly periodic: PeriodicTask<number>;
  private readonly now: () => number;

  constructor(private readonly options: LeaseReaperOptions) {
    this.now = options.now ?? Date.now;
    this.periodic = new PeriodicTask({
      name: "lease reaper",
      run: () => this.reapAll(),
      intervalMs: options.intervalMs,
      logger: options.logger,
    });
  }

  /** Starts the periodic reap. */
  start(): void {
    this.periodic.start();
  }

  /** Stops the periodic reap and waits for a reap under way. */
  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /**
   * Ends every expired lease now (also called by tests); returns how many. When a reap is
   * under way it returns 0 at once, and another reap follows that one.
   */
  async reapExpired(): Promise<number> {
    return (await this.periodic.runNow()) ?? 0;
  }

  private async reapAll(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const ends = await this.options.store.reap(1000);
        this.record(ends);
        total += ends.length;
        if (ends.length < 1000) break;
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, "reaping expired leases failed; will retry");
    }
    if (total > 0) this.options.logger.info({ count: total }, "expired leases ended");
    return total;
  }

  /**
   * Puts back every task a closed session held in `queues` (those it served); `cause` (why the stream ended, e.g. the
   * status it ended with) is recorded in each lost attempt's error.
   */
  async releaseSession(sessionId: string, queues: readonly string[], cause?: string): Promise<LeaseEnd[]> {
    const ends = await this.options.store.release(sessionId, queues);
    this.record(ends, { error: lostStreamError(cause) });
    if (ends.length > 0) this.options.logger.info({ sessionId, count: ends.length }, "released leases of closed session");
    return ends;
  }

  private record(ends: LeaseEnd[], reported?: ReportedOutcome): void {
    if (ends.length === 0) return;
    const now = this.now();
    this.options.transitions.writeInBackground(ends.map((e) => transitionOfLeaseEnd(e, now, reported)));
    this.options.onLeaseEnds(ends);
  }
}
