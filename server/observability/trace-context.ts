import { context, propagation, trace } from "@opentelemetry/api";
import type { TraceContext } from "../engine/task-records.js";

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
