import { context, propagation, ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import type { NewTask, TraceContext } from "../engine/task-records.js";

/**
 * The W3C trace context of the span active now (in a handler: the RPC's server span), as the
 * `traceparent` and `tracestate` headers would carry it; undefined when no span is active.
 * Called only when tracing is on, once per submit call (not per task).
 */
export function activeTraceContext(): TraceContext | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  const traceparent = carrier.traceparent;
  return traceparent ? { traceparent, tracestate: carrier.tracestate ?? "" } : undefined;
}

/** Adds an event to the span active now (a step of the request, e.g. "committed"), if any. */
export function addActiveSpanEvent(name: string, tasks: number): void {
  trace.getActiveSpan()?.addEvent(name, { "taskqueue.tasks": tasks });
}

/**
 * Starts a trace of its own for a task a schedule's tick created: a root `schedule <id>` span
 * (kind PRODUCER, ended at once) whose context the task carries, so its attempts form that
 * tick's trace. Only called when tracing is on.
 */
export function traceScheduledTask(scheduleId: string, tickMs: number, task: NewTask): void {
  const span = trace.getTracer("taskqueue-server").startSpan(
    `schedule ${scheduleId}`,
    {
      kind: SpanKind.PRODUCER,
      root: true,
      attributes: { "taskqueue.schedule.id": scheduleId, "taskqueue.schedule.tick": new Date(tickMs).toISOString(), "taskqueue.task.id": task.id },
    },
    ROOT_CONTEXT,
  );
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  span.end();
  if (carrier.traceparent) task.trace = { traceparent: carrier.traceparent, tracestate: carrier.tracestate ?? "" };
}
