import type { TaskRepository } from "../db/task-repository.js";
import type { Logger } from "../observability/logger.js";
import { LeaseEndsPartlyFailedError } from "../redis/lease-ends-settled.js";
import type { LeaseEnd, QueueStore } from "../redis/queue-store.js";
import type { DurableTransitions } from "./durable-transitions.js";
import { forgetExpiredOfFinished } from "./finished-leftovers.js";
import { lostStreamError, transitionOfLeaseEnd, type ReportedOutcome } from "./lease-ends.js";
import { PeriodicTask } from "./periodic-task.js";
import type { Service } from "./service.js";

/** Leases looked at per queue and round. */
const REAP_PAGE = 1000;

/** Options for {@link LeaseReaper}. */
export interface LeaseReaperOptions {
  store: QueueStore;
  /** Asked, before expired leases end, which of their tasks are already finished. */
  repository: Pick<TaskRepository, "finishedStates">;
  transitions: DurableTransitions;
  logger: Logger;
  intervalMs: number;
  now?: () => number;
  /** Told about every lease that ended here, so queues can be woken and back-offs armed. */
  onLeaseEnds: (ends: LeaseEnd[]) => void;
}

/**
 * Ends leases that are no longer backed by a live worker: on a timer for leases past their
 * deadline, and at once for every lease of a stream that closed. Expired leases are first
 * checked against Postgres: a task it has finished is removed instead of run again (Redis
 * lost the writes that ended it). Expiries are rare, so this costs one query now and then; a
 * tick that finds none costs one read per queue.
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
        // Only what was listed (and so checked) is ended: a lease that expires meanwhile waits
        // for the next round.
        const { asOfMs, expired } = await this.options.store.expiredLeases(REAP_PAGE);
        if (expired.size === 0) break;
        const forgotten = await forgetExpiredOfFinished(this.options.store, this.options.repository, expired);
        if (forgotten > 0) {
          this.options.logger.warn({ count: forgotten }, "expired leases of tasks Postgres has finished removed (Redis had lost the writes that ended them)");
        }
        const ends = await this.options.store.reap(REAP_PAGE, [...expired.keys()], asOfMs);
        this.record(ends);
        total += ends.length;
        if (![...expired.values()].some((ids) => ids.length >= REAP_PAGE)) break;
      }
    } catch (error) {
      // Leases Redis ended on the queues that answered are written all the same.
      if (error instanceof LeaseEndsPartlyFailedError) {
        this.record(error.ends);
        total += error.ends.length;
      }
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
    let ends: LeaseEnd[];
    try {
      ends = await this.options.store.release(sessionId, queues);
    } catch (error) {
      // Leases Redis put back on the queues that answered are written all the same.
      if (error instanceof LeaseEndsPartlyFailedError) this.record(error.ends, { error: lostStreamError(cause) });
      throw error;
    }
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
