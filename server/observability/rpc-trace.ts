import { createContextKey, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { context, trace, type Context, type Span } from "@opentelemetry/api";
import type { Logger } from "./logger.js";

/**
 * The OpenTelemetry context of a call's RPC span, carried in the call's Connect context values.
 *
 * The server keeps OpenTelemetry's active context only for the synchronous extent of each
 * `context.with()` (see `CallStackContextManager`): following it across `await` would turn on
 * Node's async hooks for every promise. So the RPC span is taken once, where it is active (as
 * the call starts), and everything later in the call reads it from here: the submit's trace
 * context for its tasks, the span events of its steps, the trace ids of its log lines.
 */
export const rpcTraceKey = createContextKey<Context | undefined>(undefined, { description: "the OpenTelemetry context of the call's RPC span" });

/**
 * A server interceptor for the gRPC port, outermost, that stores the context active as the call
 * starts (the RPC span `@opentelemetry/instrumentation-grpc` opened around the handler) under
 * {@link rpcTraceKey}. Synchronous on purpose: the span is active only until the handler first
 * awaits. Installed only when tracing is on.
 */
export function createRpcTraceCaptureInterceptor(): Interceptor {
  return (next) => (req) => {
    req.contextValues.set(rpcTraceKey, context.active());
    return next(req);
  };
}

/** The `trace_id` and `span_id` of a log line written in a call. */
export interface CallLogFields {
  trace_id?: string;
  span_id?: string;
}

/** The call's RPC span; undefined when the call is not traced. */
export function rpcSpan(values: ContextValues): Span | undefined {
  const rpc = values.get(rpcTraceKey);
  return rpc && trace.getSpan(rpc);
}

/** The trace ids of the call's RPC span for its log lines; none when the call is not traced. */
export function rpcLogFields(values: ContextValues): CallLogFields {
  const span = rpcSpan(values);
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** `logger` with the trace ids of the call's RPC span bound, or `logger` itself when the call is not traced. */
export function callLogger(logger: Logger, values: ContextValues | undefined): Logger {
  if (!values) return logger;
  const fields = rpcLogFields(values);
  return fields.trace_id ? logger.child(fields) : logger;
}
