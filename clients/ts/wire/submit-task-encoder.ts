import { writeJsonValue } from "../../../worker/wire/json-value.js";
import { WireType } from "../../../worker/wire/proto-reader.js";
import { ProtoWriter } from "../../../worker/wire/proto-writer.js";
import { durationParts, timestampParts } from "../proto-time.js";
import type { TaskSpec } from "../task-spec.js";

// Field numbers of SubmitTaskRequest.
const QUEUE = 1;
const TYPE = 2;
const PAYLOAD = 3;
const PAYLOAD_BYTES = 4;
const PRIORITY = 5;
const RETRY_POLICY = 6;
const IDEMPOTENCY_KEY = 7;
const LABELS = 8;
const RUN_AT = 9;
const TIMEOUT = 10;
const START_TIMEOUT = 11;
// Field numbers of RetryPolicy.
const MAX_ATTEMPTS = 1;
const INITIAL_BACKOFF = 2;
const MAX_BACKOFF = 3;
const BACKOFF_MULTIPLIER = 4;
// Field numbers of Timestamp and Duration, and of map entries.
const SECONDS = 1;
const NANOS = 2;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

/** Rough encoded size of a task without payload, to size the buffer up front. */
const BYTES_PER_TASK = 48;

/**
 * Encodes each spec as a `SubmitTaskRequest`, byte for byte what protobuf-es writes for the
 * same message: fields in number order, zero values left out, map entries with both key
 * and value. The results are views of one buffer. Specs must have passed `checkTaskSpec`.
 */
export function encodeSubmitTasks(specs: readonly TaskSpec[]): Uint8Array[] {
  const writer = new ProtoWriter(specs.length * BYTES_PER_TASK + 64);
  const ends = new Array<number>(specs.length);
  for (let i = 0; i < specs.length; i++) {
    writeSubmitTask(writer, specs[i]);
    ends[i] = writer.length;
  }
  const bytes = writer.finish();
  const tasks = new Array<Uint8Array>(specs.length);
  let start = 0;
  for (let i = 0; i < specs.length; i++) {
    tasks[i] = bytes.subarray(start, ends[i]);
    start = ends[i];
  }
  return tasks;
}

/** Writes the fields of one `SubmitTaskRequest` (its body, without tag or length). */
export function writeSubmitTask(writer: ProtoWriter, spec: TaskSpec): void {
  if (spec.queue !== "") writer.stringField(QUEUE, spec.queue);
  if (spec.type !== "") writer.stringField(TYPE, spec.type);
  if (spec.payload !== undefined) {
    const mark = writer.fork(PAYLOAD);
    writeJsonValue(writer, spec.payload);
    writer.join(mark);
  } else if (spec.payloadBytes !== undefined) {
    writer.tag(PAYLOAD_BYTES, WireType.lengthDelimited).bytes(spec.payloadBytes);
  }
  if (spec.priority) writer.tag(PRIORITY, WireType.varint).int32(spec.priority);
  if (spec.retryPolicy !== undefined) writeRetryPolicy(writer, spec.retryPolicy);
  if (spec.idempotencyKey) writer.stringField(IDEMPOTENCY_KEY, spec.idempotencyKey);
  if (spec.labels !== undefined) {
    const labels = spec.labels;
    for (const key of Object.keys(labels)) {
      const entry = writer.fork(LABELS);
      writer.stringField(ENTRY_KEY, key).stringField(ENTRY_VALUE, labels[key]);
      writer.join(entry);
    }
  }
  if (spec.runAt !== undefined) {
    writeTime(writer, RUN_AT, timestampParts(spec.runAt instanceof Date ? spec.runAt.getTime() : spec.runAt));
  }
  if (spec.timeoutMs !== undefined) writeTime(writer, TIMEOUT, durationParts(spec.timeoutMs));
  if (spec.startTimeoutMs !== undefined) writeTime(writer, START_TIMEOUT, durationParts(spec.startTimeoutMs));
}

function writeRetryPolicy(writer: ProtoWriter, policy: NonNullable<TaskSpec["retryPolicy"]>): void {
  const mark = writer.fork(RETRY_POLICY);
  if (policy.maxAttempts) writer.tag(MAX_ATTEMPTS, WireType.varint).int32(policy.maxAttempts);
  if (policy.initialBackoffMs !== undefined) writeTime(writer, INITIAL_BACKOFF, durationParts(policy.initialBackoffMs));
  if (policy.maxBackoffMs !== undefined) writeTime(writer, MAX_BACKOFF, durationParts(policy.maxBackoffMs));
  if (policy.backoffMultiplier) writer.tag(BACKOFF_MULTIPLIER, WireType.fixed64).double(policy.backoffMultiplier);
  writer.join(mark);
}

/** Writes a `Timestamp` or `Duration` message field. */
function writeTime(writer: ProtoWriter, field: number, time: { seconds: number; nanos: number }): void {
  const mark = writer.fork(field);
  if (time.seconds !== 0) writer.tag(SECONDS, WireType.varint).int64(time.seconds);
  if (time.nanos !== 0) writer.tag(NANOS, WireType.varint).int32(time.nanos);
  writer.join(mark);
}
