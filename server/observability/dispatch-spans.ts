import { SpanKind, trace, type Attributes } from "@opentelemetry/api";
import type { LeasedRecord } from "../redis/queue-store.js";
import { groupByTrace } from "./trace-groups.js";

/** The tracer name of the server's own spans. */
export const TRACER = "taskqueue-server";

/**
 * Records the wait before each traced attempt: a `dispatch <queue>` span from the task's
 * creation to its lease (the time it waited: queued, delayed or backing off), as a child of
 * the submit's span. Tasks of one trace leased together (typically a batch submitted in one
 * call) share one span: its start is the earliest creation, `taskqueue.task.count` says how
 * many, and the task's id, type and attempt are given when it holds one task. Sampled with its
 * parent: unsampled traces get no span. Only called when tracing is on.
 */
export function recordDispatchSpans(tasks: readonly LeasedRecord[], nowMs: number): void {
  const groups = groupByTrace(tasks, (t) => t.trace, (t) => t.queue);
  if (groups.length === 0) return;
  const tracer = trace.getTracer(TRACER);
  for (const { parent, items } of groups) {
    const first = items[0]!;
    let startMs = nowMs;
    for (const t of items) startMs = Math.min(startMs, t.createdMs);
    const attributes: Attributes = { "taskqueue.queue": first.queue, "taskqueue.task.count": items.length };
    if (items.length === 1) {
      attributes["taskqueue.task.id"] = first.id;
      attributes["taskqueue.task.type"] = first.type;
      attributes["taskqueue.attempt"] = first.attempt;
    }
    tracer.startSpan(`dispatch ${first.queue}`, { kind: SpanKind.INTERNAL, startTime: startMs, attributes }, parent).end(nowMs);
  }
}
