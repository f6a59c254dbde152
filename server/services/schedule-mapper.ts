import { create, fromBinary } from "@bufbuild/protobuf";
import {
  CatchupPolicy,
  FiringOutcome,
  OverlapPolicy,
  ScheduleFiringSchema,
  ScheduleSchema,
  type Schedule,
  type ScheduleFiring,
} from "../../gen/taskqueue/v1/schedule_service_pb.js";
import { SubmitTaskRequestSchema } from "../../gen/taskqueue/v1/task_service_pb.js";
import { TaskState } from "../../gen/taskqueue/v1/task_pb.js";
import type { TaskStateName } from "../db/schema.js";
import type { CatchupPolicyName, FiringOutcomeName, OverlapPolicyName, StoredFiring, StoredSchedule } from "../schedules/schedule-record.js";
import { durationFromMs, timestampOf } from "./proto-time.js";
import { apiStateOf } from "./task-mapper.js";

const OVERLAP: Record<OverlapPolicyName, OverlapPolicy> = {
  ALLOW: OverlapPolicy.ALLOW,
  SKIP: OverlapPolicy.SKIP,
  BUFFER_ONE: OverlapPolicy.BUFFER_ONE,
};

const CATCHUP: Record<CatchupPolicyName, CatchupPolicy> = {
  SKIP: CatchupPolicy.SKIP,
  LATEST: CatchupPolicy.LATEST,
  ALL: CatchupPolicy.ALL,
};

const OUTCOME: Record<FiringOutcomeName, FiringOutcome> = {
  SUBMITTED: FiringOutcome.SUBMITTED,
  TRIGGERED: FiringOutcome.TRIGGERED,
  SKIPPED_OVERLAP: FiringOutcome.SKIPPED_OVERLAP,
  BUFFERED: FiringOutcome.BUFFERED,
  MISSED: FiringOutcome.MISSED,
  FAILED: FiringOutcome.FAILED,
};

/** The API message of a stored schedule. */
export function scheduleOf(s: StoredSchedule): Schedule {
  return create(ScheduleSchema, {
    id: s.id,
    spec: s.spec.kind === "cron" ? { case: "cron", value: s.spec.cron } : { case: "interval", value: durationFromMs(s.spec.intervalMs) },
    timeZone: s.spec.kind === "cron" ? s.spec.timeZone : "",
    task: fromBinary(SubmitTaskRequestSchema, s.template),
    overlapPolicy: OVERLAP[s.overlap],
    catchupPolicy: CATCHUP[s.catchup],
    startTime: timestampOf(s.startAt),
    endTime: timestampOf(s.endAt),
    paused: s.paused,
    createTime: timestampOf(s.createdAt),
    updateTime: timestampOf(s.updatedAt),
    nextFireTime: timestampOf(s.nextFireAt),
  });
}

/** The API message of a stored firing. */
export function firingOf(f: StoredFiring): ScheduleFiring {
  return create(ScheduleFiringSchema, {
    tickTime: timestampOf(f.tickAt),
    fireTime: timestampOf(f.firedAt),
    outcome: OUTCOME[f.outcome] ?? FiringOutcome.UNSPECIFIED,
    taskId: f.taskId ?? "",
    taskState: f.taskState ? apiStateOf(f.taskState as TaskStateName) : TaskState.UNSPECIFIED,
    missedTicks: BigInt(f.missedTicks),
    detail: f.detail ?? "",
  });
}
