import { create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  TaskFailureSchema,
  TaskSuccessSchema,
  type LeasedTask,
  type TaskFailure,
  type TaskSuccess,
} from "../gen/taskqueue/v1/worker_service_pb.js";
import { NonRetryableError } from "./errors.js";

/**
 * Turns a leased task's input into what the handler sees: a JSON `payload` becomes a plain
 * JS value, `payload_bytes` a Uint8Array, and an unset payload `undefined`.
 */
export function decodePayload(task: LeasedTask): unknown {
  switch (task.payloadData.case) {
    case "payload":
      return toJson(ValueSchema, task.payloadData.value);
    case "payloadBytes":
      return task.payloadData.value;
    default:
      return undefined;
  }
}

/**
 * Encodes a handler's return value: a Uint8Array as `result_bytes`, `undefined` as JSON
 * null, anything else as JSON (`toJSON` methods apply, as with `JSON.stringify`).
 * Throws a {@link NonRetryableError} when the value cannot be represented as JSON.
 */
export function encodeSuccess(value: unknown): TaskSuccess {
  if (value instanceof Uint8Array) {
    return create(TaskSuccessSchema, { resultData: { case: "resultBytes", value } });
  }
  let json: JsonValue;
  try {
    const text = value === undefined ? undefined : JSON.stringify(value);
    json = text === undefined ? null : (JSON.parse(text) as JsonValue);
  } catch (error) {
    throw new NonRetryableError(`result is not JSON-encodable: ${describe(error)}`, {
      cause: error,
      type: "ResultEncodingError",
    });
  }
  return create(TaskSuccessSchema, {
    resultData: { case: "result", value: fromJson(ValueSchema, json) },
  });
}

/** What a failure reports: the fields of `TaskFailure`. */
export interface FailureInfo {
  /** Human-readable message. */
  message: string;
  /** Error class or code. */
  type: string;
  /** True when retrying cannot help. */
  nonRetryable: boolean;
}

/**
 * Describes a thrown value as a failure: `message` and `type` (the error name) of an Error,
 * `non_retryable` for a {@link NonRetryableError} (also recognised by name, so copies of
 * the SDK loaded twice still agree).
 */
export function failureFromError(error: unknown): FailureInfo {
  if (error instanceof NonRetryableError) {
    return { message: error.message, type: error.type, nonRetryable: true };
  }
  if (error instanceof Error) {
    const nonRetryable = error.name === "NonRetryableError";
    const declared = (error as unknown as { type?: unknown }).type;
    const type = nonRetryable && typeof declared === "string" ? declared : error.name || "Error";
    return { message: error.message, type, nonRetryable };
  }
  return { message: describe(error), type: "Error", nonRetryable: false };
}

/** Encodes a failure as a `TaskFailure` message. */
export function encodeFailure(failure: FailureInfo): TaskFailure {
  return create(TaskFailureSchema, {
    message: failure.message,
    type: failure.type,
    nonRetryable: failure.nonRetryable,
  });
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return typeof value === "string" ? value : String(value);
  } catch {
    return "unknown error";
  }
}
