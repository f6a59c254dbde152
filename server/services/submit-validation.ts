import type { SubmitTaskRequest } from "../../gen/taskqueue/v1/task_service_pb.js";
import type { QueueRetryDefaults } from "../config.js";
import { toStorableText, unstorableTextProblem } from "../db/storable-text.js";
import { InvalidArgumentError, ResourceExhaustedError } from "../errors.js";
import { newTaskId } from "../engine/ids.js";
import type { NewTask } from "../engine/task-records.js";
import { PayloadFormat } from "../db/schema.js";
import { jsonValueSizeBound, MAX_PAYLOAD_BYTES_CEILING } from "../message-limits.js";
import { jsonValueWireSize } from "./json-value-size.js";
import { encodeData } from "./payload-codec.js";
import { checkedDateOf, checkedMsOfDuration } from "./proto-time.js";
import { queueNameProblem } from "../../wire/queue-name.js";
import type { StoredQueueSettings } from "../engine/queue-settings.js";

/** Limits and defaults that validation applies. */
export interface SubmitPolicy {
  maxPayloadBytes: number;
  defaultMaxAttempts: number;
  defaultInitialBackoffMs: number;
  defaultMaxBackoffMs: number;
  defaultBackoffMultiplier: number;
  /** Per-queue overrides of the retry defaults. */
  queueRetryDefaults?: Record<string, QueueRetryDefaults>;
  /** A queue's stored settings (UpdateQueue), which take precedence over queueRetryDefaults. */
  queueSettings?: (queue: string) => StoredQueueSettings | undefined;
}

const TYPE_NAME = /^[A-Za-z0-9._:/-]{1,128}$/;
const DAY_MS = 24 * 3600 * 1000;

/** Checks a task type name (for a filter; a submit checks it too); throws InvalidArgumentError naming `field`. */
export function checkTypeName(type: string, field = "type"): void {
  if (!TYPE_NAME.test(type)) {
    throw new InvalidArgumentError(field, `"${truncate(type)}" must be 1-128 characters of letters, digits and . _ : / -`);
  }
}

/**
 * Checks that free text from a request can be stored as it is (no NUL, valid UTF-8: see
 * `storable-text.ts`); throws InvalidArgumentError naming `field`.
 */
export function checkStorableText(value: string, field: string): void {
  const problem = unstorableTextProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(field, problem);
}

/** Checks a queue name; throws InvalidArgumentError naming `field`. */
export function checkQueueName(queue: string, field = "queue"): void {
  const problem = queueNameProblem(queue);
  if (problem === undefined) return;
  throw new InvalidArgumentError(field, queue === "" ? problem : `"${truncate(queue)}" ${problem}`);
}

/**
 * Validates one submit request and turns it into a {@link NewTask}. Throws
 * InvalidArgumentError or ResourceExhaustedError naming the field (prefixed by `path`).
 */
export function validateSubmit(req: SubmitTaskRequest, policy: SubmitPolicy, nowMs: number, path = ""): NewTask {
  const f = (name: string) => `${path}${name}`;
  checkQueueName(req.queue, f("queue"));
  if (req.type === "") throw new InvalidArgumentError(f("type"), "is required");
  checkTypeName(req.type, f("type"));
  const payload = encodeData(req.payloadData, "payload", f("payload"));
  const stored = policy.queueSettings?.(req.queue) ?? {};
  if (payload.bytes.length > policy.maxPayloadBytes || (stored.maxPayloadBytes !== undefined && payload.bytes.length > stored.maxPayloadBytes)) {
    const field = req.payloadData.case === "payloadBytes" ? "payload_bytes" : "payload";
    const limit =
      stored.maxPayloadBytes !== undefined && stored.maxPayloadBytes < policy.maxPayloadBytes
        ? `the limit of queue "${req.queue}" (max_payload_bytes ${stored.maxPayloadBytes})`
        : `the limit of ${policy.maxPayloadBytes} bytes`;
    throw new ResourceExhaustedError(f(field), `${payload.bytes.length} bytes exceeds ${limit}`);
  }
  // A JSON payload goes to workers as a google.protobuf.Value, which can be several times its
  // text (a list of small numbers): it must still fit in one message to a worker.
  if (payload.format === PayloadFormat.json && jsonValueSizeBound(payload.bytes.length) > MAX_PAYLOAD_BYTES_CEILING) {
    const wireBytes = jsonValueWireSize(payload.bytes);
    if (wireBytes > MAX_PAYLOAD_BYTES_CEILING) {
      throw new ResourceExhaustedError(
        f("payload"),
        `${wireBytes} bytes as a google.protobuf.Value exceeds the limit of ${MAX_PAYLOAD_BYTES_CEILING} bytes of a payload sent to workers`,
      );
    }
  }
  if (req.priority !== undefined && (!Number.isInteger(req.priority) || req.priority < 0 || req.priority > 100)) {
    throw new InvalidArgumentError(f("priority"), `must be between 0 and 100, got ${req.priority}`);
  }
  const retry = req.retryPolicy;
  const queueDefaults = { ...policy.queueRetryDefaults?.[req.queue], ...stored };
  const defaults = {
    maxAttempts: queueDefaults.maxAttempts ?? policy.defaultMaxAttempts,
    initialBackoffMs: queueDefaults.initialBackoffMs ?? policy.defaultInitialBackoffMs,
    maxBackoffMs: queueDefaults.maxBackoffMs ?? policy.defaultMaxBackoffMs,
    backoffMultiplier: queueDefaults.backoffMultiplier ?? policy.defaultBackoffMultiplier,
  };
  const maxAttempts = retry?.maxAttempts || defaults.maxAttempts;
  if (maxAttempts < 1 || maxAttempts > 100) {
    throw new InvalidArgumentError(f("retry_policy.max_attempts"), `must be between 1 and 100, got ${maxAttempts}`);
  }
  const backoffInitialMs = retry?.initialBackoff
    ? checkedMsOfDuration(retry.initialBackoff, f("retry_policy.initial_backoff"))
    : defaults.initialBackoffMs;
  if (backoffInitialMs < 0 || backoffInitialMs > DAY_MS) {
    throw new InvalidArgumentError(f("retry_policy.initial_backoff"), "must be between 0 and 24h");
  }
  const backoffMaxMs = retry?.maxBackoff
    ? checkedMsOfDuration(retry.maxBackoff, f("retry_policy.max_backoff"))
    : Math.max(defaults.maxBackoffMs, backoffInitialMs);
  if (backoffMaxMs < backoffInitialMs || backoffMaxMs > 7 * DAY_MS) {
    throw new InvalidArgumentError(f("retry_policy.max_backoff"), "must be at least initial_backoff and at most 7 days");
  }
  // 0 is proto3's "unset"; NaN is not, and fails the range check below.
  const backoffMultiplier = retry && retry.backoffMultiplier !== 0 ? retry.backoffMultiplier : defaults.backoffMultiplier;
  if (!(backoffMultiplier >= 1 && backoffMultiplier <= 100)) {
    throw new InvalidArgumentError(f("retry_policy.backoff_multiplier"), `must be between 1 and 100, got ${backoffMultiplier}`);
  }
  if (req.idempotencyKey.length > 256) {
    throw new InvalidArgumentError(f("idempotency_key"), "must be at most 256 characters");
  }
  if (req.idempotencyKey !== "") checkStorableText(req.idempotencyKey, f("idempotency_key"));
  if (Buffer.byteLength(req.concurrencyKey) > 256) {
    throw new InvalidArgumentError(f("concurrency_key"), "must be at most 256 bytes");
  }
  if (req.concurrencyKey !== "") checkStorableText(req.concurrencyKey, f("concurrency_key"));
  checkLabels(req.labels, f("labels"));
  let runAt: Date | null = null;
  if (req.runAt) {
    // Years 1 to 9999: a start deadline up to 7 days later is still a time Postgres takes.
    const date = checkedDateOf(req.runAt, f("run_at"));
    if (date.getTime() > nowMs) runAt = date;
  }
  let timeoutMs: number | null = stored.defaultTimeoutMs ?? null;
  if (req.timeout) {
    timeoutMs = checkedMsOfDuration(req.timeout, f("timeout"));
    if (timeoutMs <= 0 || timeoutMs > DAY_MS) throw new InvalidArgumentError(f("timeout"), "must be between 1ms and 24h");
  }
  let startDeadline: Date | null = null;
  if (req.startTimeout) {
    const startTimeoutMs = checkedMsOfDuration(req.startTimeout, f("start_timeout"));
    if (startTimeoutMs <= 0 || startTimeoutMs > 7 * DAY_MS) {
      throw new InvalidArgumentError(f("start_timeout"), "must be between 1ms and 7 days");
    }
    startDeadline = new Date((runAt ? runAt.getTime() : Math.floor(nowMs)) + startTimeoutMs);
  }
  return {
    id: newTaskId(Math.floor(nowMs)),
    queue: req.queue,
    type: req.type,
    payload: payload.bytes,
    payloadFormat: payload.format,
    // Unset (never sent): the queue's default; an explicit priority, 0 included, is kept.
    priority: req.priority ?? stored.defaultPriority ?? 0,
    maxAttempts,
    backoffInitialMs,
    backoffMaxMs,
    backoffMultiplier,
    timeoutMs,
    idempotencyKey: req.idempotencyKey === "" ? null : req.idempotencyKey,
    concurrencyKey: req.concurrencyKey === "" ? null : req.concurrencyKey,
    labels: { ...req.labels },
    createdMs: nowMs,
    runAt,
    startDeadline,
  };
}

function checkLabels(labels: Record<string, string>, field: string): void {
  const entries = Object.entries(labels);
  if (entries.length > 32) throw new InvalidArgumentError(field, `at most 32 labels, got ${entries.length}`);
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > 64) throw new InvalidArgumentError(`${field}.${truncate(key)}`, "keys must be 1-64 characters");
    const keyProblem = unstorableTextProblem(key);
    if (keyProblem !== undefined) throw new InvalidArgumentError(`${field}.${truncate(key)}`, `keys ${keyProblem}`);
    if (value.length > 256) throw new InvalidArgumentError(`${field}.${key}`, "values must be at most 256 characters");
    checkStorableText(value, `${field}.${key}`);
  }
}

/** `s` cut to 40 characters, as storable text: it is quoted in error messages and field paths. */
function truncate(s: string): string {
  return toStorableText(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}
