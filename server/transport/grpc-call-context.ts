import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createHandlerContext, type HandlerContext } from "@connectrpc/connect";
import type { Deadline, Metadata } from "@grpc/grpc-js";
import { headersFromMetadata } from "./grpc-metadata.js";

/** What every grpc-js server call offers, whatever its streaming kind. */
export interface GrpcSurfaceCall {
  /** True once the client cancelled the call. */
  readonly cancelled: boolean;
  /** The request metadata. */
  readonly metadata: Metadata;
  /** The authority the client addressed. */
  getHost(): string;
  /** The call's deadline; `Infinity` when there is none. */
  getDeadline(): Deadline;
  /** Subscribes to the "cancelled" event. */
  once(event: "cancelled", listener: () => void): unknown;
  /** Unsubscribes from the "cancelled" event. */
  removeListener(event: "cancelled", listener: () => void): unknown;
}

/** A Connect handler context for one grpc-js call, and how to release it. */
export interface GrpcCallContext {
  /** The context passed to the service implementation. */
  readonly context: HandlerContext;
  /**
   * Ends the context: aborts its signal (as Connect does when an RPC completes), clears
   * its deadline timer and stops listening to the call. Call exactly once, when the RPC
   * is over.
   */
  readonly release: () => void;
}

/**
 * Builds the Connect `HandlerContext` of a grpc-js call: request headers from the
 * call's metadata, timeout from its deadline, and a signal aborted when the client
 * cancels, when the deadline passes, or when `shutdownSignal` fires.
 */
export function createGrpcCallContext(
  call: GrpcSurfaceCall,
  service: DescService,
  method: DescMethod,
  shutdownSignal?: AbortSignal,
): GrpcCallContext {
  const cancellation = new AbortController();
  const onCancelled = (): void => {
    cancellation.abort(new ConnectError("operation was cancelled by the client", Code.Canceled));
  };
  call.once("cancelled", onCancelled);
  if (call.cancelled) {
    onCancelled();
  }
  const context = createHandlerContext({
    service,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: `http://${call.getHost()}/${service.typeName}/${method.name}`,
    timeoutMs: timeoutFromDeadline(call.getDeadline()),
    requestSignal: cancellation.signal,
    shutdownSignal,
    requestHeader: headersFromMetadata(call.metadata),
  });
  let released = false;
  return {
    context,
    release: () => {
      if (released) {
        return;
      }
      released = true;
      call.removeListener("cancelled", onCancelled);
      context.abort();
    },
  };
}

/** Remaining milliseconds before a grpc-js deadline, or undefined for no deadline. */
function timeoutFromDeadline(deadline: Deadline): number | undefined {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) {
    return undefined;
  }
  return Math.max(0, at - Date.now());
}
