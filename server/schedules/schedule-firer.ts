import type pg from "pg";
import type { InsertOutcome, TaskInserter } from "../db/task-inserter.js";
import { withTransaction } from "../db/transaction.js";
import { terminalStates } from "../db/schema.js";
import type { NewTask, TraceContext } from "../engine/task-records.js";
import { NotFoundError, TaskQueueError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { SubmitPolicy } from "../services/submit-validation.js";
import { boundsOf, dateOrNull, scheduleOfRow, type FiringOutcomeName, type ScheduleRow, type StoredSchedule } from "./schedule-record.js";
import { wakeOf } from "./schedule-repository.js";
import { Ticker } from "./schedule-spec.js";
import { tickTask } from "./tick-task.js";

/** Options for {@link ScheduleFirer}. */
export interface ScheduleFirerOptions {
  pool: pg.Pool;
  inserter: Pick<TaskInserter, "insertWithin">;
  /** Limits and defaults the template's task is validated with (as SubmitTask's). */
  policy: SubmitPolicy;
  /** Adds committed tasks to the dispatch state (never rejects: recovery covers a failure). */
  enqueue: (tasks: NewTask[]) => Promise<void>;
  logger: Logger;
  /** CATCHUP_POLICY_ALL fires at most this many missed ticks (the latest). */
  catchupMax: number;
  /** A tick later than this, ms, counts as missed. */
  misfireGraceMs: number;
  /** Firings kept per schedule (GetSchedule shows the latest 20). */
  firingsKept?: number;
  /** Most schedules one pass looks at. Default 500. */
  batchSize?: number;
  /** Schedules fired at once, each in its own transaction. Default 4. */
  concurrency?: number;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Told, for each tick's task submitted, how late it was committed, ms. */
  onSubmitted?: (lateMs: number) => void;
  /** With tracing on: gives a task a tick created a trace context (a trace of its own). */
  trace?: {
    tick: (scheduleId: string, tickMs: number, task: NewTask) => void;
  };
}

/** What one firing transaction recorded for one tick. */
export interface PlannedFiring {
  tickMs: number;
  outcome: FiringOutcomeName;
  task?: NewTask;
  missedTicks?: number;
  detail?: string;
}

/** What {@link ScheduleFirer.fireDue} did. */
export interface FirePass {
  /** Schedules fired (their state advanced). */
  fired: number;
  /** Tasks submitted. */
  submitted: number;
  /** True when more schedules may be due than one pass looked at. */
  more: boolean;
}

const DUE_SQL = "SELECT id FROM schedules WHERE wake_at <= $1 ORDER BY wake_at LIMIT $2";
const LOCK_DUE_SQL = "SELECT * FROM schedules WHERE id = $1 AND wake_at <= $2 FOR UPDATE SKIP LOCKED";
const UNFINISHED_SQL = "SELECT 1 FROM tasks WHERE id = $1 AND NOT (state = ANY($2::text[]))";

const INSERT_FIRINGS_SQL = `
INSERT INTO schedule_firings (schedule_id, tick_at, triggered, fired_at, outcome, task_id, missed_ticks, detail)
SELECT $1, to_timestamp(u.tick_ms / 1000.0), $2, to_timestamp($3 / 1000.0), u.outcome, u.task_id, u.missed, u.detail
FROM unnest($4::float8[], $5::text[], $6::uuid[], $7::bigint[], $8::text[]) AS u(tick_ms, outcome, task_id, missed, detail)
ON CONFLICT DO NOTHING
RETURNING tick_at`;

const PRUNE_FIRINGS_SQL = `
DELETE FROM schedule_firings WHERE schedule_id = $1 AND tick_at < (
  SELECT tick_at FROM schedule_firings WHERE schedule_id = $1 ORDER BY tick_at DESC OFFSET $2 LIMIT 1)`;

/** The guarded advance: only from the state this transaction read. */
const ADVANCE_SQL = `
UPDATE schedules SET next_fire_at = $3, buffered_tick = $4, wake_at = $5, last_task_id = $6
WHERE id = $1 AND version = $2
  AND date_trunc('milliseconds', next_fire_at) IS NOT DISTINCT FROM $7
  AND date_trunc('milliseconds', buffered_tick) IS NOT DISTINCT FROM $8`;

/** A schedule whose firing failed is looked at again this much later, ms. */
const FAILED_FIRING_RETRY_MS = 1_000;

/** Thrown inside a firing transaction that finds its tick already recorded: it rolls back. */
class TickAlreadyFired extends Error {}

/**
 * Fires due schedules, each tick exactly once however many servers run: one transaction per
 * schedule locks its row (skipping rows another server holds), submits the due ticks' tasks
 * with deterministic idempotency keys, records the ticks in `schedule_firings` (unique per
 * schedule and tick) and advances `next_fire_at` with a conditional update. Only after the
 * commit are the tasks enqueued to Redis; if that fails, recovery enqueues them.
 */
export class ScheduleFirer {
  private readonly now: () => number;

  constructor(private readonly options: ScheduleFirerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Fires every schedule due now (up to the batch size). */
  async fireDue(): Promise<FirePass> {
    const batch = this.options.batchSize ?? 500;
    const { rows } = await this.options.pool.query<{ id: string }>(DUE_SQL, [new Date(this.now()), batch]);
    const pass: FirePass = { fired: 0, submitted: 0, more: rows.length === batch };
    const ids = rows.map((r) => r.id);
    const lanes = Array.from({ length: Math.min(ids.length, this.options.concurrency ?? 4) }, async () => {
      for (let id = ids.shift(); id !== undefined; id = ids.shift()) {
        try {
          const tasks = await this.fireOne(id);
          if (tasks === undefined) continue;
          pass.fired++;
          pass.submitted += tasks.length;
          if (tasks.length > 0) await this.options.enqueue(tasks);
        } catch (error) {
          // A tick already recorded (which the row lock rules out) rolled everything back.
          const message = error instanceof TickAlreadyFired ? "a schedule's tick was already fired; nothing written" : "firing a schedule failed; it is retried shortly";
          this.options.logger.warn({ err: error, schedule: id }, message);
          // Looked at again a little later, not on every pass meanwhile (Postgres permitting).
          await this.options.pool
            .query("UPDATE schedules SET wake_at = $2 WHERE id = $1 AND wake_at < $2", [id, new Date(this.now() + FAILED_FIRING_RETRY_MS)])
            .catch(() => undefined);
        }
      }
    });
    await Promise.all(lanes);
    return pass;
  }

  /** The earliest time any schedule wants a look, epoch ms; null when none does. */
  async earliestWake(): Promise<number | null> {
    const { rows } = await this.options.pool.query<{ w: Date | null }>("SELECT min(wake_at) AS w FROM schedules");
    return rows[0]?.w?.getTime() ?? null;
  }

  /**
   * Fires a schedule once, now, whatever its spec, pause and overlap policy. Resolves with the
   * task (committed and enqueued) and the firing recorded; NotFoundError when no schedule has
   * the id, the template's validation errors (`template.` fields) when it cannot be submitted.
   * The task carries `trace` (the TriggerSchedule call's trace context) when given.
   */
  async trigger(id: string, trace?: TraceContext): Promise<{ taskId: string; firing: PlannedFiring; firedMs: number }> {
    const { task, outcome, firedMs } = await withTransaction(this.options.pool, async (client) => {
      const { rows } = await client.query<ScheduleRow>("SELECT * FROM schedules WHERE id = $1 FOR UPDATE", [id]);
      if (!rows[0]) throw new NotFoundError(`schedule "${id}" not found`);
      const s = scheduleOfRow(rows[0]);
      const nowMs = this.now();
      const task = tickTask(s.id, s.template, nowMs, { triggered: true, policy: this.options.policy, nowMs });
      if (trace) task.trace = trace;
      const [outcome] = await this.options.inserter.insertWithin(client, [task]);
      await this.record(client, s.id, true, nowMs, [{ tickMs: nowMs, outcome: "TRIGGERED", task }], [outcome!]);
      await client.query("UPDATE schedules SET last_task_id = $2 WHERE id = $1", [s.id, outcome!.id]);
      return { task, outcome: outcome!, firedMs: nowMs };
    });
    if (!outcome.existing) await this.options.enqueue([task]);
    return { taskId: outcome.id, firing: { tickMs: firedMs, outcome: "TRIGGERED", task }, firedMs };
  }

  /**
   * Fires one schedule if it is still due and no other server holds it: the tasks committed
   * (to enqueue), or undefined when there was nothing to do.
   */
  async fireOne(id: string): Promise<NewTask[] | undefined> {
    return withTransaction(this.options.pool, async (client) => {
      const nowMs = this.now();
      const { rows } = await client.query<ScheduleRow>(LOCK_DUE_SQL, [id, new Date(nowMs)]);
      if (!rows[0]) return undefined;
      const s = scheduleOfRow(rows[0]);
      const plan = await this.plan(client, s, nowMs);
      const tasks = plan.firings.flatMap((f) => (f.task ? [f.task] : []));
      const traceTick = this.options.trace?.tick;
      if (traceTick) for (const f of plan.firings) if (f.task) traceTick(s.id, f.tickMs, f.task);
      const outcomes = tasks.length > 0 ? await this.options.inserter.insertWithin(client, tasks) : [];
      await this.record(client, s.id, false, nowMs, plan.firings, outcomes);
      const lastTaskId = outcomes.length > 0 ? outcomes[outcomes.length - 1]!.id : s.lastTaskId;
      const advanced = await client.query(ADVANCE_SQL, [
        s.id,
        s.version,
        dateOrNull(plan.nextMs),
        dateOrNull(plan.bufferedMs),
        dateOrNull(wakeOf(plan.nextMs, plan.bufferedMs !== null, nowMs)),
        lastTaskId,
        s.nextFireAt,
        s.bufferedTick,
      ]);
      if (advanced.rowCount !== 1) throw new TickAlreadyFired(`schedule ${s.id} changed under its lock`);
      for (const f of plan.firings) if (f.task) this.options.onSubmitted?.(nowMs - f.tickMs);
      return tasks.filter((_, i) => !outcomes[i]!.existing);
    });
  }

  /** What firing `s` at `nowMs` does: the ticks' firings, the next tick and the buffered one. */
  private async plan(client: pg.ClientBase, s: StoredSchedule, nowMs: number) {
    const firings: PlannedFiring[] = [];
    let running = s.lastTaskId !== null && s.overlap !== "ALLOW" && (await this.unfinished(client, s.lastTaskId));
    let bufferedMs = s.bufferedTick?.getTime() ?? null;
    const submit = (tickMs: number) => {
      try {
        const task = tickTask(s.id, s.template, tickMs, { triggered: false, policy: this.options.policy, nowMs });
        firings.push({ tickMs, outcome: "SUBMITTED", task });
        running = true;
      } catch (error) {
        if (!(error instanceof TaskQueueError)) throw error;
        firings.push({ tickMs, outcome: "FAILED", detail: error.message });
      }
    };
    if (bufferedMs !== null && !running) {
      // Its BUFFERED record gives way to what the tick does now.
      await client.query("DELETE FROM schedule_firings WHERE schedule_id = $1 AND tick_at = $2 AND NOT triggered AND outcome = 'BUFFERED'", [
        s.id,
        new Date(bufferedMs),
      ]);
      submit(bufferedMs);
      bufferedMs = null;
    }
    let nextMs = s.nextFireAt?.getTime() ?? null;
    if (nextMs !== null && nextMs <= nowMs) {
      const ticker = new Ticker(s.spec, boundsOf(s));
      const due = await ticker.due(nextMs, nowMs, s.catchup === "ALL" ? this.options.catchupMax : 1);
      const latest = due.latest[due.latest.length - 1];
      let fire: number[] = [];
      if (s.catchup === "ALL") fire = due.latest;
      else if (latest !== undefined && (s.catchup === "LATEST" || nowMs - latest <= this.options.misfireGraceMs)) fire = [latest];
      const missed = due.count - fire.length;
      // Missed ticks are all before the ones fired: the first due tick stands for them.
      if (missed > 0) firings.push({ tickMs: nextMs, outcome: "MISSED", missedTicks: missed });
      for (const tickMs of fire) {
        if (!running || s.overlap === "ALLOW") submit(tickMs);
        else if (s.overlap === "BUFFER_ONE" && bufferedMs === null) {
          bufferedMs = tickMs;
          firings.push({ tickMs, outcome: "BUFFERED" });
        } else firings.push({ tickMs, outcome: "SKIPPED_OVERLAP" });
      }
      nextMs = ticker.firstAtOrAfter(Math.floor(nowMs) + 1);
    }
    return { firings, nextMs, bufferedMs };
  }

  /** Whether the task exists and has not reached a final state. */
  private async unfinished(client: pg.ClientBase, taskId: string): Promise<boolean> {
    const { rowCount } = await client.query(UNFINISHED_SQL, [taskId, terminalStates]);
    return (rowCount ?? 0) > 0;
  }

  /**
   * Records the firings (each task's id from `outcomes`, in the order of the firings with a
   * task); a tick already recorded throws {@link TickAlreadyFired}, rolling everything back.
   */
  private async record(
    client: pg.ClientBase,
    scheduleId: string,
    triggered: boolean,
    nowMs: number,
    firings: PlannedFiring[],
    outcomes: InsertOutcome[],
  ): Promise<void> {
    if (firings.length === 0) return;
    let next = 0;
    const taskIds = firings.map((f) => (f.task ? outcomes[next++]!.id : null));
    const { rowCount } = await client.query(INSERT_FIRINGS_SQL, [
      scheduleId,
      triggered,
      nowMs,
      firings.map((f) => f.tickMs),
      firings.map((f) => f.outcome),
      taskIds,
      firings.map((f) => f.missedTicks ?? 0),
      firings.map((f) => f.detail ?? null),
    ]);
    if (rowCount !== firings.length) throw new TickAlreadyFired(`a tick of schedule ${scheduleId} was already recorded`);
    await client.query(PRUNE_FIRINGS_SQL, [scheduleId, (this.options.firingsKept ?? 50) - 1]);
  }
}
