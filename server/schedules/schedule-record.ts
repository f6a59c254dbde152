import type { ScheduleSpec } from "./schedule-spec.js";

/** Overlap policies (see `OverlapPolicy` in schedule_service.proto). */
export const OVERLAP_POLICIES = ["ALLOW", "SKIP", "BUFFER_ONE"] as const;
/** What a tick does while the previous task of the schedule has not finished. */
export type OverlapPolicyName = (typeof OVERLAP_POLICIES)[number];

/** Catch-up policies (see `CatchupPolicy` in schedule_service.proto). */
export const CATCHUP_POLICIES = ["SKIP", "LATEST", "ALL"] as const;
/** What becomes of ticks missed while no server ran. */
export type CatchupPolicyName = (typeof CATCHUP_POLICIES)[number];

/** Outcomes of one tick, as stored in `schedule_firings.outcome`. */
export type FiringOutcomeName = "SUBMITTED" | "TRIGGERED" | "SKIPPED_OVERLAP" | "BUFFERED" | "MISSED" | "FAILED";

/** What a schedule is, as a user defines it (validated). */
export interface ScheduleDefinition {
  id: string;
  spec: ScheduleSpec;
  /** The task template: a SubmitTaskRequest in protobuf binary. */
  template: Uint8Array;
  overlap: OverlapPolicyName;
  catchup: CatchupPolicyName;
  startAt: Date | null;
  endAt: Date | null;
  paused: boolean;
}

/** A stored schedule: its definition and its firing state. */
export interface StoredSchedule extends ScheduleDefinition {
  /** The next tick to fire; null when paused or past its end. */
  nextFireAt: Date | null;
  /** A tick held back by BUFFER_ONE until the previous task finishes. */
  bufferedTick: Date | null;
  /** When a server should next look at it; null when nothing is to come. */
  wakeAt: Date | null;
  /** The task of its latest firing. */
  lastTaskId: string | null;
  /** Bumped by every change through the API. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** One tick's record, latest first in GetSchedule. */
export interface StoredFiring {
  tickAt: Date;
  triggered: boolean;
  firedAt: Date;
  outcome: FiringOutcomeName;
  taskId: string | null;
  /** State of that task now; null when none or deleted. */
  taskState: string | null;
  missedTicks: number;
  detail: string | null;
}

/** A row of `schedules`. */
export interface ScheduleRow {
  id: string;
  cron: string | null;
  interval_ms: string | null;
  time_zone: string;
  template: Buffer;
  overlap_policy: string;
  catchup_policy: string;
  start_at: Date | null;
  end_at: Date | null;
  paused: boolean;
  next_fire_at: Date | null;
  buffered_tick: Date | null;
  wake_at: Date | null;
  last_task_id: string | null;
  version: string;
  created_at: Date;
  updated_at: Date;
}

/** The stored schedule a row holds. */
export function scheduleOfRow(row: ScheduleRow): StoredSchedule {
  return {
    id: row.id,
    spec: row.cron !== null ? { kind: "cron", cron: row.cron, timeZone: row.time_zone } : { kind: "interval", intervalMs: Number(row.interval_ms) },
    template: row.template,
    overlap: row.overlap_policy as OverlapPolicyName,
    catchup: row.catchup_policy as CatchupPolicyName,
    startAt: row.start_at,
    endAt: row.end_at,
    paused: row.paused,
    nextFireAt: row.next_fire_at,
    bufferedTick: row.buffered_tick,
    wakeAt: row.wake_at,
    lastTaskId: row.last_task_id,
    version: Number(row.version),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The tick bounds of a schedule, epoch ms. */
export function boundsOf(s: Pick<ScheduleDefinition, "startAt" | "endAt">): { startMs: number | null; endMs: number | null } {
  return { startMs: s.startAt?.getTime() ?? null, endMs: s.endAt?.getTime() ?? null };
}

/** A Date of epoch ms, or null. */
export function dateOrNull(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}
