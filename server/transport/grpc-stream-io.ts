import { create, type DescMessage, type Message, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Readable, Writable } from "node:stream";
import { decodedRequest, type UndecodableRequest } from "./undecodable-request.js";

/** A grpc-js server stream that can be read: client-streaming and bidi calls. */
export type GrpcReadableCall = Readable & { readonly cancelled: boolean };

/** A grpc-js server stream that can be written: server-streaming and bidi calls. */
export type GrpcWritableCall = Writable & { readonly cancelled: boolean };

/**
 * The request messages of a streaming call as an async iterable for a Connect handler.
 *
 * It reads with `iterator({ destroyOnReturn: false })`: a handler that stops reading
 * early must not destroy the stream, which still carries its responses and status.
 * When the client cancels, iteration fails with a Canceled `ConnectError`; at a message that
 * could not be decoded, with an InvalidArgument one.
 */
export async function* readRequests(call: GrpcReadableCall): AsyncGenerator<Message> {
  const iterator = call.iterator({ destroyOnReturn: false });
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) {
        return;
      }
      yield decodedRequest(next.value as Message | UndecodableRequest);
    }
  } catch (error) {
    if (call.cancelled) {
      throw new ConnectError("operation was cancelled by the client", Code.Canceled);
    }
    throw error;
  } finally {
    await iterator.return?.();
  }
}

/** Options for {@link writeResponses}. */
export interface WriteResponsesOptions {
  /** The response message type. */
  readonly output: DescMessage;
  /** Aborted when the call ends early (cancel, deadline, shutdown): writing stops. */
  readonly signal: AbortSignal;
  /** Called once, before the first message is written (to send response headers). */
  readonly beforeFirstWrite?: () => void;
}

/**
 * Writes every message a handler yields, waiting for `drain` whenever the stream's
 * buffer is full so a slow client holds the handler back instead of filling memory.
 * Stops with the signal's reason when the call ends early.
 */
export async function writeResponses(
  call: GrpcWritableCall,
  responses: AsyncIterable<unknown>,
  options: WriteResponsesOptions,
): Promise<void> {
  let first = true;
  for await (const init of responses) {
    options.signal.throwIfAborted();
    const message = create(options.output, init as MessageInitShape<DescMessage>);
    if (first) {
      first = false;
      options.beforeFirstWrite?.();
    }
    if (!call.write(message)) {
      await drained(call, options.signal);
    }
  }
}

/** Resolves on the stream's next `drain`; rejects when it closes or the signal aborts. */
function drained(stream: Writable, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      stream.removeListener("drain", onDrain);
      stream.removeListener("close", onClose);
      signal.removeEventListener("abort", onAbort);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new ConnectError("stream closed before the response was written", Code.Canceled));
    };
    const onAbort = (): void => {
      cleanup();
      reject(signal.reason);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    stream.once("drain", onDrain);
    stream.once("close", onClose);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
