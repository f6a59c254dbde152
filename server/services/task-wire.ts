import { RetryPolicySchema, TaskErrorSchema, TaskProgressSchema, TaskSchema } from "../../gen/taskqueue/v1/task_pb.js";
import { fieldNumbers } from "../../wire/field-numbers.js";
import type { TaskRow } from "../db/schema.js";
import type { ProtoWriter } from "../../wire/proto-writer.js";
import { writeDuration, writeTimestamp } from "../../wire/proto-time.js";
import { writeStringMap } from "../../wire/string-map.js";
import { writeStoredData } from "./stored-data-wire.js";
import { apiStateOf } from "./task-mapper.js";

const TASK = fieldNumbers(TaskSchema);
const ERROR = fieldNumbers(TaskErrorSchema);
const PROGRESS = fieldNumbers(TaskProgressSchema);
const RETRY = fieldNumbers(RetryPolicySchema);

/**
 * Writes a stored task as a `taskqueue.v1.Task` message field, the same message
 * {@link taskOfRow} builds, without building it (`withPayload: false` leaves the payload out;
 * `basic` writes the TASK_VIEW_BASIC fields only).
 */
export function writeTaskRow(
  w: ProtoWriter,
  field: number,
  row: TaskRow,
  options: { withPayload?: boolean; basic?: boolean } = {},
): void {
  const task = w.fork(field);
  w.stringIfSet(TASK.id, row.id).stringIfSet(TASK.queue, row.queue).stringIfSet(TASK.type, row.type);
  if (options.basic) {
    w.int32IfSet(TASK.state, apiStateOf(row.state));
    writeDate(w, TASK.createdAt, row.created_at);
    w.join(task);
    return;
  }
  if (options.withPayload !== false) writeStoredData(w, TASK.payload, TASK.payloadBytes, row.payload, row.payload_format);
  w.int32IfSet(TASK.priority, row.priority)
    .int32IfSet(TASK.state, apiStateOf(row.state))
    .int32IfSet(TASK.attempt, row.attempt)
    .int32IfSet(TASK.maxAttempts, row.max_attempts);
  writeDate(w, TASK.createdAt, row.created_at);
  writeDate(w, TASK.scheduledAt, row.scheduled_at);
  writeDate(w, TASK.startedAt, row.started_at);
  writeDate(w, TASK.finishedAt, row.finished_at);
  if (row.result && row.result_format) writeStoredData(w, TASK.result, TASK.resultBytes, row.result, row.result_format);
  if (row.last_error) {
    const error = w.fork(TASK.lastError);
    const e = row.last_error;
    w.stringIfSet(ERROR.message, e.message)
      .stringIfSet(ERROR.type, e.type ?? "")
      .boolIfSet(ERROR.nonRetryable, e.nonRetryable ?? false)
      .int32IfSet(ERROR.attempt, e.attempt ?? 0);
    w.join(error);
  }
  w.stringIfSet(TASK.idempotencyKey, row.idempotency_key ?? "");
  writeStringMap(w, TASK.labels, row.labels, true);
  if (row.timeout_ms) writeDuration(w, TASK.timeout, row.timeout_ms);
  w.stringIfSet(TASK.workerId, row.worker_id ?? "");
  if (row.progress) {
    const progress = w.fork(TASK.progress);
    w.floatIfSet(PROGRESS.percent, row.progress.percent).stringIfSet(PROGRESS.message, row.progress.message);
    w.join(progress);
  }
  const retry = w.fork(TASK.retryPolicy);
  w.int32IfSet(RETRY.maxAttempts, row.max_attempts);
  writeDuration(w, RETRY.initialBackoff, row.backoff_initial_ms);
  writeDuration(w, RETRY.maxBackoff, row.backoff_max_ms);
  w.doubleIfSet(RETRY.backoffMultiplier, row.backoff_multiplier);
  w.join(retry);
  w.stringIfSet(TASK.cancelReason, row.cancel_reason ?? "");
  writeDate(w, TASK.startDeadline, row.start_deadline);
  w.stringIfSet(TASK.concurrencyKey, row.concurrency_key ?? "");
  w.join(task);
}

function writeDate(w: ProtoWriter, field: number, date: Date | null): void {
  if (date) writeTimestamp(w, field, date.getTime());
}
