import { RetryPolicySchema } from "../../../gen/taskqueue/v1/task_pb.js";
import { SubmitTaskRequestSchema } from "../../../gen/taskqueue/v1/task_service_pb.js";
import { fieldNumbers } from "../../../wire/field-numbers.js";
import { writeJsonValue } from "../../../wire/json-value.js";
import { WireType } from "../../../wire/proto-reader.js";
import { ProtoWriter } from "../../../wire/proto-writer.js";
import { writeDuration, writeTimestamp } from "../../../wire/proto-time.js";
import { writeStringMap } from "../../../wire/string-map.js";
import type { TaskSpec } from "../task-spec.js";

const TASK = fieldNumbers(SubmitTaskRequestSchema);
const POLICY = fieldNumbers(RetryPolicySchema);
const QUEUE = TASK.queue;
const TYPE = TASK.type;
const PAYLOAD = TASK.payload;
const PAYLOAD_BYTES = TASK.payloadBytes;
const PRIORITY = TASK.priority;
const RETRY_POLICY = TASK.retryPolicy;
const IDEMPOTENCY_KEY = TASK.idempotencyKey;
const LABELS = TASK.labels;
const RUN_AT = TASK.runAt;
const TIMEOUT = TASK.timeout;
const START_TIMEOUT = TASK.startTimeout;
const CONCURRENCY_KEY = TASK.concurrencyKey;
const MAX_ATTEMPTS = POLICY.maxAttempts;
const INITIAL_BACKOFF = POLICY.initialBackoff;
const MAX_BACKOFF = POLICY.maxBackoff;
const BACKOFF_MULTIPLIER = POLICY.backoffMultiplier;

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
  if (spec.priority !== undefined) writer.tag(PRIORITY, WireType.varint).int32(spec.priority); // explicit presence: 0 is sent
  if (spec.retryPolicy !== undefined) writeRetryPolicy(writer, spec.retryPolicy);
  if (spec.idempotencyKey) writer.stringField(IDEMPOTENCY_KEY, spec.idempotencyKey);
  if (spec.labels !== undefined) writeStringMap(writer, LABELS, spec.labels);
  if (spec.runAt !== undefined) writeTimestamp(writer, RUN_AT, spec.runAt instanceof Date ? spec.runAt.getTime() : spec.runAt);
  if (spec.timeoutMs !== undefined) writeDuration(writer, TIMEOUT, spec.timeoutMs);
  if (spec.startTimeoutMs !== undefined) writeDuration(writer, START_TIMEOUT, spec.startTimeoutMs);
  if (spec.concurrencyKey) writer.stringField(CONCURRENCY_KEY, spec.concurrencyKey);
}

function writeRetryPolicy(writer: ProtoWriter, policy: NonNullable<TaskSpec["retryPolicy"]>): void {
  const mark = writer.fork(RETRY_POLICY);
  if (policy.maxAttempts) writer.tag(MAX_ATTEMPTS, WireType.varint).int32(policy.maxAttempts);
  if (policy.initialBackoffMs !== undefined) writeDuration(writer, INITIAL_BACKOFF, policy.initialBackoffMs);
  if (policy.maxBackoffMs !== undefined) writeDuration(writer, MAX_BACKOFF, policy.maxBackoffMs);
  if (policy.backoffMultiplier) writer.tag(BACKOFF_MULTIPLIER, WireType.fixed64).double(policy.backoffMultiplier);
  writer.join(mark);
}
