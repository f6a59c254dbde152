import { FailedPreconditionError, TaskQueueError } from "../errors.js";
import type { LeasedRecord } from "../redis/queue-store.js";

/** What bounds one worker stream's time and memory (see README, "Guarantees"). */
export interface WorkerStreamLimits {
  /** A stream that sends no hello within this ends with FAILED_PRECONDITION, ms. */
  helloTimeoutMs: number;
  /**
   * Responses queued for the client above which the stream is congested: the server stops
   * reading its requests and leasing tasks to it until half of that is left, bytes.
   */
  bufferBytes: number;
  /** Responses other than leased tasks queued above which the stream ends with RESOURCE_EXHAUSTED, bytes. */
  bufferMaxBytes: number;
  /** A stream congested this long without its client reading enough ends with RESOURCE_EXHAUSTED, ms. */
  stallTimeoutMs: number;
}

/** Why the server ended a worker stream to protect itself (a metric label). */
export type StreamEndReason = "hello_timeout" | "not_reading" | "buffer_full";

/**
 * What a queued response is counted as beyond its payloads, bytes: about what the message
 * object and its fields cost on the heap, so that many small messages count too.
 */
export const MESSAGE_OVERHEAD_BYTES = 256;

/** Estimated cost of an assignment: its payloads, plus the overhead per task. */
export function assignmentBytes(tasks: readonly LeasedRecord[]): number {
  let bytes = MESSAGE_OVERHEAD_BYTES;
  for (const t of tasks) bytes += t.payload.length + MESSAGE_OVERHEAD_BYTES;
  return bytes;
}

/** Estimated cost of an acks message with `count` acks. */
export function acksBytes(count: number): number {
  return MESSAGE_OVERHEAD_BYTES * (1 + count);
}

/** The client did not read its responses: the stream's buffer passed a bound. */
export class StreamBufferError extends TaskQueueError {
  readonly code = "RESOURCE_EXHAUSTED" as const;
  /**
   * @param reason "buffer_full" past the byte bound, "not_reading" past the stall timeout
   * @param message what happened, for the client
   */
  constructor(
    readonly reason: Extract<StreamEndReason, "not_reading" | "buffer_full">,
    message: string,
  ) {
    super(message);
  }
}

/** A worker stream sent no hello in time. */
export class HelloTimeoutError extends FailedPreconditionError {
  /** @param timeoutMs the hello timeout that passed */
  constructor(readonly timeoutMs: number) {
    super(`no hello within ${timeoutMs} ms: the first message must be hello`);
  }
}
