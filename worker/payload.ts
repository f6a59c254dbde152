import type { JsonValue } from "@bufbuild/protobuf";
import { decodeJsonValue } from "../wire/json-value.js";
import { NonRetryableError } from "./errors.js";
import { PayloadKind, type AssignedTask } from "./wire/assignment.js";

/**
 * Turns a leased task's input into what the handler sees: a JSON `payload` becomes a plain
 * JS value, `payload_bytes` a Uint8Array, and an unset payload `undefined`.
 */
export function decodePayload(task: AssignedTask): unknown {
  switch (task.payloadKind) {
    case PayloadKind.json:
      return decodeJsonValue(task.payload as Uint8Array);
    case PayloadKind.bytes:
      return task.payload;
    default:
      return undefined;
  }
}

/**
 * What a handler's return value is sent as: a Uint8Array as `result_bytes`, anything else
 * as the JSON value `JSON.stringify` makes of it (`undefined` as null, `toJSON` methods
 * applied). Throws a {@link NonRetryableError} when the value cannot be represented as JSON.
 */
export function successValue(value: unknown): JsonValue | Uint8Array {
  if (value instanceof Uint8Array) return value;
  switch (typeof value) {
    case "undefined":
      return null;
    case "string":
    case "boolean":
      return value;
    case "number":
      // As JSON.stringify: NaN and infinities become null, -0 becomes 0.
      return Number.isFinite(value) ? value + 0 : null;
    case "object":
      if (value === null) return null;
      break;
  }
  try {
    const text = JSON.stringify(value);
    return text === undefined ? null : (JSON.parse(text) as JsonValue);
  } catch (error) {
    throw new NonRetryableError(`result is not JSON-encodable: ${describe(error)}`, {
      cause: error,
      type: "ResultEncodingError",
    });
  }
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

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return typeof value === "string" ? value : String(value);
  } catch {
    return "unknown error";
  }
}
