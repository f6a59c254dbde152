/**
 * Message size limits of the server, in bytes. gRPC clients refuse, by default, any message
 * over 4 MiB (grpc-go, grpcio, grpc-js): the server never sends more than that, and splits
 * task assignments well below it so that a worker with default settings can take them.
 */

/** Largest message the server sends (the default receive limit of gRPC clients). */
export const MAX_SENT_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * Size above which one lease pass's tasks for a stream are split over several assignment
 * messages (a task larger than this alone goes in a message of its own).
 */
export const ASSIGNMENT_SPLIT_BYTES = 1024 * 1024;

/** Size above which one message of result acks is split (as assignments). */
export const ACKS_SPLIT_BYTES = 1024 * 1024;

/**
 * Room kept in a sent message for everything of a task but its payload: ids, queue and type
 * (128 characters each at most), lease token, times, and up to 32 labels of 64 + 256
 * characters (at most ~40 KB with 4-byte UTF-8 characters).
 */
export const TASK_ENVELOPE_BYTES = 64 * 1024;

/**
 * Highest allowed `MAX_PAYLOAD_BYTES`: a task carrying the largest payload, as it is sent in an
 * assignment (a JSON payload as a `google.protobuf.Value`), still fits in one message.
 */
export const MAX_PAYLOAD_BYTES_CEILING = MAX_SENT_MESSAGE_BYTES - TASK_ENVELOPE_BYTES;

/**
 * Largest message the server accepts (gRPC and the gateway): 4 MiB, or 4 × `MAX_PAYLOAD_BYTES`
 * when that is larger, so that a request can carry a few payloads or results of the largest
 * size. Workers learn it from the welcome and split their result batches to stay within it.
 */
export function maxReceivedMessageBytes(maxPayloadBytes: number): number {
  return Math.max(MAX_SENT_MESSAGE_BYTES, 4 * maxPayloadBytes);
}

/**
 * Growth of a JSON text when written as a `google.protobuf.Value`, at most: a one-digit number
 * and its comma in a list ("0,", 2 bytes) take 11 bytes (a tag and a length, then a tag and
 * 8 bytes of double), and a level of nesting ("[]" or `{"":}`) at most 5 bytes per byte of
 * text; plus a constant for a lone number.
 */
const JSON_VALUE_GROWTH = 6;
const JSON_VALUE_EXTRA = 16;

/** An upper bound of the bytes a JSON text of `textBytes` bytes takes as a `google.protobuf.Value`. */
export function jsonValueSizeBound(textBytes: number): number {
  return JSON_VALUE_GROWTH * textBytes + JSON_VALUE_EXTRA;
}
