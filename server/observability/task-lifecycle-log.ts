import type { InsertOutcome } from "../db/task-inserter.js";
import type { NewTask, TraceContext } from "../engine/task-records.js";
import type { LeasedRecord, LeaseEnd } from "../redis/queue-store.js";
import type { Logger } from "./logger.js";
import type { CallLogFields } from "./rpc-trace.js";

/** The `trace_id` and `span_id` a traceparent names (the submit's span), for a task's log line. */
export function traceFieldsOf(trace: TraceContext | undefined): { trace_id?: string; span_id?: string } {
  // traceparent: 00-<32 hex trace id>-<16 hex span id>-<flags>
  if (!trace || trace.traceparent.length < 55) return {};
  return { trace_id: trace.traceparent.slice(3, 35), span_id: trace.traceparent.slice(36, 52) };
}

/** The message of a lease end's line, by the task's new state. */
const END_MESSAGES: Record<LeaseEnd["state"], string> = {
  SUCCEEDED: "task succeeded",
  FAILED: "task failed: retry scheduled",
  DEAD: "task dead-lettered",
  QUEUED: "task requeued",
  CANCELLED: "task cancelled",
};

/**
 * One debug line per task lifecycle event on the server: submitted, leased, and how each lease
 * ended (succeeded, failed with a retry due, dead-lettered, requeued after an expiry or a lost
 * worker, cancelled), plus the cancel of a task not yet running. Nothing per task is written
 * at info. The submit line names the submit call's RPC span; the others name the task's trace
 * from its stored context.
 * Created only when the logger writes debug lines: otherwise the server makes no call here.
 */
export class TaskLifecycleLog {
  constructor(private readonly logger: Logger) {}

  /** Creates one when `logger` writes debug lines, else undefined (no per-task cost at all). */
  static forLogger(logger: Logger): TaskLifecycleLog | undefined {
    return logger.isLevelEnabled("debug") ? new TaskLifecycleLog(logger) : undefined;
  }

  /**
   * Tasks a submit call inserted (or found by idempotency key); `callFields` are the trace ids
   * of the call's RPC span, when it is traced.
   */
  submitted(tasks: readonly NewTask[], outcomes: readonly InsertOutcome[], callFields: CallLogFields = {}): void {
    tasks.forEach((t, i) => {
      const existing = outcomes[i]?.existing === true;
      this.logger.debug(
        { taskId: outcomes[i]?.id ?? t.id, queue: t.queue, type: t.type, state: t.runAt ? "SCHEDULED" : "QUEUED", existing, ...callFields },
        existing ? "task submitted again: idempotency key already used" : "task submitted",
      );
    });
  }

  /** Tasks just leased to a worker stream of this server. */
  leased(tasks: readonly LeasedRecord[]): void {
    for (const t of tasks) {
      this.logger.debug(
        { taskId: t.id, queue: t.queue, type: t.type, attempt: t.attempt, sessionId: t.sessionId, ...traceFieldsOf(t.trace) },
        "task leased",
      );
    }
  }

  /** Leases ended (a worker's result, an expiry, a lost worker, a cancel); `traceOf` names a task's trace when known. */
  ended(ends: readonly LeaseEnd[], traceOf?: (id: string) => TraceContext | undefined): void {
    for (const e of ends) {
      this.logger.debug(
        { taskId: e.id, queue: e.queue, attempt: e.attempt, how: e.how, state: e.state, workerId: e.workerId, ...traceFieldsOf(traceOf?.(e.id)) },
        END_MESSAGES[e.state],
      );
    }
  }

  /** A task cancelled before it ran (a running one is logged when its lease ends). */
  cancelledQueued(id: string, queue: string): void {
    this.logger.debug({ taskId: id, queue, state: "CANCELLED" }, "task cancelled");
  }
}
