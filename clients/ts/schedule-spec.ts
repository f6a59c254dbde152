import { clone, create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { CatchupPolicy, OverlapPolicy, ScheduleSchema, type Schedule } from "../../gen/taskqueue/v1/schedule_service_pb.js";
import { SubmitTaskRequestSchema, type SubmitTaskRequest } from "../../gen/taskqueue/v1/task_service_pb.js";
import { checkTaskSpec, invalid } from "./spec-checks.js";
import { submitTaskRequestOf } from "./submit-request-message.js";
import type { TaskSpec } from "./task-spec.js";

/** An overlap policy, as the enum or its name. */
export type OverlapPolicyName = OverlapPolicy | "ALLOW" | "SKIP" | "BUFFER_ONE";

/** A catch-up policy, as the enum or its name. */
export type CatchupPolicyName = CatchupPolicy | "SKIP" | "LATEST" | "ALL";

/** A point in time: a `Date` or milliseconds since the epoch. */
export type TimeSpec = Date | number;

/**
 * A schedule to create: `Schedule` as plain values. `id`, one of `cron` and `intervalMs`, and
 * `task` are required; the server validates the values and names the field it refuses (the
 * template's with `template.` in front).
 */
export interface ScheduleSpec {
  /** 1-128 characters of letters, digits and `. _ : -`; unique. */
  id: string;
  /** Cron expression of 5 fields, or 6 with seconds first, read in `timeZone`. */
  cron?: string;
  /** Fixed interval in milliseconds, at least 1,000. */
  intervalMs?: number;
  /** IANA time zone of the cron expression; default UTC. */
  timeZone?: string;
  /** The task each tick submits (without `idempotencyKey` and `runAt`, which the schedule sets). */
  task: TaskSpec;
  /** What a tick does while the previous task runs; default ALLOW. */
  overlapPolicy?: OverlapPolicyName;
  /** What happens to ticks missed while no server ran; default LATEST. */
  catchupPolicy?: CatchupPolicyName;
  /** No tick before this time. */
  startTime?: TimeSpec;
  /** No tick after this time. */
  endTime?: TimeSpec;
  /** Created paused. */
  paused?: boolean;
}

/**
 * Changes to a schedule. A field left out is unchanged; `null` puts it back to its default.
 * `task` replaces the whole template; `taskChanges` changes only the template fields it
 * names (the client reads the schedule, then writes the merged template).
 */
export interface ScheduleChanges {
  /** A new cron expression (replaces an interval). */
  cron?: string;
  /** A new interval in milliseconds (replaces a cron expression). */
  intervalMs?: number;
  /** A new time zone; `null`: UTC. */
  timeZone?: string | null;
  /** A new template, replacing the stored one. */
  task?: TaskSpec;
  /** Template fields to change, the others kept (`retryPolicy` fields are merged too). */
  taskChanges?: Partial<TaskSpec>;
  /** A new overlap policy; `null`: the default. */
  overlapPolicy?: OverlapPolicyName | null;
  /** A new catch-up policy; `null`: the default. */
  catchupPolicy?: CatchupPolicyName | null;
  /** A new start time; `null`: none. */
  startTime?: TimeSpec | null;
  /** A new end time; `null`: none. */
  endTime?: TimeSpec | null;
  /** Pause or resume (prefer `pauseSchedule`/`resumeSchedule`, which say so in the history). */
  paused?: boolean;
}

/** The `Schedule` message of a spec; throws `INVALID_ARGUMENT` for values of the wrong type. */
export function scheduleMessageOf(spec: ScheduleSpec): Schedule {
  if (spec === null || typeof spec !== "object") throw invalid("schedule", "must be an object");
  if (typeof spec.id !== "string") throw invalid("id", "must be a string");
  if (spec.cron !== undefined && spec.intervalMs !== undefined) throw invalid("cron", "give cron or intervalMs, not both");
  const schedule = create(ScheduleSchema, { id: spec.id });
  applyChanges(schedule, { ...spec, id: undefined } as ScheduleChanges);
  if (spec.task === undefined) throw invalid("task", "is required");
  return schedule;
}

/** The mask path of each field of {@link ScheduleChanges}. */
const PATHS: Readonly<Record<keyof ScheduleChanges, string>> = {
  cron: "cron",
  intervalMs: "interval",
  timeZone: "time_zone",
  task: "task",
  taskChanges: "task",
  overlapPolicy: "overlap_policy",
  catchupPolicy: "catchup_policy",
  startTime: "start_time",
  endTime: "end_time",
  paused: "paused",
};

/**
 * The message and mask paths of an update: the fields `changes` names, set on `schedule`
 * (whose id is set). `current` is the stored template, needed for `taskChanges`.
 */
export function scheduleUpdateOf(id: string, changes: ScheduleChanges, current?: SubmitTaskRequest): { schedule: Schedule; paths: string[] } {
  if (changes === null || typeof changes !== "object") throw invalid("changes", "must be an object");
  if (changes.task !== undefined && changes.taskChanges !== undefined) throw invalid("taskChanges", "give task or taskChanges, not both");
  if (changes.cron !== undefined && changes.intervalMs !== undefined) throw invalid("cron", "give cron or intervalMs, not both");
  const paths = new Set<string>();
  for (const [key, value] of Object.entries(changes)) {
    const path = PATHS[key as keyof ScheduleChanges];
    if (path === undefined) throw invalid(`changes.${key}`, `is not a schedule field (${Object.keys(PATHS).join(", ")})`);
    if (value !== undefined) paths.add(path);
  }
  if (paths.size === 0) throw invalid("changes", "names no field: nothing to update");
  const schedule = create(ScheduleSchema, { id });
  const { taskChanges, ...rest } = changes;
  applyChanges(schedule, rest);
  if (taskChanges !== undefined) schedule.task = mergedTemplate(current, taskChanges);
  return { schedule, paths: [...paths] };
}

/** Sets the fields of `changes` on `schedule` (null and undefined leave the default). */
function applyChanges(schedule: Schedule, changes: ScheduleChanges): void {
  if (typeof changes.cron === "string") schedule.spec = { case: "cron", value: changes.cron };
  else if (changes.cron !== undefined) throw invalid("cron", "must be a string");
  if (changes.intervalMs !== undefined) schedule.spec = { case: "interval", value: durationFromMs(finite(changes.intervalMs, "intervalMs")) };
  if (changes.timeZone !== undefined && changes.timeZone !== null) {
    if (typeof changes.timeZone !== "string") throw invalid("timeZone", "must be a string");
    schedule.timeZone = changes.timeZone;
  }
  if (changes.task !== undefined) {
    checkTaskSpec(changes.task);
    schedule.task = submitTaskRequestOf(changes.task);
  }
  if (changes.overlapPolicy != null) schedule.overlapPolicy = enumOf(OverlapPolicy, changes.overlapPolicy, "overlapPolicy");
  if (changes.catchupPolicy != null) schedule.catchupPolicy = enumOf(CatchupPolicy, changes.catchupPolicy, "catchupPolicy");
  if (changes.startTime != null) schedule.startTime = timestampOf(changes.startTime, "startTime");
  if (changes.endTime != null) schedule.endTime = timestampOf(changes.endTime, "endTime");
  if (changes.paused !== undefined) {
    if (typeof changes.paused !== "boolean") throw invalid("paused", "must be a boolean");
    schedule.paused = changes.paused;
  }
}

/** The stored template with the fields of `changes` replaced. */
function mergedTemplate(current: SubmitTaskRequest | undefined, changes: Partial<TaskSpec>): SubmitTaskRequest {
  if (current === undefined) throw invalid("taskChanges", "the schedule has no template to change");
  if (changes === null || typeof changes !== "object") throw invalid("taskChanges", "must be an object");
  const given = { queue: current.queue, type: current.type, ...changes };
  checkTaskSpec(given);
  const patch = submitTaskRequestOf(given);
  const next = clone(SubmitTaskRequestSchema, current);
  next.queue = patch.queue;
  next.type = patch.type;
  if (changes.payload !== undefined || changes.payloadBytes !== undefined) next.payloadData = patch.payloadData;
  if (changes.priority !== undefined) next.priority = patch.priority;
  if (changes.labels !== undefined) next.labels = patch.labels;
  if (changes.timeoutMs !== undefined) next.timeout = patch.timeout;
  if (changes.startTimeoutMs !== undefined) next.startTimeout = patch.startTimeout;
  if (changes.retryPolicy !== undefined && patch.retryPolicy !== undefined) {
    const policy = next.retryPolicy ?? patch.retryPolicy;
    const p = changes.retryPolicy;
    if (p.maxAttempts !== undefined) policy.maxAttempts = patch.retryPolicy.maxAttempts;
    if (p.initialBackoffMs !== undefined) policy.initialBackoff = patch.retryPolicy.initialBackoff;
    if (p.maxBackoffMs !== undefined) policy.maxBackoff = patch.retryPolicy.maxBackoff;
    if (p.backoffMultiplier !== undefined) policy.backoffMultiplier = patch.retryPolicy.backoffMultiplier;
    next.retryPolicy = policy;
  }
  return next;
}

function enumOf<E extends Record<string, string | number>>(names: E, value: unknown, field: string): number {
  if (typeof value === "number" && names[value] !== undefined && value !== 0) return value;
  if (typeof value === "string" && typeof names[value] === "number" && value !== "UNSPECIFIED") return names[value] as number;
  const allowed = Object.keys(names).filter((k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED");
  throw invalid(field, `must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
}

function timestampOf(value: TimeSpec, field: string): Timestamp {
  const ms = value instanceof Date ? value.getTime() : value;
  return timestampFromMs(finite(ms, field));
}

function finite(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) throw invalid(field, "must be a finite number");
  return value;
}
