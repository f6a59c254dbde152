import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { rpcTraceKey } from "./rpc-trace.js";

/** The tracer name of the gateway's RPC spans. */
const TRACER = "taskqueue-connect-gateway";

/**
 * A server interceptor for the Connect gateway that traces each call as one SERVER span, the
 * way `@opentelemetry/instrumentation-grpc` traces calls on the gRPC port: the same span name
 * (`grpc.<service>/<method>`) and `rpc.*` attributes, continuing the caller's W3C trace context
 * from the request headers. The span's context is stored under {@link rpcTraceKey} for the
 * rest of the call (a submit stores it with its tasks). Installed only when tracing is on.
 */
export function createTracingInterceptor(): Interceptor {
  const tracer = trace.getTracer(TRACER);
  return (next) => async (req) => {
    const parent = propagation.extract(context.active(), req.header, {
      get: (headers, key) => headers.get(key) ?? undefined,
      keys: (headers) => [...headers.keys()],
    });
    const span = tracer.startSpan(
      `grpc.${req.service.typeName}/${req.method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": "grpc",
          "rpc.service": req.service.typeName,
          "rpc.method": req.method.name,
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    req.contextValues.set(rpcTraceKey, active);
    let res;
    try {
      res = await context.with(active, () => next(req));
    } catch (error) {
      endWithError(span, error);
      throw error;
    }
    if (!res.stream) {
      span.setAttribute("rpc.grpc.status_code", 0);
      span.end();
      return res;
    }
    return { ...res, message: endAfter(res.message, span) };
  };
}

async function* endAfter<T>(messages: AsyncIterable<T>, span: Span): AsyncIterable<T> {
  try {
    yield* messages;
    span.setAttribute("rpc.grpc.status_code", 0);
    span.end();
  } catch (error) {
    endWithError(span, error);
    throw error;
  }
}

function endWithError(span: Span, error: unknown): void {
  const code = error instanceof ConnectError ? error.code : 2;
  span.setAttribute("rpc.grpc.status_code", code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.end();
}
