import { trace } from "@opentelemetry/api";

/** The fields {@link traceLogFields} adds to a log line. */
export interface TraceLogFields {
  trace_id?: string;
  span_id?: string;
}

/**
 * `trace_id` and `span_id` of the span active now (none when no span is), for a pino `mixin`:
 * every line written inside a traced request or task attempt then names its trace. Install
 * it only when tracing is on, so that a process without tracing pays nothing per line.
 */
export function traceLogFields(): TraceLogFields {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
