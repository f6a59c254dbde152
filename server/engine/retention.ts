import { DispatchKeys } from "../redis/keys.js";
import type { Redis } from "ioredis";
import type { FinishedTaskDeleter } from "../db/finished-task-deleter.js";
import type { Logger } from "../observability/logger.js";
import { pauseForDuty } from "./duty-pause.js";
import { lowestTaskIdAt } from "./ids.js";
import { PeriodicTask } from "./periodic-task.js";
import type { Service } from "./service.js";

/** Options for {@link Retention}. */
export interface RetentionOptions {
  deleter: FinishedTaskDeleter;
  /** Holds the lock that lets one server sweep at a time. */
  redis: Redis;
  /** Redis key prefix (the lock is `{<prefix>}:retention-lock`). */
  prefix: string;
  serverId: string;
  logger: Logger;
  /** How long SUCCEEDED, CANCELLED and EXPIRED tasks are kept after they finish, ms; 0 keeps them. */
  finishedRetentionMs: number;
  /** How long DEAD tasks are kept after they die, ms; 0 keeps them until purged or re-driven. */
  deadRetentionMs: number;
  /** Time between sweeps, ms. */
  intervalMs: number;
  /** Tasks looked at per statement. Default 1000. */
  pageSize?: number;
  /** Told how many tasks each page deleted (metrics). */
  onDeleted?: (count: number) => void;
  /** Clock, epoch ms. Default Date.now. */
  now?: () => number;
}

/** Every this many sweeps (and at the first) a sweep looks at every task, not only the newer ones. */
const FULL_SWEEP_EVERY = 30;

/** Share of its time a sweep spends working: it pauses between pages for the rest. */
const SWEEP_DUTY = 0.2;

/**
 * How far the regular sweep reaches back before the previous one's end, ms: tasks created
 * then that finished since, and room for servers' clocks to differ.
 */
const OVERLAP_MS = 10_000;

/**
 * Deletes finished tasks once they are past their retention, so that the tasks table (and
 * with it recovery's full sweep) is bounded by the rate of work times the retention, not
 * by the age of the installation.
 *
 * Ids are time-ordered and a task finishes after it is created, so the tasks that may be
 * past retention have ids below the one made at the cut-off. A regular sweep looks at the
 * ids created since the previous sweep's cut-off (less {@link OVERLAP_MS}); a full sweep,
 * every {@link FULL_SWEEP_EVERY} sweeps, looks at every older id and catches tasks that
 * finished long after they were created (retried, scheduled or long-running ones). Sweeps
 * pause between pages so that they take a fifth of the time, and one server sweeps at a
 * time (a Redis lock that expires after one interval).
 */
export class Retention implements Service {
  private readonly periodic: PeriodicTask;
  private sweeping: Promise<number> | undefined;
  private sweeps = 0;
  /** The previous sweep here covered ids made before this moment (epoch ms); 0: none yet. */
  private sweptUpToMs = 0;
  private readonly now: () => number;

  constructor(private readonly options: RetentionOptions) {
    this.now = options.now ?? Date.now;
    this.periodic = new PeriodicTask({ name: "retention", run: () => this.tick(), intervalMs: options.intervalMs, logger: options.logger });
  }

  /** True when some finished tasks are ever deleted. */
  get enabled(): boolean {
    return this.options.finishedRetentionMs > 0 || this.options.deadRetentionMs > 0;
  }

  /** Starts the periodic sweeps (nothing to do when both retentions are 0). */
  start(): void {
    if (!this.enabled) return;
    this.periodic.start();
  }

  /** Stops the sweeps; a sweep under way ends after its current page, and is waited for. */
  async stop(): Promise<void> {
    await this.periodic.stop();
    await this.sweeping?.catch(() => undefined);
  }

  /** One sweep if this server holds the lock; failures are logged and retried next time. */
  private async tick(): Promise<void> {
    if (this.sweeping) return;
    try {
      const lockKey = new DispatchKeys(this.options.prefix).retentionLock;
      const locked = await this.options.redis.set(lockKey, this.options.serverId, "PX", this.options.intervalMs, "NX");
      if (locked !== "OK") return;
      await this.sweep();
    } catch (error) {
      this.options.logger.warn({ err: error }, "retention sweep failed; will retry");
    }
  }

  /**
   * Deletes the finished tasks past retention now (a full sweep with `full`, otherwise from
   * the previous sweep's cut-off); returns how many. Waits for a sweep under way first.
   */
  async sweep(options: { full?: boolean } = {}): Promise<number> {
    while (this.sweeping) await this.sweeping.catch(() => undefined);
    const run = this.run(options.full ?? false);
    this.sweeping = run;
    try {
      return await run;
    } finally {
      this.sweeping = undefined;
    }
  }

  private async run(fullAsked: boolean): Promise<number> {
    if (!this.enabled) return 0;
    const now = this.now();
    const finishedBefore = cutoff(now, this.options.finishedRetentionMs);
    const deadBefore = cutoff(now, this.options.deadRetentionMs);
    // The latest moment a task past either retention can have been created (plus skew).
    const upToMs = Math.max(finishedBefore?.getTime() ?? 0, deadBefore?.getTime() ?? 0) + OVERLAP_MS;
    const full = this.sweeps++ % FULL_SWEEP_EVERY === 0 || fullAsked || this.sweptUpToMs === 0;
    const fromId = full ? null : lowestTaskIdAt(this.sweptUpToMs - OVERLAP_MS * 2);
    const deleted = await this.deleteRange(fromId, lowestTaskIdAt(upToMs), finishedBefore, deadBefore);
    this.sweptUpToMs = upToMs;
    if (deleted > 0) this.options.logger.info({ deleted, full }, "retention sweep deleted finished tasks");
    return deleted;
  }

  private async deleteRange(fromId: string | null, beforeId: string, finishedBefore: Date | null, deadBefore: Date | null): Promise<number> {
    const limit = this.options.pageSize ?? 1000;
    let afterId = fromId;
    let deleted = 0;
    for (let page = 0; !this.periodic.stopped; page++) {
      const startedAt = performance.now();
      const result = await this.options.deleter.deletePage({ afterId, beforeId, limit, finishedBefore, deadBefore });
      deleted += result.deleted;
      if (result.deleted > 0) this.options.onDeleted?.(result.deleted);
      if (result.scanned < limit || result.lastId === null) break;
      afterId = result.lastId;
      await pauseForDuty(startedAt, SWEEP_DUTY);
    }
    return deleted;
  }
}

function cutoff(nowMs: number, retentionMs: number): Date | null {
  return retentionMs > 0 ? new Date(nowMs - retentionMs) : null;
}
