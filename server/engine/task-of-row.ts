import type { PayloadFormatValue, TaskRow } from "../db/schema.js";
import type { NewTask } from "./task-records.js";

/** The dispatch view of a stored task, to put it (back) into Redis. */
export function newTaskOfRow(row: TaskRow): NewTask {
  return {
    id: row.id,
    queue: row.queue,
    type: row.type,
    payload: row.payload,
    payloadFormat: row.payload_format as PayloadFormatValue,
    priority: row.priority,
    maxAttempts: row.max_attempts,
    backoffInitialMs: row.backoff_initial_ms,
    backoffMaxMs: row.backoff_max_ms,
    backoffMultiplier: row.backoff_multiplier,
    timeoutMs: row.timeout_ms,
    idempotencyKey: row.idempotency_key,
    concurrencyKey: row.concurrency_key,
    labels: row.labels,
    createdMs: row.created_at.getTime(),
    runAt: row.scheduled_at,
    startDeadline: row.attempt === 0 ? row.start_deadline : null,
    ...(row.traceparent ? { trace: { traceparent: row.traceparent, tracestate: row.tracestate ?? "" } } : {}),
  };
}
