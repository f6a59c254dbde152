import type { Interceptor } from "@connectrpc/connect";
import { context, propagation } from "@opentelemetry/api";

/**
 * Sends the active OpenTelemetry context with every call, as the W3C `traceparent` and
 * `tracestate` headers, so that a task submitted inside a span runs in that span's trace (the
 * server stores the context with the task and its workers continue it). The built-in
 * transport of `createTaskClient` has it; add it to a transport of your own with
 * `interceptors: [traceContextInterceptor]`. Without an OpenTelemetry SDK registered by the
 * program, it sends nothing.
 */
export const traceContextInterceptor: Interceptor = (next) => (req) => {
  propagation.inject(context.active(), req.header, {
    set: (headers, key, value) => headers.set(key, value),
  });
  return next(req);
};
