import type { Logger } from "../observability/logger.js";
import type { LeaseEnd, QueueStore } from "../redis/queue-store.js";
import type { DurableTransitions } from "./durable-transitions.js";
import { lostStreamError, transitionOfLeaseEnd, type ReportedOutcome } from "./lease-ends.js";

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
export class LeaseReaper {
  private timer: NodeJS.Timeout | undefined;
  private reaping = false;
  private readonly now: () => number;

  constructor(private readonly options: LeaseReaperOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Starts the periodic reap. */
  start(): void {
    this.timer = setInterval(() => void this.reapExpired(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the periodic reap. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** Ends every expired lease now (also called by tests and at start-up). */
  async reapExpired(): Promise<number> {
    if (this.reaping) return 0;
    this.reaping = true;
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
    } finally {
      this.reaping = false;
    }
    if (total > 0) this.options.logger.info({ count: total }, "expired leases ended");
    return total;
  }

  /**
   * Puts back every task a closed session held; `cause` (why the stream ended, e.g. the
   * status it ended with) is recorded in each lost attempt's error.
   */
  async releaseSession(sessionId: string, cause?: string): Promise<LeaseEnd[]> {
    const ends = await this.options.store.release(sessionId);
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
