import { DispatchKeys } from "../redis/keys.js";
import type { RedisClient } from "../redis/connection.js";
import type { FinishedTaskDeleter, FinishedTaskPage, QueueCutoffs } from "../db/finished-task-deleter.js";
import type { Logger } from "../observability/logger.js";
import { pauseForDuty } from "./duty-pause.js";
import { lowestTaskIdAt } from "./ids.js";
import { PeriodicTask } from "./periodic-task.js";
import type { StoredQueueSettings } from "./queue-settings.js";
import type { Service } from "./service.js";

/** Options for {@link Retention}. */
export interface RetentionOptions {
  deleter: FinishedTaskDeleter;
  /** Holds the lock that lets one server sweep at a time. */
  redis: RedisClient;
  /** Redis key prefix (the lock is `{<prefix>}:retention-lock`). */
  prefix: string;
  serverId: string;
  logger: Logger;
  /** How long SUCCEEDED, CANCELLED and EXPIRED tasks are kept after they finish, ms; 0 keeps them. */
  finishedRetentionMs: number;
  /** How long DEAD tasks are kept after they die, ms; 0 keeps them until purged or re-driven. */
  deadRetentionMs: number;
  /**
   * Every queue's stored settings (UpdateQueue): a queue's `finishedRetentionMs` and
   * `deadRetentionMs` replace the two above for its tasks. Default: none.
   */
  queueSettings?: () => ReadonlyMap<string, StoredQueueSettings>;
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
 *
 * Each retention in force (the server's two, and those queues set for themselves with
 * UpdateQueue) has its own regular window: the ids made between its previous cut-off and its
 * current one. A sweep looks at the union of the windows (merged where they overlap), judging
 * every task by its queue's cut-offs; a full sweep reaches up to the latest cut-off. A change
 * of the queues' retentions makes the next sweep a full one.
 */
export class Retention implements Service {
  private readonly periodic: PeriodicTask;
  private sweeping: Promise<number> | undefined;
  private sweeps = 0;
  /** When the previous sweep here took its cut-offs (epoch ms); 0: none yet. */
  private sweptAtMs = 0;
  /** The queues' own retentions the previous sweep used (a change asks for a full sweep). */
  private sweptQueueRetentions = "";
  private readonly now: () => number;

  constructor(private readonly options: RetentionOptions) {
    this.now = options.now ?? Date.now;
    this.periodic = new PeriodicTask({ name: "retention", run: () => this.tick(), intervalMs: options.intervalMs, logger: options.logger });
  }

  /** True when some finished tasks are ever deleted (by the server's or a queue's retention). */
  get enabled(): boolean {
    if (this.options.finishedRetentionMs > 0 || this.options.deadRetentionMs > 0) return true;
    return this.queueRetentions().some((q) => q.finishedMs || q.deadMs);
  }

  /** Starts the periodic sweeps (a sweep with every retention 0 does nothing). */
  start(): void {
    this.periodic.start();
  }

  /** Stops the sweeps; a sweep under way ends after its current page, and is waited for. */
  async stop(): Promise<void> {
    await this.periodic.stop();
    await this.sweeping?.catch(() => undefined);
  }

  /** One sweep if this server holds the lock; failures are logged and retried next time. */
  private async tick(): Promise<void> {
    if (this.sweeping || !this.enabled) return;
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
    const retentions = this.queueRetentions();
    const queues = retentions.map(({ queue, finishedMs, deadMs }): QueueCutoffs => ({
      queue,
      finishedBefore: finishedMs === undefined ? undefined : cutoff(now, finishedMs),
      deadBefore: deadMs === undefined ? undefined : cutoff(now, deadMs),
    }));
    const inForce = new Set(
      [this.options.finishedRetentionMs, this.options.deadRetentionMs, ...retentions.flatMap((r) => [r.finishedMs ?? 0, r.deadMs ?? 0])].filter((ms) => ms > 0),
    );
    const signature = JSON.stringify(retentions);
    const full = this.sweeps++ % FULL_SWEEP_EVERY === 0 || fullAsked || this.sweptAtMs === 0 || signature !== this.sweptQueueRetentions;
    // Tasks past a retention r were created before now - r (plus skew between clocks).
    const windows = full
      ? [{ fromMs: null, toMs: now - Math.min(...inForce) + OVERLAP_MS }]
      : mergedWindows([...inForce].map((r) => ({ fromMs: this.sweptAtMs - r - OVERLAP_MS, toMs: now - r + OVERLAP_MS })));
    let deleted = 0;
    for (const w of windows) {
      const fromId = w.fromMs === null ? null : lowestTaskIdAt(w.fromMs);
      deleted += await this.deleteRange(fromId, lowestTaskIdAt(w.toMs), { finishedBefore, deadBefore, queues });
    }
    this.sweptAtMs = now;
    this.sweptQueueRetentions = signature;
    if (deleted > 0) this.options.logger.info({ deleted, full }, "retention sweep deleted finished tasks");
    return deleted;
  }

  /** The queues with a retention of their own, in name order. */
  private queueRetentions(): Array<{ queue: string; finishedMs?: number; deadMs?: number }> {
    const out: Array<{ queue: string; finishedMs?: number; deadMs?: number }> = [];
    for (const [queue, s] of this.options.queueSettings?.() ?? []) {
      if (s.finishedRetentionMs === undefined && s.deadRetentionMs === undefined) continue;
      out.push({ queue, finishedMs: s.finishedRetentionMs, deadMs: s.deadRetentionMs });
    }
    return out.sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0));
  }

  private async deleteRange(
    fromId: string | null,
    beforeId: string,
    cutoffs: Pick<FinishedTaskPage, "finishedBefore" | "deadBefore" | "queues">,
  ): Promise<number> {
    const limit = this.options.pageSize ?? 1000;
    let afterId = fromId;
    let deleted = 0;
    for (let page = 0; !this.periodic.stopped; page++) {
      const startedAt = performance.now();
      const result = await this.options.deleter.deletePage({ afterId, beforeId, limit, ...cutoffs });
      deleted += result.deleted;
      if (result.deleted > 0) this.options.onDeleted?.(result.deleted);
      if (result.scanned < limit || result.lastId === null) break;
      afterId = result.lastId;
      await pauseForDuty(startedAt, SWEEP_DUTY);
    }
    return deleted;
  }
}

/** Id windows by creation time (ms), sorted and merged where they overlap. */
function mergedWindows(windows: Array<{ fromMs: number; toMs: number }>): Array<{ fromMs: number; toMs: number }> {
  const out: Array<{ fromMs: number; toMs: number }> = [];
  for (const w of windows.sort((a, b) => a.fromMs - b.fromMs)) {
    const last = out.at(-1);
    if (last && w.fromMs <= last.toMs) last.toMs = Math.max(last.toMs, w.toMs);
    else out.push({ ...w });
  }
  return out;
}

function cutoff(nowMs: number, retentionMs: number): Date | null {
  return retentionMs > 0 ? new Date(nowMs - retentionMs) : null;
}
