import { Code, ConnectError } from "@connectrpc/connect";
import type { TaskSpec } from "./task-spec.js";

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
/** Deeper JSON payloads are refused (the bound also stops cyclic objects). */
const MAX_JSON_DEPTH = 100;

/**
 * Refuses a task spec holding values of the wrong JavaScript type, before anything is sent:
 * throws a `ConnectError` with `INVALID_ARGUMENT` whose message starts with the field (with
 * `index`, the item of a batch: `tasks[3].payload.to`). Semantic rules (lengths, ranges)
 * are the server's to check.
 */
export function checkTaskSpec(spec: TaskSpec, index?: number): void {
  // Most specs pass: the common fields are checked before any path is built.
  if (spec !== null && typeof spec === "object" && typeof spec.queue === "string" && typeof spec.type === "string") {
    if (
      spec.payload === undefined &&
      spec.payloadBytes === undefined &&
      spec.priority === undefined &&
      spec.retryPolicy === undefined &&
      spec.idempotencyKey === undefined &&
      spec.labels === undefined &&
      spec.runAt === undefined &&
      spec.timeoutMs === undefined &&
      spec.startTimeoutMs === undefined &&
      spec.concurrencyKey === undefined
    ) {
      return;
    }
  }
  checkFields(spec, index === undefined ? "" : `tasks[${index}].`);
}

function checkFields(spec: TaskSpec, prefix: string): void {
  if (spec === null || typeof spec !== "object") throw invalid(prefix === "" ? "task" : prefix.slice(0, -1), "must be an object");
  if (typeof spec.queue !== "string") throw invalid(`${prefix}queue`, "must be a string");
  if (typeof spec.type !== "string") throw invalid(`${prefix}type`, "must be a string");
  if (spec.payload !== undefined) {
    if (spec.payloadBytes !== undefined) throw invalid(`${prefix}payload`, "give payload or payloadBytes, not both");
    checkJsonValue(spec.payload, `${prefix}payload`, 0);
  } else if (spec.payloadBytes !== undefined && !(spec.payloadBytes instanceof Uint8Array)) {
    throw invalid(`${prefix}payloadBytes`, "must be a Uint8Array");
  }
  if (spec.priority !== undefined) checkInt32(spec.priority, `${prefix}priority`);
  if (spec.retryPolicy !== undefined) {
    const policy = spec.retryPolicy;
    if (policy === null || typeof policy !== "object") throw invalid(`${prefix}retryPolicy`, "must be an object");
    if (policy.maxAttempts !== undefined) checkInt32(policy.maxAttempts, `${prefix}retryPolicy.maxAttempts`);
    if (policy.initialBackoffMs !== undefined) checkFinite(policy.initialBackoffMs, `${prefix}retryPolicy.initialBackoffMs`);
    if (policy.maxBackoffMs !== undefined) checkFinite(policy.maxBackoffMs, `${prefix}retryPolicy.maxBackoffMs`);
    if (policy.backoffMultiplier !== undefined) checkFinite(policy.backoffMultiplier, `${prefix}retryPolicy.backoffMultiplier`);
  }
  if (spec.idempotencyKey !== undefined && typeof spec.idempotencyKey !== "string") {
    throw invalid(`${prefix}idempotencyKey`, "must be a string");
  }
  if (spec.concurrencyKey !== undefined && typeof spec.concurrencyKey !== "string") {
    throw invalid(`${prefix}concurrencyKey`, "must be a string");
  }
  if (spec.labels !== undefined) checkLabels(spec.labels, `${prefix}labels`);
  if (spec.runAt !== undefined) {
    const ms = spec.runAt instanceof Date ? spec.runAt.getTime() : spec.runAt;
    if (typeof ms !== "number" || !Number.isFinite(ms)) throw invalid(`${prefix}runAt`, "must be a valid Date or milliseconds since the epoch");
  }
  if (spec.timeoutMs !== undefined) checkFinite(spec.timeoutMs, `${prefix}timeoutMs`);
  if (spec.startTimeoutMs !== undefined) checkFinite(spec.startTimeoutMs, `${prefix}startTimeoutMs`);
}

/** A `ConnectError` with `INVALID_ARGUMENT` and a message that starts with the field. */
export function invalid(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.InvalidArgument);
}

function checkInt32(value: unknown, field: string): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw invalid(field, "must be a 32-bit integer");
  }
}

function checkFinite(value: unknown, field: string): void {
  if (typeof value !== "number" || !Number.isFinite(value)) throw invalid(field, "must be a finite number");
}

function checkLabels(labels: unknown, field: string): void {
  if (labels === null || typeof labels !== "object" || Array.isArray(labels)) throw invalid(field, "must be an object of strings");
  const record = labels as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (typeof record[key] !== "string") throw invalid(`${field}.${key}`, "must be a string");
  }
}

function checkJsonValue(value: unknown, field: string, depth: number): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) throw invalid(field, `${value} is not a JSON number`);
      return;
    case "object":
      break;
    default:
      throw invalid(field, `a ${typeof value} is not a JSON value`);
  }
  if (value === null) return;
  if (depth >= MAX_JSON_DEPTH) throw invalid(field, `nested deeper than ${MAX_JSON_DEPTH} levels (or cyclic)`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkJsonValue(value[i], `${field}[${i}]`, depth + 1);
    return;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    throw invalid(field, `a ${value.constructor?.name ?? "non-plain object"} is not a JSON value (convert it first)`);
  }
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) checkJsonValue(object[key], `${field}.${key}`, depth + 1);
}
