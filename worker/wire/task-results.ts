import type { JsonValue } from "@bufbuild/protobuf";
import {
  TaskFailureSchema,
  TaskResultSchema,
  TaskResultsSchema,
  TaskSuccessSchema,
} from "../../gen/taskqueue/v1/worker_service_pb.js";
import { fieldNumbers } from "../../wire/field-numbers.js";
import { writeJsonValue } from "../../wire/json-value.js";
import { WireType } from "../../wire/proto-reader.js";
import { ProtoWriter } from "../../wire/proto-writer.js";
import type { FailureInfo } from "../payload.js";

/** A decided result on its way to the server: one `TaskResult` before encoding. */
export type OutgoingResult =
  | {
      /** Task id from the assignment. */
      readonly taskId: string;
      /** Lease token from the assignment. */
      readonly leaseToken: string;
      /** The handler returned. */
      readonly kind: "success";
      /** Its output: bytes, or a JSON value as produced by `JSON.parse`. */
      readonly value: JsonValue | Uint8Array;
    }
  | {
      /** Task id from the assignment. */
      readonly taskId: string;
      /** Lease token from the assignment. */
      readonly leaseToken: string;
      /** The attempt failed. */
      readonly kind: "failure";
      /** How. */
      readonly value: FailureInfo;
    };

// Field numbers of TaskResults, TaskResult, TaskSuccess and TaskFailure.
const RESULTS = fieldNumbers(TaskResultsSchema).results;
const RESULT = fieldNumbers(TaskResultSchema);
const TASK_ID = RESULT.taskId;
const LEASE_TOKEN = RESULT.leaseToken;
const SUCCESS = RESULT.success;
const FAILURE = RESULT.failure;
const RESULT_JSON = fieldNumbers(TaskSuccessSchema).result;
const RESULT_BYTES = fieldNumbers(TaskSuccessSchema).resultBytes;
const FAILURE_FIELDS = fieldNumbers(TaskFailureSchema);
const FAILURE_MESSAGE = FAILURE_FIELDS.message;
const FAILURE_TYPE = FAILURE_FIELDS.type;
const FAILURE_NON_RETRYABLE = FAILURE_FIELDS.nonRetryable;

/** Rough encoded size of one result with a small output, to size the buffer up front. */
const BYTES_PER_RESULT = 96;
/** Most bytes a `ConnectRequest` adds around its `results` member: a tag and a length. */
const REQUEST_HEADER_BYTES = 6;
/** The server keeps this much of a failure's message and type (in UTF-16 units); more is not sent. */
const FAILURE_MESSAGE_CHARS = 4096;
const FAILURE_TYPE_CHARS = 128;

/** Results encoded for sending, in messages that fit the server's limit. */
export interface ResultBatches {
  /** Encoded `TaskResults` messages, in order, each fitting in one request of the limit. */
  batches: Uint8Array[];
  /** Results that alone take more than a request of the limit (not in any batch). */
  tooLarge: OutgoingResult[];
}

/**
 * Encodes results as few `TaskResults` messages as possible, each small enough that its
 * `ConnectRequest` takes at most `maxMessageBytes` (the server's `max_receive_message_bytes`:
 * a larger message fails the whole stream). Results are encoded once; the common case, all of
 * them within the limit, is one message.
 */
export function encodeTaskResultBatches(results: readonly OutgoingResult[], maxMessageBytes: number): ResultBatches {
  const room = maxMessageBytes - REQUEST_HEADER_BYTES;
  const writer = new ProtoWriter(results.length * BYTES_PER_RESULT + 16);
  const ends: number[] = [];
  for (const result of results) {
    writeResult(writer, result);
    ends.push(writer.length);
  }
  const bytes = writer.finish();
  if (bytes.length <= room) return { batches: results.length === 0 ? [] : [bytes], tooLarge: [] };
  const batches: Uint8Array[] = [];
  const tooLarge: OutgoingResult[] = [];
  let batchStart = 0;
  let entryStart = 0;
  for (let i = 0; i < results.length; i++) {
    const end = ends[i]!;
    if (end - entryStart > room) {
      // Alone over the limit: leave it out, close the batch before it.
      if (entryStart > batchStart) batches.push(bytes.subarray(batchStart, entryStart));
      tooLarge.push(results[i]!);
      batchStart = end;
    } else if (end - batchStart > room) {
      batches.push(bytes.subarray(batchStart, entryStart));
      batchStart = entryStart;
    }
    entryStart = end;
  }
  if (bytes.length > batchStart) batches.push(bytes.subarray(batchStart));
  return { batches, tooLarge };
}

/** Encodes results as one `TaskResults` message. */
export function encodeTaskResults(results: readonly OutgoingResult[]): Uint8Array {
  const writer = new ProtoWriter(results.length * BYTES_PER_RESULT + 16);
  for (const result of results) writeResult(writer, result);
  return writer.finish();
}

/** Writes one `TaskResults.results` entry. */
function writeResult(writer: ProtoWriter, result: OutgoingResult): void {
  const entry = writer.fork(RESULTS);
  if (result.taskId !== "") writer.stringField(TASK_ID, result.taskId);
  if (result.leaseToken !== "") writer.stringField(LEASE_TOKEN, result.leaseToken);
  if (result.kind === "success") writeSuccess(writer, result.value);
  else writeFailure(writer, result.value);
  writer.join(entry);
}

function writeSuccess(writer: ProtoWriter, value: JsonValue | Uint8Array): void {
  const success = writer.fork(SUCCESS);
  if (value instanceof Uint8Array) {
    writer.tag(RESULT_BYTES, WireType.lengthDelimited).bytes(value);
  } else {
    const json = writer.fork(RESULT_JSON);
    writeJsonValue(writer, value);
    writer.join(json);
  }
  writer.join(success);
}

function writeFailure(writer: ProtoWriter, failure: FailureInfo): void {
  const mark = writer.fork(FAILURE);
  // The server keeps no more than these: a longer text would only make the message larger.
  const message = String(failure.message).slice(0, FAILURE_MESSAGE_CHARS);
  const type = String(failure.type).slice(0, FAILURE_TYPE_CHARS);
  if (message !== "") writer.stringField(FAILURE_MESSAGE, message);
  if (type !== "") writer.stringField(FAILURE_TYPE, type);
  if (failure.nonRetryable) writer.tag(FAILURE_NON_RETRYABLE, WireType.varint).varint(1);
  writer.join(mark);
}
