import type { RedisClient } from "../redis/connection.js";
import type { AttemptKey, OpenAttemptRepairer } from "../db/open-attempt-repairer.js";
import type { TaskRow } from "../db/schema.js";
import type { TaskRepository } from "../db/task-repository.js";
import type { Logger } from "../observability/logger.js";
import { keySlot } from "../redis/key-slot.js";
import type { EnqueueItem, ProbeFinding, QueueStore, TaskRef } from "../redis/queue-store.js";
import type { DurableTransitions } from "./durable-transitions.js";
import { pauseForDuty } from "./duty-pause.js";
import { forgetFinishedLeftovers } from "./finished-leftovers.js";
import { lowestTaskIdAt } from "./ids.js";
import { bareTransition, type TaskTransition } from "./task-records.js";
import { newTaskOfRow } from "./task-of-row.js";
import { PeriodicTask } from "./periodic-task.js";
import type { Service } from "./service.js";

/** Options for {@link Recovery}. */
export interface RecoveryOptions {
  repository: TaskRepository;
  /** Closes attempt rows a stopped server left open (the first full sweep after start-up). */
  attempts: OpenAttemptRepairer;
  store: QueueStore;
  redis: RedisClient;
  transitions: DurableTransitions;
  logger: Logger;
  serverId: string;
  intervalMs: number;
  onReady: (queues: string[]) => void;
  onDue: (dueMs: number) => void;
  /**
   * Runs at the start of each full sweep, before anything is re-enqueued: rebuilds dispatch
   * state kept beside the tasks (the paused queue names).
   */
  beforeFullSweep?: () => Promise<void>;
}

/** Every this many ticks the sweep covers every unfinished task, not only recent ones. */
const FULL_SWEEP_EVERY = 30;

/**
 * Wait before looking at tasks whose results failed to record: the Redis error behind it (a
 * failover) is usually over by then, and the stream's worker has reconnected.
 */
const UNWRITTEN_CHECK_MS = 1_000;

/** States a task never leaves. */
const FINISHED_STATES = new Set(["SUCCEEDED", "DEAD", "CANCELLED", "EXPIRED"]);

/** Tasks younger than this are left alone by the windowed sweep (their submit may be in flight). */
const SETTLE_MS = 2_000;

/** Share of its time the regular sweep spends working: it pauses between pages for the rest. */
const REGULAR_SWEEP_DUTY = 0.2;

/** Attempt rows looked at per page of the repair of open attempts. */
const ATTEMPT_PAGE = 1000;

/** How far back each regular sweep reaches before the last one: room for servers' clocks to differ. */
const CLOCK_SKEW_MS = 1_000;

/**
 * A sweep that failed with work pending (lost slots, unwritten results, a full sweep) is tried
 * again this soon, the wait doubling up to {@link RETRY_MAX_MS} while it keeps failing: a failover
 * still settling (CLUSTERDOWN, MOVED, TRYAGAIN, a dropped connection) is usually over in seconds,
 * and the interval may be minutes.
 */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 4_000;

/**
 * Rebuilds the Redis dispatch state from Postgres, the system of record: every unfinished
 * task that Redis does not know is enqueued again (a RUNNING one counts its lost attempt).
 * Runs fully at start-up and whenever Redis shows it lost its data (the epoch marker is
 * gone); otherwise sweeps the tasks created since its last sweep (paced, see
 * {@link REGULAR_SWEEP_DUTY}), a backstop for a crash between a submit's Postgres commit and
 * its Redis enqueue, plus a full sweep every {@link FULL_SWEEP_EVERY} ticks and on request
 * (an enqueue failed, a server died). The first full sweep after start-up also closes the
 * attempt rows a stopped server left open (see {@link OpenAttemptRepairer}). One server
 * sweeps at a time (a Redis lock). In a Redis Cluster, slots whose master changed (a
 * failover, a restart: see SlotOwnerWatch) get their queues swept whole at once
 * ({@link requestSlots}), with the leases and queued entries Redis still holds there for tasks
 * Postgres has finished removed, and results whose recording failed are looked at
 * ({@link checkUnwritten}); those run on every server that asks, without the lock.
 */
export class Recovery implements Service {
  private readonly periodic: PeriodicTask<number>;
  private fullNeeded = true;
  /** Redis Cluster slots that may have lost writes, whose queues the next sweep covers whole. */
  private readonly lostSlots = new Set<number>();
  /**
   * Leases of those slots granted before this (epoch ms) come from their former masters: the
   * only ones {@link forgetLeftovers} may remove.
   */
  private leftBehindBeforeMs = Number.POSITIVE_INFINITY;
  /**
   * Tasks whose result this server fenced, or may have, without writing the outcome, with when
   * the recording failed (epoch ms).
   */
  private readonly unwritten = new Map<string, { task: TaskRef; failedAtMs: number }>();
  private ticks = 0;
  /** Tasks created before this (epoch ms) were covered by a sweep here. */
  private sweptUpToMs = Date.now() - SETTLE_MS;
  /** Whether this server's first full sweep has closed the attempt rows left open. */
  private attemptsRepaired = false;
  /** Wait before retrying a failed sweep that had work pending; 0 after a sweep that succeeded. */
  private retryMs = 0;

  constructor(private readonly options: RecoveryOptions) {
    this.periodic = new PeriodicTask({
      name: "recovery",
      run: () => this.sweepOnce(),
      intervalMs: options.intervalMs,
      runAtStart: true,
      logger: options.logger,
    });
  }

  /** Starts a full sweep in the background, then periodic ones. */
  start(): void {
    this.periodic.start();
  }

  /** Stops the periodic sweep; a sweep under way ends after its current page, and is waited for. */
  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** Asks for a full sweep now (e.g. a server died with outcomes it had not written). */
  requestFull(): void {
    this.fullNeeded = true;
    this.periodic.request();
  }

  /**
   * Asks for a full sweep soon (e.g. after an enqueue failed: the regular sweep may already
   * have passed the task's creation time while its commit was slow).
   */
  request(): void {
    this.fullNeeded = true;
    this.periodic.request(SETTLE_MS);
  }

  /**
   * Asks for a look at tasks whose results this server failed to record (a Redis error: the
   * fencing script may have finished them without its reply arriving). Those Redis shows
   * finished while Postgres does not run again, their outcome being lost.
   */
  checkUnwritten(tasks: readonly TaskRef[]): void {
    if (tasks.length === 0) return;
    const failedAtMs = Date.now();
    for (const task of tasks) this.unwritten.set(task.id, { task, failedAtMs });
    this.periodic.request(UNWRITTEN_CHECK_MS);
  }

  /**
   * Asks for a sweep, now, of every unfinished task of the queues whose Redis Cluster hash
   * slot is in `slots` (their master failed over or restarted: it may have lost writes).
   * The cross-queue slot among them (the queue registry's) makes it a full sweep. `afterMs`:
   * the new masters took the slots after this time (epoch ms; default now).
   */
  requestSlots(slots: Iterable<number>, afterMs = Date.now()): void {
    for (const slot of slots) this.lostSlots.add(slot);
    // Servers' clocks may differ: a lease another server granted on a new master could carry
    // a start up to CLOCK_SKEW_MS earlier than this server's clock says.
    this.leftBehindBeforeMs = Math.min(this.leftBehindBeforeMs, afterMs - CLOCK_SKEW_MS);
    if (this.lostSlots.has(keySlot(this.options.store.keys.crossQueue))) this.fullNeeded = true;
    this.periodic.request();
  }

  /**
   * One sweep: full if asked or needed, windowed otherwise. Returns how many tasks were
   * re-enqueued (0 when another sweep was running: this one then follows it).
   */
  async tick(options: { full?: boolean } = {}): Promise<number> {
    if (options.full) this.fullNeeded = true;
    return (await this.periodic.runNow()) ?? 0;
  }

  private async sweepOnce(): Promise<number> {
    let full = false;
    let slots: Set<number> | undefined;
    // Slots that changed master also get their leftovers of finished tasks removed, full sweep or not.
    let changed: Set<number> | undefined;
    let leasedBeforeMs = Number.POSITIVE_INFINITY;
    try {
      if (await this.options.store.ensureEpochMarker()) this.fullNeeded = true;
      if (++this.ticks % FULL_SWEEP_EVERY === 0) this.fullNeeded = true;
      // Slots that may have lost writes: every server that noticed sweeps their queues (no lock).
      if (this.lostSlots.size > 0) {
        slots = new Set(this.lostSlots);
        this.lostSlots.clear();
        leasedBeforeMs = this.leftBehindBeforeMs;
        this.leftBehindBeforeMs = Number.POSITIVE_INFINITY;
      }
      const lockKey = this.options.store.keys.recoveryLock;
      const locked = await this.options.redis.set(lockKey, this.options.serverId, "PX", this.options.intervalMs, "NX");
      if (locked !== "OK" && !this.fullNeeded && !slots && this.unwritten.size === 0) return 0;
      full = this.fullNeeded;
      this.fullNeeded = false;
      changed = slots;
      if (full) slots = undefined;
      // The regular sweep looks at the tasks created since the last sweep that succeeded here
      // (their ids), so each is looked at about once; a full sweep covers everything older.
      const sweptUpTo = Date.now() - SETTLE_MS;
      const window =
        full || slots
          ? undefined
          : { fromId: lowestTaskIdAt(Math.min(this.sweptUpToMs, sweptUpTo) - CLOCK_SKEW_MS), toId: lowestTaskIdAt(sweptUpTo) };
      if (full || slots) await this.options.beforeFullSweep?.();
      const lost = slots;
      let restored = await this.restoreUnwritten();
      restored += await this.sweep(window, lost && ((queue) => lost.has(keySlot(this.options.store.keys.queue(queue).tagged))));
      if (!slots) this.sweptUpToMs = sweptUpTo;
      const forgotten = changed ? await this.forgetLeftovers(changed, leasedBeforeMs) : 0;
      // Once per start: the writer closes such rows as tasks move on (migration 0007); this
      // catches rows left before that, or by a path it does not see.
      let repaired = 0;
      if (full && !this.attemptsRepaired) {
        repaired = await this.repairOpenAttempts();
        this.attemptsRepaired = true;
      }
      if (restored > 0 || full || changed) this.options.logger.info({ restored, forgotten, repaired, full, slots: changed?.size }, "recovery sweep done");
      this.retryMs = 0;
      return restored;
    } catch (error) {
      if (full) this.fullNeeded = true;
      for (const slot of changed ?? slots ?? []) this.lostSlots.add(slot);
      this.leftBehindBeforeMs = Math.min(this.leftBehindBeforeMs, leasedBeforeMs);
      const retryInMs = this.retrySoon();
      this.options.logger.warn({ err: error, retryInMs }, "recovery sweep failed; will retry");
      return 0;
    }
  }

  /**
   * After a failed sweep: when work is pending that the next regular tick may be too far off
   * for (lost slots, unwritten results, a full sweep), asks for a run soon, backing off while
   * sweeps keep failing; returns the wait (undefined: the next regular tick retries).
   */
  private retrySoon(): number | undefined {
    if (!this.fullNeeded && this.lostSlots.size === 0 && this.unwritten.size === 0) return undefined;
    this.retryMs = this.retryMs === 0 ? RETRY_FIRST_MS : Math.min(this.retryMs * 2, RETRY_MAX_MS);
    this.periodic.request(this.retryMs);
    return this.retryMs;
  }

  /**
   * Removes the leases, ready and delayed entries that the queues of `slots` still hold for
   * tasks Postgres has finished (see {@link forgetFinishedLeftovers}); returns how many.
   */
  private async forgetLeftovers(slots: ReadonlySet<number>, leasedBeforeMs: number): Promise<number> {
    const queues = (await this.options.store.knownQueues()).filter((queue) => slots.has(keySlot(this.options.store.keys.queue(queue).tagged)));
    return forgetFinishedLeftovers(this.options.store, this.options.repository, queues, leasedBeforeMs, () => this.periodic.stopped);
  }

  /** Looks at the tasks {@link checkUnwritten} was told of; returns how many were restored. */
  private async restoreUnwritten(): Promise<number> {
    if (this.unwritten.size === 0) return 0;
    const entries = [...this.unwritten.values()];
    this.unwritten.clear();
    try {
      // A task finished after its recording failed ended a later lease: not this failure's.
      const findings = await this.options.store.inspect(
        entries.map((e) => e.task),
        new Map(entries.map((e) => [e.task.id, e.failedAtMs])),
      );
      if (findings.length === 0) return 0;
      const rows = await this.options.repository.getMany(findings.map((f) => f.id));
      // Only what Postgres still has unfinished: an outcome that was written after all stays.
      const open = findings.filter((f) => rows.has(f.id) && !FINISHED_STATES.has(rows.get(f.id)!.state));
      return await this.restore(open.map((f) => ({ row: rows.get(f.id)!, finding: f })));
    } catch (error) {
      for (const entry of entries) if (!this.unwritten.has(entry.task.id)) this.unwritten.set(entry.task.id, entry);
      throw error;
    }
  }

  /**
   * Re-enqueues the unfinished tasks Redis does not back: those created in `window`, or every
   * one; with `inQueue`, only those of the queues it accepts. A sweep without a window also
   * lists again in Redis' queue registry the queues of the tasks it looks at (a registry that
   * lost writes would hide them from the sweeps over queues).
   */
  private async sweep(window?: { fromId: string; toId: string }, inQueue?: (queue: string) => boolean): Promise<number> {
    let afterId: string | null = null;
    let restored = 0;
    let pageStartedAt = performance.now();
    for (let page = 0; !this.periodic.stopped; page++) {
      // The regular sweep is a backstop: it takes its time, so that a burst of submissions
      // (all of them recent) does not take Redis and Postgres away from dispatch.
      if (window && page > 0) await pauseForDuty(pageStartedAt, REGULAR_SWEEP_DUTY);
      pageStartedAt = performance.now();
      // Ids only: nearly every task is fine, and only those Redis does not back are read whole.
      const ids = await this.options.repository.unfinishedPage(afterId, 1000, window);
      if (ids.length === 0) break;
      afterId = ids[ids.length - 1]!.id;
      const tasks = inQueue ? ids.filter((t) => inQueue(t.queue)) : ids;
      if (!window && tasks.length > 0) await this.options.store.registerQueues(tasks.map((t) => t.queue));
      const findings = await this.options.store.inspect(tasks);
      if (findings.length > 0) {
        const rows = await this.options.repository.getMany(findings.map((f) => f.id));
        const cases = findings.filter((f) => rows.has(f.id)).map((f) => ({ row: rows.get(f.id)!, finding: f }));
        restored += await this.restore(cases);
      }
      if (ids.length < 1000) break;
    }
    return restored;
  }

  /** Closes open attempt rows of tasks that moved on, a page at a time; returns how many. */
  private async repairOpenAttempts(): Promise<number> {
    let after: AttemptKey | null = null;
    let repaired = 0;
    while (!this.periodic.stopped) {
      const page = await this.options.attempts.repairPage({ after, limit: ATTEMPT_PAGE, settleMs: SETTLE_MS });
      repaired += page.repaired;
      if (page.scanned < ATTEMPT_PAGE || !page.last) break;
      after = page.last;
    }
    return repaired;
  }

  private async restore(cases: Array<{ row: TaskRow; finding: ProbeFinding }>): Promise<number> {
    const items: EnqueueItem[] = [];
    const replacing: EnqueueItem[] = [];
    const transitions: TaskTransition[] = [];
    for (const { row, finding } of cases) {
      if (finding.kind === "cancelled" || finding.kind === "expired") {
        // Finished in Redis; Postgres only lacks the terminal state.
        const state = finding.kind === "cancelled" ? "CANCELLED" : "EXPIRED";
        transitions.push({ ...bareTransition(row.id, state, Math.max(row.attempt, finding.attempt)), finishedAt: new Date() });
        continue;
      }
      // 'lost': the outcome was fenced by a server that died before writing it.
      const attempt = Math.max(row.attempt, finding.attempt);
      const lostAttempt = row.state === "RUNNING" || finding.kind === "lost";
      if (lostAttempt && attempt >= row.max_attempts) {
        transitions.push(recoveredTransition(row, "DEAD", attempt));
        continue;
      }
      if (lostAttempt) transitions.push(recoveredTransition(row, "QUEUED", attempt));
      const delayed = (row.state === "SCHEDULED" || row.state === "FAILED") && row.scheduled_at && !lostAttempt;
      const item = { task: newTaskOfRow(row), attempt, dueMs: delayed ? row.scheduled_at!.getTime() : 0 };
      (finding.kind === "lost" ? replacing : items).push(item);
    }
    await this.options.transitions.write(transitions);
    let added = 0;
    for (const [batch, replaceFinished] of [[items, false], [replacing, true]] as const) {
      if (batch.length === 0) continue;
      const result = await this.options.store.enqueue(batch, { replaceFinished });
      added += result.added;
      if (result.readyQueues.length > 0) this.options.onReady(result.readyQueues);
      const dues = batch.filter((i) => i.dueMs > 0).map((i) => i.dueMs);
      if (dues.length > 0) this.options.onDue(Math.min(...dues));
    }
    return added + transitions.filter((t) => t.state !== "QUEUED").length;
  }
}

function recoveredTransition(row: TaskRow, state: "QUEUED" | "DEAD", attempt: number): TaskTransition {
  return {
    id: row.id,
    state,
    attempt,
    workerId: row.worker_id,
    startedAt: row.started_at ?? row.updated_at,
    finishedAt: state === "DEAD" ? new Date() : null,
    scheduledAt: null,
    result: null,
    resultFormat: null,
    error: { message: "dispatch state or outcome lost with a server or Redis while the task ran", type: "LeaseLost", attempt },
    attemptOutcome: "WORKER_LOST",
    attemptEndedAt: new Date(),
  };
}
