import { create } from "@bufbuild/protobuf";
import type { TaskAttemptRow, TaskRow, TaskStateName } from "../db/schema.js";
import {
  AttemptOutcome,
  type Task,
  type TaskAttempt,
  TaskAttemptSchema,
  TaskErrorSchema,
  TaskSchema,
  TaskState,
} from "../../gen/taskqueue/v1/task_pb.js";
import { decodeData } from "./payload-codec.js";
import { durationFromMs, timestampOf } from "./proto-time.js";

const stateByName: Record<TaskStateName, TaskState> = {
  SCHEDULED: TaskState.SCHEDULED,
  QUEUED: TaskState.QUEUED,
  RUNNING: TaskState.RUNNING,
  SUCCEEDED: TaskState.SUCCEEDED,
  FAILED: TaskState.FAILED,
  DEAD: TaskState.DEAD,
  CANCELLED: TaskState.CANCELLED,
  EXPIRED: TaskState.EXPIRED,
};

/** The API state of a stored state name. */
export function apiStateOf(name: TaskStateName): TaskState {
  return stateByName[name];
}

/** The stored name of an API state (undefined for UNSPECIFIED or unknown values). */
export function stateNameOf(state: TaskState): TaskStateName | undefined {
  return (Object.keys(stateByName) as TaskStateName[]).find((name) => stateByName[name] === state);
}

/**
 * Maps a stored task to the API message (`withPayload: false` leaves the payload out;
 * `basic` keeps the TASK_VIEW_BASIC fields only).
 */
export function taskOfRow(row: TaskRow, options: { withPayload?: boolean; basic?: boolean } = {}): Task {
  if (options.basic) {
    return create(TaskSchema, {
      id: row.id,
      queue: row.queue,
      type: row.type,
      state: stateByName[row.state],
      createdAt: timestampOf(row.created_at),
    });
  }
  return create(TaskSchema, {
    id: row.id,
    queue: row.queue,
    type: row.type,
    payloadData:
      options.withPayload === false ? { case: undefined } : decodeData(row.payload, row.payload_format, "payload", "payloadBytes"),
    priority: row.priority,
    state: stateByName[row.state],
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    createdAt: timestampOf(row.created_at),
    scheduledAt: timestampOf(row.scheduled_at),
    startedAt: timestampOf(row.started_at),
    finishedAt: timestampOf(row.finished_at),
    resultData:
      row.result && row.result_format ? decodeData(row.result, row.result_format, "result", "resultBytes") : { case: undefined },
    lastError: row.last_error
      ? create(TaskErrorSchema, {
          message: row.last_error.message,
          type: row.last_error.type ?? "",
          nonRetryable: row.last_error.nonRetryable ?? false,
          attempt: row.last_error.attempt ?? 0,
        })
      : undefined,
    idempotencyKey: row.idempotency_key ?? "",
    labels: row.labels,
    timeout: row.timeout_ms ? durationFromMs(row.timeout_ms) : undefined,
    workerId: row.worker_id ?? "",
    progress: row.progress ?? undefined,
    retryPolicy: {
      // One attempt budget: the policy shows the task's max_attempts, also after a re-drive raised it.
      maxAttempts: row.max_attempts,
      initialBackoff: durationFromMs(row.backoff_initial_ms),
      maxBackoff: durationFromMs(row.backoff_max_ms),
      backoffMultiplier: row.backoff_multiplier,
    },
    cancelReason: row.cancel_reason ?? "",
    startDeadline: timestampOf(row.start_deadline),
    concurrencyKey: row.concurrency_key ?? "",
  });
}

const outcomeByName: Record<string, AttemptOutcome> = {
  SUCCEEDED: AttemptOutcome.SUCCEEDED,
  FAILED: AttemptOutcome.FAILED,
  LEASE_EXPIRED: AttemptOutcome.LEASE_EXPIRED,
  WORKER_LOST: AttemptOutcome.WORKER_LOST,
  CANCELLED: AttemptOutcome.CANCELLED,
};

/** Maps a stored attempt to the API message. */
export function attemptOfRow(row: TaskAttemptRow): TaskAttempt {
  return create(TaskAttemptSchema, {
    attempt: row.attempt,
    workerId: row.worker_id,
    startedAt: timestampOf(row.started_at),
    finishedAt: timestampOf(row.finished_at),
    outcome: row.outcome ? (outcomeByName[row.outcome] ?? AttemptOutcome.UNSPECIFIED) : AttemptOutcome.UNSPECIFIED,
    error: row.error
      ? create(TaskErrorSchema, {
          message: row.error.message,
          type: row.error.type ?? "",
          nonRetryable: row.error.nonRetryable ?? false,
          attempt: row.error.attempt ?? row.attempt,
        })
      : undefined,
  });
}
