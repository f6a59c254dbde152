import type { TaskRow } from "../db/schema.js";
import type { ProtoWriter } from "../../wire/proto-writer.js";
import { writeDuration, writeTimestamp } from "../../wire/proto-time.js";
import { writeStringMap } from "../../wire/string-map.js";
import { writeStoredData } from "./stored-data-wire.js";
import { apiStateOf } from "./task-mapper.js";

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
  w.stringIfSet(1, row.id).stringIfSet(2, row.queue).stringIfSet(3, row.type);
  if (options.basic) {
    w.int32IfSet(7, apiStateOf(row.state));
    writeDate(w, 10, row.created_at);
    w.join(task);
    return;
  }
  if (options.withPayload !== false) writeStoredData(w, 4, 5, row.payload, row.payload_format);
  w.int32IfSet(6, row.priority).int32IfSet(7, apiStateOf(row.state)).int32IfSet(8, row.attempt).int32IfSet(9, row.max_attempts);
  writeDate(w, 10, row.created_at);
  writeDate(w, 11, row.scheduled_at);
  writeDate(w, 12, row.started_at);
  writeDate(w, 13, row.finished_at);
  if (row.result && row.result_format) writeStoredData(w, 14, 15, row.result, row.result_format);
  if (row.last_error) {
    const error = w.fork(16);
    const e = row.last_error;
    w.stringIfSet(1, e.message).stringIfSet(2, e.type ?? "").boolIfSet(3, e.nonRetryable ?? false).int32IfSet(4, e.attempt ?? 0);
    w.join(error);
  }
  w.stringIfSet(17, row.idempotency_key ?? "");
  writeStringMap(w, 18, row.labels, true);
  if (row.timeout_ms) writeDuration(w, 19, row.timeout_ms);
  w.stringIfSet(20, row.worker_id ?? "");
  if (row.progress) {
    const progress = w.fork(21);
    w.floatIfSet(1, row.progress.percent).stringIfSet(2, row.progress.message);
    w.join(progress);
  }
  const retry = w.fork(22);
  w.int32IfSet(1, row.attempt_budget ?? row.max_attempts);
  writeDuration(w, 2, row.backoff_initial_ms);
  writeDuration(w, 3, row.backoff_max_ms);
  w.doubleIfSet(4, row.backoff_multiplier);
  w.join(retry);
  w.stringIfSet(23, row.cancel_reason ?? "");
  writeDate(w, 24, row.start_deadline);
  w.join(task);
}

function writeDate(w: ProtoWriter, field: number, date: Date | null): void {
  if (date) writeTimestamp(w, field, date.getTime());
}
