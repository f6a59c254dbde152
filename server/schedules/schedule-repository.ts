import type pg from "pg";
import { AlreadyExistsError, NotFoundError } from "../errors.js";
import { withTransaction } from "../db/transaction.js";
import { boundsOf, dateOrNull, scheduleOfRow, type ScheduleDefinition, type ScheduleRow, type StoredFiring, type StoredSchedule, type FiringOutcomeName } from "./schedule-record.js";
import { Ticker } from "./schedule-spec.js";

/** While a tick is buffered (BUFFER_ONE), the previous task is looked at this often, ms. */
export const BUFFER_RECHECK_MS = 1_000;

/** When a server should next look at a schedule: its next tick, or sooner for a buffered tick. */
export function wakeOf(nextFireMs: number | null, buffered: boolean, nowMs: number): number | null {
  if (!buffered) return nextFireMs;
  return Math.min(nextFireMs ?? Number.POSITIVE_INFINITY, nowMs + BUFFER_RECHECK_MS);
}

/** The first tick of a schedule strictly after `nowMs`; null when paused or none is left. */
export function nextTickAfter(def: ScheduleDefinition, nowMs: number): number | null {
  if (def.paused) return null;
  return new Ticker(def.spec, boundsOf(def)).firstAtOrAfter(Math.floor(nowMs) + 1);
}

const INSERT_SQL = `
INSERT INTO schedules (id, cron, interval_ms, time_zone, template, overlap_policy, catchup_policy,
  start_at, end_at, paused, next_fire_at, wake_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $12)
ON CONFLICT (id) DO NOTHING
RETURNING *`;

const UPDATE_SQL = `
UPDATE schedules SET cron = $2, interval_ms = $3, time_zone = $4, template = $5, overlap_policy = $6,
  catchup_policy = $7, start_at = $8, end_at = $9, paused = $10, next_fire_at = $11,
  buffered_tick = $12, wake_at = $13, version = version + 1, updated_at = $14
WHERE id = $1
RETURNING *`;

const FIRINGS_SQL = `
SELECT f.tick_at, f.triggered, f.fired_at, f.outcome, f.task_id, f.missed_ticks, f.detail, t.state AS task_state
FROM schedule_firings f LEFT JOIN tasks t ON t.id = f.task_id
WHERE f.schedule_id = $1
ORDER BY f.tick_at DESC, f.fired_at DESC
LIMIT $2`;

/** Stores schedules and reads their firing history (Postgres). */
export class ScheduleRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** Stores a new schedule; AlreadyExistsError when the id is taken. */
  async create(def: ScheduleDefinition, nowMs: number): Promise<StoredSchedule> {
    const next = nextTickAfter(def, nowMs);
    const { rows } = await this.pool.query<ScheduleRow>(INSERT_SQL, [
      def.id,
      ...definitionColumns(def),
      dateOrNull(next),
      new Date(nowMs),
    ]);
    if (rows.length === 0) throw new AlreadyExistsError(`schedule "${def.id}" already exists`);
    return scheduleOfRow(rows[0]!);
  }

  /** One schedule, or undefined. */
  async get(id: string): Promise<StoredSchedule | undefined> {
    const { rows } = await this.pool.query<ScheduleRow>("SELECT * FROM schedules WHERE id = $1", [id]);
    return rows[0] ? scheduleOfRow(rows[0]) : undefined;
  }

  /** Up to `limit` schedules after `afterId`, in id order. */
  async list(afterId: string | undefined, limit: number): Promise<StoredSchedule[]> {
    const { rows } = await this.pool.query<ScheduleRow>(
      "SELECT * FROM schedules WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2",
      [afterId ?? null, limit],
    );
    return rows.map(scheduleOfRow);
  }

  /**
   * Changes a schedule under its row lock: `change` gets the stored schedule and returns the
   * new definition. A change of spec, time zone, bounds or paused flag moves the next tick to
   * the first after now (ticks are not caught up across such a change); NotFoundError when
   * no schedule has the id.
   */
  async update(id: string, nowMs: number, change: (current: StoredSchedule) => ScheduleDefinition): Promise<StoredSchedule> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<ScheduleRow>("SELECT * FROM schedules WHERE id = $1 FOR UPDATE", [id]);
      if (!rows[0]) throw new NotFoundError(`schedule "${id}" not found`);
      const current = scheduleOfRow(rows[0]);
      const def = change(current);
      const timing = (d: ScheduleDefinition) => JSON.stringify([d.spec, d.startAt?.getTime(), d.endAt?.getTime(), d.paused]);
      const next = timing(def) === timing(current) ? (current.nextFireAt?.getTime() ?? null) : nextTickAfter(def, nowMs);
      const buffered = def.paused ? null : current.bufferedTick;
      const { rows: updated } = await client.query<ScheduleRow>(UPDATE_SQL, [
        id,
        ...definitionColumns(def),
        dateOrNull(next),
        buffered,
        dateOrNull(wakeOf(next, buffered !== null, nowMs)),
        new Date(nowMs),
      ]);
      return scheduleOfRow(updated[0]!);
    });
  }

  /** Deletes a schedule and its firings; false when no schedule had the id. */
  async delete(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query("DELETE FROM schedules WHERE id = $1", [id]);
    return (rowCount ?? 0) > 0;
  }

  /** The latest `limit` firings of a schedule, latest first, with their tasks' states. */
  async firings(id: string, limit: number): Promise<StoredFiring[]> {
    const { rows } = await this.pool.query<{
      tick_at: Date;
      triggered: boolean;
      fired_at: Date;
      outcome: string;
      task_id: string | null;
      missed_ticks: string;
      detail: string | null;
      task_state: string | null;
    }>(FIRINGS_SQL, [id, limit]);
    return rows.map((r) => ({
      tickAt: r.tick_at,
      triggered: r.triggered,
      firedAt: r.fired_at,
      outcome: r.outcome as FiringOutcomeName,
      taskId: r.task_id,
      taskState: r.task_state,
      missedTicks: Number(r.missed_ticks),
      detail: r.detail,
    }));
  }
}

/**
 * The columns of a definition, in the statements' order: cron, interval_ms, time_zone,
 * template, overlap_policy, catchup_policy, start_at, end_at, paused.
 */
function definitionColumns(def: ScheduleDefinition): unknown[] {
  const spec = def.spec.kind === "cron" ? [def.spec.cron, null, def.spec.timeZone] : [null, def.spec.intervalMs, "UTC"];
  return [...spec, def.template, def.overlap, def.catchup, def.startAt, def.endAt, def.paused];
}
