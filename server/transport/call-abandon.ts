import http2 from "node:http2";
import type http from "node:http";
import { createContextKey, type ConnectError } from "@connectrpc/connect";
import type { StatusObject } from "@grpc/grpc-js";

/**
 * Ends a streaming call whose client does not read its responses, with `error`, although
 * responses are still buffered for it. A handler that gives up on such a client cannot end
 * the call by finishing: the transport takes its outcome only after the responses buffered
 * before it, which the client does not read.
 */
export type AbandonCall = (error: ConnectError) => void;

/**
 * The {@link AbandonCall} of the current call, in a handler context's `values`; set by both
 * servers for streaming calls, undefined elsewhere.
 */
export const abandonCallKey = createContextKey<AbandonCall | undefined>(undefined, {
  description: "end a call whose client does not read",
});

/** What {@link abandonGrpcCall} needs of a grpc-js streaming call. */
export interface AbandonableGrpcCall {
  readonly cancelled: boolean;
  readonly writableEnded: boolean;
  getPeer(): string;
  emit(event: "error", status: StatusObject): boolean;
  once(event: "cancelled", listener: () => void): unknown;
}

/**
 * grpc-js: sends the status after what is buffered (a client that reads again gets it) and,
 * if the call is still not over after `graceMs`, closes the client's connection with
 * `closePeer` (grpc-js offers no way to reset one stream of a connection).
 */
export function abandonGrpcCall(
  call: AbandonableGrpcCall,
  status: StatusObject,
  options: { graceMs: number; closePeer?: (peer: string) => void },
): void {
  if (call.cancelled) return;
  if (!call.writableEnded) call.emit("error", status);
  const { closePeer } = options;
  if (!closePeer) return;
  const peer = call.getPeer();
  const timer = setTimeout(() => {
    if (!call.cancelled) closePeer(peer);
  }, options.graceMs);
  timer.unref();
  call.once("cancelled", () => clearTimeout(timer));
}

/**
 * The Connect gateway: resets the call's HTTP/2 stream with ENHANCE_YOUR_CALM, which gRPC
 * and Connect clients report as RESOURCE_EXHAUSTED; over HTTP/1.1 (no streams to reset)
 * closes the connection.
 */
export function abandonHttpCall(req: http.IncomingMessage | http2.Http2ServerRequest): void {
  if (req instanceof http2.Http2ServerRequest) {
    if (!req.stream.closed) req.stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  } else {
    req.socket.destroy();
  }
}
