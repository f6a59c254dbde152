import { toBinary } from "@bufbuild/protobuf";
import { CatchupPolicy, OverlapPolicy, type Schedule } from "../../gen/taskqueue/v1/schedule_service_pb.js";
import { SubmitTaskRequestSchema } from "../../gen/taskqueue/v1/task_service_pb.js";
import { InvalidArgumentError } from "../errors.js";
import type { CatchupPolicyName, OverlapPolicyName, ScheduleDefinition } from "../schedules/schedule-record.js";
import { checkSpec, checkTimeZone, SpecProblem, Ticker, type ScheduleSpec } from "../schedules/schedule-spec.js";
import { SCHEDULE_LABEL, TEMPLATE_FIELD, tickTask, TICK_LABEL } from "../schedules/tick-task.js";
import { checkedDateOf, checkedMsOfDuration } from "./proto-time.js";
import type { SubmitPolicy } from "./submit-validation.js";

const SCHEDULE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Checks a schedule id; throws InvalidArgumentError naming `field`. */
export function checkScheduleId(id: string, field = "id"): void {
  if (id === "") throw new InvalidArgumentError(field, "is required");
  if (!SCHEDULE_ID.test(id)) {
    throw new InvalidArgumentError(field, `"${id.slice(0, 40)}" must be 1-128 characters of letters, digits and . _ : -`);
  }
}

const OVERLAP: Record<number, OverlapPolicyName> = {
  [OverlapPolicy.UNSPECIFIED]: "ALLOW",
  [OverlapPolicy.ALLOW]: "ALLOW",
  [OverlapPolicy.SKIP]: "SKIP",
  [OverlapPolicy.BUFFER_ONE]: "BUFFER_ONE",
};

const CATCHUP: Record<number, CatchupPolicyName> = {
  [CatchupPolicy.UNSPECIFIED]: "LATEST",
  [CatchupPolicy.SKIP]: "SKIP",
  [CatchupPolicy.LATEST]: "LATEST",
  [CatchupPolicy.ALL]: "ALL",
};

/**
 * Validates a Schedule from a request into a definition. Throws InvalidArgumentError naming
 * the field: `id`, `cron`, `interval`, `time_zone`, `overlap_policy`, `catchup_policy`,
 * `start_time`, `end_time`, and the task template's fields with `template.` in front.
 */
export function definitionOf(schedule: Schedule, policy: SubmitPolicy, nowMs: number): ScheduleDefinition {
  checkScheduleId(schedule.id);
  const spec = specOf(schedule);
  const overlap = OVERLAP[schedule.overlapPolicy];
  if (!overlap) throw new InvalidArgumentError("overlap_policy", `unknown OverlapPolicy ${schedule.overlapPolicy}`);
  const catchup = CATCHUP[schedule.catchupPolicy];
  if (!catchup) throw new InvalidArgumentError("catchup_policy", `unknown CatchupPolicy ${schedule.catchupPolicy}`);
  const startAt = schedule.startTime ? checkedDateOf(schedule.startTime, "start_time") : null;
  const endAt = schedule.endTime ? checkedDateOf(schedule.endTime, "end_time") : null;
  if (startAt && endAt && endAt.getTime() <= startAt.getTime()) throw new InvalidArgumentError("end_time", "must be after start_time");
  const task = schedule.task;
  if (!task) throw new InvalidArgumentError("template", "is required: the task each tick submits (Schedule.task)");
  if (task.idempotencyKey !== "") {
    throw new InvalidArgumentError(`${TEMPLATE_FIELD}idempotency_key`, "must be empty: each tick's task gets the key schedule:<id>:<tick>");
  }
  if (task.runAt) throw new InvalidArgumentError(`${TEMPLATE_FIELD}run_at`, "must be unset: a tick's task is due at its tick");
  for (const reserved of [SCHEDULE_LABEL, TICK_LABEL]) {
    if (reserved in task.labels) throw new InvalidArgumentError(`${TEMPLATE_FIELD}labels.${reserved}`, "is set by the schedule");
  }
  // What SubmitTask would refuse at a tick is refused now.
  tickTask(schedule.id, task, nowMs, { triggered: true, policy, nowMs });
  const def: ScheduleDefinition = {
    id: schedule.id,
    spec,
    template: toBinary(SubmitTaskRequestSchema, task),
    overlap,
    catchup,
    startAt,
    endAt,
    paused: schedule.paused,
  };
  if (!schedule.paused && endAt === null && new Ticker(spec, { startMs: startAt?.getTime() ?? null, endMs: null }).firstAtOrAfter(nowMs) === null) {
    throw new InvalidArgumentError(spec.kind === "cron" ? "cron" : "interval", "names no time that will ever come");
  }
  return def;
}

function specOf(schedule: Schedule): ScheduleSpec {
  const timeZone = schedule.timeZone === "" ? "UTC" : schedule.timeZone;
  try {
    checkTimeZone(timeZone);
    let spec: ScheduleSpec;
    if (schedule.spec.case === "cron") spec = { kind: "cron", cron: schedule.spec.value, timeZone };
    else if (schedule.spec.case === "interval") spec = { kind: "interval", intervalMs: checkedMsOfDuration(schedule.spec.value, "interval") };
    else throw new InvalidArgumentError("cron", "a schedule needs cron or interval");
    checkSpec(spec);
    return spec;
  } catch (error) {
    if (error instanceof SpecProblem) throw new InvalidArgumentError(error.field, error.message);
    throw error;
  }
}
