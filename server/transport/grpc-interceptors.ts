import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  type HandlerContext,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";

/** A service method as the grpc-js adapter calls it: request(s) and context in, result out. */
export type AdaptedMethod = (input: unknown, context: HandlerContext) => unknown;

type Next = (req: UnaryRequest | StreamRequest) => Promise<UnaryResponse | StreamResponse>;

/** The handler context rides along each request, as a symbol keyed (hidden) field. */
const handlerContextOf = Symbol("taskqueue.handlerContext");

type CarriedRequest = (UnaryRequest | StreamRequest) & { readonly [handlerContextOf]: HandlerContext };

/**
 * Makes the grpc-js adapter run the same Connect server interceptors as the gateway (authentication,
 * error mapping): wraps a method implementation so that each call goes through `interceptors`
 * (the first is outermost) before reaching it. The chain is built once per method; each call
 * only makes the request object, whose costly parts (headers, signal, context values) are read
 * from the handler context when an interceptor asks for them. Without interceptors, `fn` is
 * returned as it is.
 */
export function withInterceptors(
  service: DescService,
  method: DescMethod,
  fn: AdaptedMethod,
  interceptors: readonly Interceptor[],
): AdaptedMethod {
  if (interceptors.length === 0) return fn;
  const streamingRequest = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
  const streamingResponse = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
  const url = `/${service.typeName}/${method.name}`;
  const inner: Next = async (req) => {
    const context = (req as CarriedRequest)[handlerContextOf];
    const output = fn(req.message, context);
    return responseOf(service, method, context, streamingResponse, streamingResponse ? output : await output);
  };
  // As Connect applies them: the first interceptor is outermost.
  const chain = interceptors.reduceRight<Next>((next, interceptor) => interceptor(next), inner);
  const call = (input: unknown, context: HandlerContext): Promise<UnaryResponse | StreamResponse> =>
    chain(requestOf(service, method, url, streamingRequest, input, context));
  if (!streamingResponse) {
    return async (input, context) => (await call(input, context)).message;
  }
  return (input, context) => delegateWhenReady(call(input, context).then((response) => response.message as AsyncIterable<unknown>));
}

/**
 * An async iterable over the responses of a streaming call whose interceptor chain is still
 * running: the first `next` waits for it, every later call goes straight to the responses'
 * own iterator (no extra layer per message on the hot worker stream).
 */
function delegateWhenReady(ready: Promise<AsyncIterable<unknown>>): AsyncIterable<unknown> {
  let inner: AsyncIterator<unknown> | undefined;
  const started = ready.then((iterable) => (inner = iterable[Symbol.asyncIterator]()));
  const iterator: AsyncIterator<unknown> = {
    next: (...args) => (inner ? inner.next(...args) : started.then((it) => it.next(...args))),
    return: async (value?: unknown) => {
      const it = inner ?? (await started.catch(() => undefined));
      return it?.return ? it.return(value) : { done: true, value };
    },
    throw: async (error?: unknown) => {
      const it = inner ?? (await started);
      if (it.throw) return it.throw(error);
      throw error;
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

function requestOf(
  service: DescService,
  method: DescMethod,
  url: string,
  stream: boolean,
  message: unknown,
  context: HandlerContext,
): CarriedRequest {
  // Getters, enumerable and own: an interceptor that copies the request (`{ ...req }`) copies them.
  return {
    stream,
    service,
    method,
    requestMethod: "POST",
    url,
    message,
    get signal() {
      return context.signal;
    },
    get header() {
      return context.requestHeader;
    },
    get contextValues() {
      return context.values;
    },
    [handlerContextOf]: context,
  } as unknown as CarriedRequest;
}

function responseOf(
  service: DescService,
  method: DescMethod,
  context: HandlerContext,
  stream: boolean,
  message: unknown,
): UnaryResponse | StreamResponse {
  return {
    stream,
    service,
    method,
    message,
    get header() {
      return context.responseHeader;
    },
    get trailer() {
      return context.responseTrailer;
    },
  } as unknown as UnaryResponse | StreamResponse;
}
