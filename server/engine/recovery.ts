import type { Redis } from "ioredis";
import type { TaskRow } from "../db/schema.js";
import type { TaskRepository } from "../db/task-repository.js";
import type { Logger } from "../observability/logger.js";
import type { EnqueueItem, QueueStore } from "../redis/queue-store.js";
import type { DurableTransitions } from "./durable-transitions.js";
import type { TaskTransition } from "./task-records.js";
import { newTaskOfRow } from "./task-of-row.js";

/** Options for {@link Recovery}. */
export interface RecoveryOptions {
  repository: TaskRepository;
  store: QueueStore;
  redis: Redis;
  transitions: DurableTransitions;
  logger: Logger;
  serverId: string;
  intervalMs: number;
  onReady: (queues: string[]) => void;
  onDue: (dueMs: number) => void;
}

/** Every this many ticks the sweep covers every unfinished task, not only recent ones. */
const FULL_SWEEP_EVERY = 30;

/** Tasks younger than this are left alone by the windowed sweep (their submit may be in flight). */
const SETTLE_MS = 2_000;

/**
 * Rebuilds the Redis dispatch state from Postgres, the system of record: every unfinished
 * task that Redis does not know is enqueued again (a RUNNING one counts its lost attempt).
 * Runs fully at start-up and whenever Redis shows it lost its data (the epoch marker is
 * gone); otherwise sweeps the tasks changed recently, which covers a crash between the
 * Postgres commit and the Redis enqueue, plus a full sweep every {@link FULL_SWEEP_EVERY}
 * ticks. One server sweeps at a time (a Redis lock).
 */
export class Recovery {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private fullNeeded = true;
  private ticks = 0;

  constructor(private readonly options: RecoveryOptions) {}

  /** Starts a full sweep in the background, then periodic ones. */
  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the periodic sweep. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** Asks for a sweep soon (e.g. after an enqueue failed). */
  request(): void {
    setTimeout(() => void this.tick(), SETTLE_MS).unref();
  }

  /** One sweep: full if needed, windowed otherwise. Returns how many tasks were re-enqueued. */
  async tick(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    try {
      if (await this.options.store.ensureEpochMarker()) this.fullNeeded = true;
      if (++this.ticks % FULL_SWEEP_EVERY === 0) this.fullNeeded = true;
      const lockKey = `${this.options.store.prefix}recovery-lock`;
      const locked = await this.options.redis.set(lockKey, this.options.serverId, "PX", this.options.intervalMs, "NX");
      if (locked !== "OK" && !this.fullNeeded) return 0;
      const full = this.fullNeeded;
      const window = full
        ? undefined
        : { from: new Date(Date.now() - 3 * this.options.intervalMs - SETTLE_MS), to: new Date(Date.now() - SETTLE_MS) };
      const restored = await this.sweep(window);
      this.fullNeeded = false;
      if (restored > 0 || full) this.options.logger.info({ restored, full }, "recovery sweep done");
      return restored;
    } catch (error) {
      this.options.logger.warn({ err: error }, "recovery sweep failed; will retry");
      return 0;
    } finally {
      this.sweeping = false;
    }
  }

  private async sweep(window?: { from: Date; to: Date }): Promise<number> {
    let afterId: string | null = null;
    let restored = 0;
    for (;;) {
      const rows = await this.options.repository.unfinishedPage(afterId, 1000, window);
      if (rows.length === 0) break;
      afterId = rows[rows.length - 1]!.id;
      const absent = new Set(await this.options.store.absent(rows.map((r) => r.id)));
      const missing = rows.filter((r) => absent.has(r.id));
      if (missing.length > 0) restored += await this.restore(missing);
      if (rows.length < 1000) break;
    }
    return restored;
  }

  private async restore(rows: TaskRow[]): Promise<number> {
    const items: EnqueueItem[] = [];
    const transitions: TaskTransition[] = [];
    for (const row of rows) {
      const lostAttempt = row.state === "RUNNING";
      if (lostAttempt && row.attempt >= row.max_attempts) {
        transitions.push(recoveredTransition(row, "DEAD"));
        continue;
      }
      if (lostAttempt) transitions.push(recoveredTransition(row, "QUEUED"));
      const delayed = (row.state === "SCHEDULED" || row.state === "FAILED") && row.scheduled_at;
      items.push({ task: newTaskOfRow(row), attempt: row.attempt, dueMs: delayed ? row.scheduled_at!.getTime() : 0 });
    }
    await this.options.transitions.write(transitions);
    const { added, readyQueues } = await this.options.store.enqueue(items);
    if (readyQueues.length > 0) this.options.onReady(readyQueues);
    const dues = items.filter((i) => i.dueMs > 0).map((i) => i.dueMs);
    if (dues.length > 0) this.options.onDue(Math.min(...dues));
    return added + transitions.filter((t) => t.state === "DEAD").length;
  }
}

function recoveredTransition(row: TaskRow, state: "QUEUED" | "DEAD"): TaskTransition {
  return {
    id: row.id,
    state,
    attempt: row.attempt,
    workerId: row.worker_id,
    startedAt: row.started_at,
    finishedAt: state === "DEAD" ? new Date() : null,
    scheduledAt: null,
    result: null,
    resultFormat: null,
    error: { message: "dispatch state lost while the task was running", type: "LeaseLost", attempt: row.attempt },
    attemptOutcome: "WORKER_LOST",
    attemptEndedAt: new Date(),
  };
}
