import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Deadline, Metadata } from "@grpc/grpc-js";
import { headersFromMetadata } from "./grpc-metadata.js";
import { LazyHandlerContext } from "./lazy-handler-context.js";

/** What every grpc-js server call offers, whatever its streaming kind. */
export interface GrpcSurfaceCall {
  /** True once the client cancelled the call. */
  readonly cancelled: boolean;
  /** The request metadata. */
  readonly metadata: Metadata;
  /** The authority the client addressed. */
  getHost(): string;
  /** The client's address. */
  getPeer(): string;
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
  readonly context: LazyHandlerContext;
  /**
   * Ends the context: aborts its signal (as Connect does when an RPC completes), clears
   * its deadline timer and stops listening to the call. Call exactly once, when the RPC
   * is over.
   */
  readonly release: () => void;
}

/** A handler context that its owner can abort. */
interface AbortableContext {
  abort(reason?: unknown): void;
}

/** The contexts of running calls, all aborted at once when the server shuts down. */
export class LiveCalls {
  private readonly contexts = new Set<AbortableContext>();
  private shutdownReason: unknown;
  private shutDown = false;

  /** Follows `signal`: when it aborts, every running and every later call is aborted. */
  constructor(signal?: AbortSignal) {
    if (!signal) return;
    if (signal.aborted) this.abortAll(signal.reason);
    else signal.addEventListener("abort", () => this.abortAll(signal.reason), { once: true });
  }

  /** Tracks a call's context until `forget`; aborts it at once after a shutdown. */
  add(context: AbortableContext): void {
    if (this.shutDown) context.abort(this.shutdownReason);
    else this.contexts.add(context);
  }

  /** Stops tracking a finished call. */
  forget(context: AbortableContext): void {
    this.contexts.delete(context);
  }

  private abortAll(reason: unknown): void {
    this.shutDown = true;
    this.shutdownReason = reason;
    for (const context of this.contexts) context.abort(reason);
    this.contexts.clear();
  }
}

/**
 * Why a call's signal is aborted once the call is over. One shared value: creating an
 * abort reason per call (an AbortError with its stack) costs more than the call's own work.
 */
const CALL_ENDED = new ConnectError("the call has ended", Code.Canceled);

/**
 * Builds the Connect `HandlerContext` of a grpc-js call: request headers from the
 * call's metadata, timeout from its deadline, and a signal aborted when the client
 * cancels, when the deadline passes, or when the server shuts down (`live`).
 */
export function createGrpcCallContext(
  call: GrpcSurfaceCall,
  service: DescService,
  method: DescMethod,
  live?: LiveCalls,
): GrpcCallContext {
  const context = new LazyHandlerContext({
    service,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    host: call.getHost(),
    deadlineMs: deadlineMsOf(call.getDeadline()),
    readRequestHeader: () => headersFromMetadata(call.metadata),
    peerAddress: () => call.getPeer(),
  });
  const onCancelled = (): void => {
    context.abort(new ConnectError("operation was cancelled by the client", Code.Canceled));
  };
  call.once("cancelled", onCancelled);
  if (call.cancelled) {
    onCancelled();
  }
  live?.add(context);
  let released = false;
  return {
    context,
    release: () => {
      if (released) {
        return;
      }
      released = true;
      call.removeListener("cancelled", onCancelled);
      live?.forget(context);
      context.abort(CALL_ENDED);
    },
  };
}

/** A grpc-js deadline as epoch ms, or undefined for no deadline. */
function deadlineMsOf(deadline: Deadline): number | undefined {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? at : undefined;
}
