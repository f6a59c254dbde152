import type { JsonValue } from "@bufbuild/protobuf";
import type { FailureInfo } from "../payload.js";
import { writeJsonValue } from "./json-value.js";
import { WireType } from "./proto-reader.js";
import { ProtoWriter } from "./proto-writer.js";

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
const RESULTS = 1;
const TASK_ID = 1;
const LEASE_TOKEN = 2;
const SUCCESS = 3;
const FAILURE = 4;
const RESULT_JSON = 1;
const RESULT_BYTES = 2;
const FAILURE_MESSAGE = 1;
const FAILURE_TYPE = 2;
const FAILURE_NON_RETRYABLE = 3;

/** Rough encoded size of one result with a small output, to size the buffer up front. */
const BYTES_PER_RESULT = 96;

/** Encodes results as one `TaskResults` message. */
export function encodeTaskResults(results: readonly OutgoingResult[]): Uint8Array {
  const writer = new ProtoWriter(results.length * BYTES_PER_RESULT + 16);
  for (const result of results) {
    const entry = writer.fork(RESULTS);
    if (result.taskId !== "") writer.stringField(TASK_ID, result.taskId);
    if (result.leaseToken !== "") writer.stringField(LEASE_TOKEN, result.leaseToken);
    if (result.kind === "success") writeSuccess(writer, result.value);
    else writeFailure(writer, result.value);
    writer.join(entry);
  }
  return writer.finish();
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
  const message = String(failure.message);
  const type = String(failure.type);
  if (message !== "") writer.stringField(FAILURE_MESSAGE, message);
  if (type !== "") writer.stringField(FAILURE_TYPE, type);
  if (failure.nonRetryable) writer.tag(FAILURE_NON_RETRYABLE, WireType.varint).varint(1);
  writer.join(mark);
}
