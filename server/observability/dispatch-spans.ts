import { SpanKind, trace } from "@opentelemetry/api";
import type { LeasedRecord } from "../redis/queue-store.js";
import { sampledParent } from "./trace-context.js";

/** The tracer name of the server's own spans. */
export const TRACER = "taskqueue-server";

/**
 * Records, for each leased task that carries a trace context, a `dispatch <queue>` span from
 * the task's creation to its lease (the time it waited: queued, delayed or backing off), as a
 * child of the submit's span, so that a trace shows the wait before each attempt. Sampled
 * with its parent: a task whose trace is not sampled costs one check. Only called when
 * tracing is on.
 */
export function recordDispatchSpans(tasks: readonly LeasedRecord[], nowMs: number): void {
  const tracer = trace.getTracer(TRACER);
  for (const t of tasks) {
    // Unsampled traces get no span at all: nothing to record.
    const parent = sampledParent(t.trace);
    if (!parent) continue;
    const span = tracer.startSpan(
      `dispatch ${t.queue}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: Math.min(t.createdMs, nowMs),
        attributes: { "taskqueue.task.id": t.id, "taskqueue.queue": t.queue, "taskqueue.task.type": t.type, "taskqueue.attempt": t.attempt },
      },
      parent,
    );
    span.end(nowMs);
  }
}
