import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  type Message,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import type { HandlerContext, Interceptor } from "@connectrpc/connect";
import type {
  Metadata,
  MethodDefinition,
  sendUnaryData,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  StatusObject,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "../observability/logger.js";
import { callLogger } from "../observability/rpc-trace.js";
import { abandonCallKey, abandonGrpcCall } from "./call-abandon.js";
import { createGrpcCallContext, LiveCalls, type GrpcSurfaceCall } from "./grpc-call-context.js";
import { toGrpcStatus } from "./grpc-errors.js";
import { metadataFromHeaders } from "./grpc-metadata.js";
import { withInterceptors, type AdaptedMethod } from "./grpc-interceptors.js";
import { grpcMethodPath, grpcServiceDefinition } from "./grpc-service-definition.js";
import type { LazyHandlerContext } from "./lazy-handler-context.js";
import { readRequests, writeResponses } from "./grpc-stream-io.js";
import type { ServiceRegistration } from "./service-registration.js";
import { decodedRequest, tolerantDecoder } from "./undecodable-request.js";

/** Dependencies and options of {@link adaptServiceToGrpc}. */
export interface GrpcAdapterOptions {
  /** Where unexpected handler errors are logged (the client only sees INTERNAL). */
  readonly logger: Logger;
  /** Aborts the signal of every running call, e.g. when the server shuts down. */
  readonly shutdownSignal?: AbortSignal;
  /**
   * How a streaming call whose client does not read is ended when its handler abandons it
   * (see `abandonCallKey`): the status waits behind the unread responses for `graceMs`, then
   * `closePeer` closes the client's connection. Without it, only the status is sent.
   */
  readonly abandon?: { readonly graceMs: number; readonly closePeer?: (peer: string) => void };
  /**
   * Connect server interceptors every call goes through, the first outermost: the same list
   * the gateway runs (authentication, error mapping), so both servers enforce one policy.
   */
  readonly interceptors?: readonly Interceptor[];
}

/** What grpc-js `Server.addService` takes for one service. */
export interface GrpcServiceBinding {
  /** Method paths, streaming kinds and (de)serializers. */
  readonly definition: ServiceDefinition;
  /** One grpc-js handler per implemented method; the others answer UNIMPLEMENTED. */
  readonly implementation: UntypedServiceImplementation;
}

type UnaryFn = (request: Message, context: HandlerContext) => unknown;
type ServerStreamingFn = (request: Message, context: HandlerContext) => AsyncIterable<unknown>;
type ClientStreamingFn = (requests: AsyncIterable<Message>, context: HandlerContext) => unknown;
type BidiStreamingFn = (requests: AsyncIterable<Message>, context: HandlerContext) => AsyncIterable<unknown>;

/** What every handler of one method shares. */
interface MethodScope {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly path: string;
  readonly options: GrpcAdapterOptions;
  /** Running calls of the service, aborted together on shutdown. */
  readonly live: LiveCalls;
}

/**
 * Serves a transport-agnostic Connect service implementation through grpc-js.
 *
 * Each call gets a Connect `HandlerContext` (request headers from metadata, timeout from
 * the deadline, a signal aborted on cancel). Handler results are sent with the response
 * headers and trailers the handler set on its context. A thrown `ConnectError` keeps its
 * code, message and metadata; any other error becomes INTERNAL "internal error" and is
 * logged, never sent. A request message that cannot be decoded ends its call with
 * INVALID_ARGUMENT (grpc-js alone would answer INTERNAL).
 */
export function adaptServiceToGrpc(
  registration: ServiceRegistration,
  options: GrpcAdapterOptions,
): GrpcServiceBinding {
  const { service } = registration;
  const implementation: UntypedServiceImplementation = {};
  const live = new LiveCalls(options.shutdownSignal);
  for (const method of service.methods) {
    const fn = (registration.impl as Record<string, unknown>)[method.localName];
    if (typeof fn !== "function") {
      continue;
    }
    const bound = withInterceptors(service, method, fn.bind(registration.impl) as AdaptedMethod, options.interceptors ?? []) as (
      ...args: unknown[]
    ) => unknown;
    const scope: MethodScope = { service, method, path: grpcMethodPath(service, method), options, live };
    implementation[method.name] = createHandler(scope, bound);
  }
  const definition: Record<string, MethodDefinition<Message, Message>> = {};
  for (const [name, entry] of Object.entries(grpcServiceDefinition(service, registration.requestDecoders))) {
    const input = service.methods.find((m) => m.name === name)!.input;
    // grpc-js hands what this returns to the handlers, which unwrap it with `decodedRequest`.
    const deserialize = tolerantDecoder(entry.requestDeserialize, input.typeName) as (bytes: Buffer) => Message;
    definition[name] = { ...entry, requestDeserialize: deserialize };
  }
  return { definition, implementation };
}

function createHandler(scope: MethodScope, fn: (...args: unknown[]) => unknown): UntypedHandleCall {
  switch (scope.method.methodKind) {
    case "unary":
      return unaryHandler(scope, fn as UnaryFn);
    case "server_streaming":
      return serverStreamingHandler(scope, fn as ServerStreamingFn);
    case "client_streaming":
      return clientStreamingHandler(scope, fn as ClientStreamingFn);
    case "bidi_streaming":
      return bidiStreamingHandler(scope, fn as BidiStreamingFn);
  }
}

function unaryHandler(scope: MethodScope, fn: UnaryFn) {
  return (call: ServerUnaryCall<Message, Message>, callback: sendUnaryData<Message>): void => {
    void respondOnce(scope, call, callback, (context) => fn(decodedRequest(call.request), context));
  };
}

function clientStreamingHandler(scope: MethodScope, fn: ClientStreamingFn) {
  return (call: ServerReadableStream<Message, Message>, callback: sendUnaryData<Message>): void => {
    void respondOnce(scope, call, callback, (context) => fn(readRequests(call), context));
  };
}

function serverStreamingHandler(scope: MethodScope, fn: ServerStreamingFn) {
  return (call: ServerWritableStream<Message, Message>): void => {
    void respondStreaming(scope, call, (context) => fn(decodedRequest(call.request), context));
  };
}

function bidiStreamingHandler(scope: MethodScope, fn: BidiStreamingFn) {
  return (call: ServerDuplexStream<Message, Message>): void => {
    void respondStreaming(scope, call, (context) => fn(readRequests(call), context));
  };
}

/** Runs a handler with one response (unary, client streaming) and sends its outcome. */
async function respondOnce(
  scope: MethodScope,
  call: GrpcSurfaceCall & { sendMetadata: ServerUnaryCall<Message, Message>["sendMetadata"] },
  callback: sendUnaryData<Message>,
  run: (context: HandlerContext) => unknown,
): Promise<void> {
  const { context, release } = createGrpcCallContext(call, scope.service, scope.method, scope.live);
  try {
    const init = await run(context);
    const response = create(scope.method.output, init as MessageInitShape<DescMessage>);
    sendResponseHeader(call, context);
    callback(null, response, trailerOf(context));
  } catch (error) {
    callback(failureStatus(scope, call, context, error));
  } finally {
    release();
  }
}

/** Runs a handler with a response stream (server streaming, bidi) and ends the call. */
async function respondStreaming(
  scope: MethodScope,
  call: ServerWritableStream<Message, Message> | ServerDuplexStream<Message, Message>,
  run: (context: HandlerContext) => AsyncIterable<unknown>,
): Promise<void> {
  const { context, release } = createGrpcCallContext(call, scope.service, scope.method, scope.live);
  context.values.set(abandonCallKey, (error) => {
    const { status } = toGrpcStatus(error, context.responseTrailer);
    abandonGrpcCall(call, status, { graceMs: scope.options.abandon?.graceMs ?? 5_000, closePeer: scope.options.abandon?.closePeer });
  });
  try {
    await writeResponses(call, run(context), {
      output: scope.method.output,
      signal: context.signal,
      beforeFirstWrite: () => sendResponseHeader(call, context),
    });
    if (!call.cancelled) {
      call.end(trailerOf(context));
    }
  } catch (error) {
    const status = failureStatus(scope, call, context, error);
    if (!call.cancelled && !call.writableEnded) {
      // grpc-js turns an "error" event into the call's final status, after pending writes.
      call.emit("error", status);
    }
  } finally {
    release();
  }
}

/** Sends the response headers the handler set, if any (before the first message). */
function sendResponseHeader(
  call: { sendMetadata: ServerUnaryCall<Message, Message>["sendMetadata"] },
  context: LazyHandlerContext,
): void {
  if (context.hasResponseHeader) {
    call.sendMetadata(metadataFromHeaders(context.responseHeader));
  }
}

/** The trailers the handler set, as metadata (undefined when it set none). */
function trailerOf(context: LazyHandlerContext): Metadata | undefined {
  return context.hasResponseTrailer ? metadataFromHeaders(context.responseTrailer) : undefined;
}

/** Maps a handler error to the status to send, logging errors that are not expected. */
function failureStatus(
  scope: MethodScope,
  call: GrpcSurfaceCall,
  context: HandlerContext,
  error: unknown,
): StatusObject {
  const { status, unexpected, errorId } = toGrpcStatus(error, context.responseTrailer);
  if (unexpected) {
    const level = call.cancelled ? "debug" : "error";
    callLogger(scope.options.logger, context.values)[level]({ err: error, rpc: scope.path, errorId }, "rpc failed with an unexpected error");
  }
  return status;
}
