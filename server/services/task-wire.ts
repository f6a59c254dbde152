import type { TaskRow } from "../db/schema.js";
import type { ProtoWriter } from "../transport/wire/proto-writer.js";
import { writeDuration, writeStoredData, writeStringMap, writeTimestamp } from "../transport/wire/well-known.js";
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
  const task = w.begin(field);
  w.string(1, row.id).string(2, row.queue).string(3, row.type);
  if (options.basic) {
    w.int32(7, apiStateOf(row.state));
    writeDate(w, 10, row.created_at);
    w.end(task);
    return;
  }
  if (options.withPayload !== false) writeStoredData(w, 4, 5, row.payload, row.payload_format);
  w.int32(6, row.priority).int32(7, apiStateOf(row.state)).int32(8, row.attempt).int32(9, row.max_attempts);
  writeDate(w, 10, row.created_at);
  writeDate(w, 11, row.scheduled_at);
  writeDate(w, 12, row.started_at);
  writeDate(w, 13, row.finished_at);
  if (row.result && row.result_format) writeStoredData(w, 14, 15, row.result, row.result_format);
  if (row.last_error) {
    const error = w.begin(16);
    const e = row.last_error;
    w.string(1, e.message).string(2, e.type ?? "").bool(3, e.nonRetryable ?? false).int32(4, e.attempt ?? 0);
    w.end(error);
  }
  w.string(17, row.idempotency_key ?? "");
  writeStringMap(w, 18, row.labels);
  if (row.timeout_ms) writeDuration(w, 19, row.timeout_ms);
  w.string(20, row.worker_id ?? "");
  if (row.progress) {
    const progress = w.begin(21);
    w.float(1, row.progress.percent).string(2, row.progress.message);
    w.end(progress);
  }
  const retry = w.begin(22);
  w.int32(1, row.max_attempts);
  writeDuration(w, 2, row.backoff_initial_ms);
  writeDuration(w, 3, row.backoff_max_ms);
  w.double(4, row.backoff_multiplier);
  w.end(retry);
  w.string(23, row.cancel_reason ?? "");
  writeDate(w, 24, row.start_deadline);
  w.end(task);
}

function writeDate(w: ProtoWriter, field: number, date: Date | null): void {
  if (date) writeTimestamp(w, field, date.getTime());
}
