import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { LeasedTaskSchema, TaskAssignmentSchema } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { fieldNumbers } from "../../wire/field-numbers.js";
import { emptyStringMemo, ProtoReader, WireType, type StringMemo } from "../../wire/proto-reader.js";
import { readStringMapEntry } from "../../wire/string-map.js";
import { fieldWireTypes } from "../../wire/field-wire-types.js";
import { ProtoDecodeError } from "../../wire/decode-error.js";

/** How a task's input was sent. */
export const PayloadKind = {
  /** No input. */
  none: 0,
  /** A `google.protobuf.Value` (JSON), still encoded. */
  json: 1,
  /** Opaque bytes. */
  bytes: 2,
} as const;

/** One of {@link PayloadKind}. */
export type PayloadKindValue = (typeof PayloadKind)[keyof typeof PayloadKind];

/** A `LeasedTask` as the worker uses it, decoded by hand from an assignment. */
export interface AssignedTask {
  /** Task id. */
  taskId: string;
  /** Queue of the task. */
  queue: string;
  /** Task type. */
  type: string;
  /** How the input was sent. */
  payloadKind: PayloadKindValue;
  /** The encoded `Value` (json) or the bytes themselves (bytes); a view of the received frame. */
  payload: Uint8Array | undefined;
  /** Attempt number, from 1. */
  attempt: number;
  /** Total attempts allowed. */
  maxAttempts: number;
  /** Fencing token of the lease. */
  leaseToken: string;
  /** Execution timeout in ms; 0 when none. */
  timeoutMs: number;
  /** Labels given at submit. */
  labels: Record<string, string>;
  /** Submit time in ms since the epoch, if the server said. */
  createdAtMs: number | undefined;
  /** W3C `traceparent` of the submit; empty when none. */
  traceparent: string;
  /** W3C `tracestate` of the submit; empty when none. */
  tracestate: string;
}

// Field numbers of TaskAssignment, LeasedTask, Timestamp and Duration.
const ASSIGNMENT_TASKS = fieldNumbers(TaskAssignmentSchema).tasks;
const LEASED = fieldNumbers(LeasedTaskSchema);
const TASK_ID = LEASED.taskId;
const QUEUE = LEASED.queue;
const TYPE = LEASED.type;
const PAYLOAD = LEASED.payload;
const PAYLOAD_BYTES = LEASED.payloadBytes;
const ATTEMPT = LEASED.attempt;
const MAX_ATTEMPTS = LEASED.maxAttempts;
const LEASE_TOKEN = LEASED.leaseToken;
const TIMEOUT = LEASED.timeout;
const LABELS = LEASED.labels;
const CREATED_AT = LEASED.createdAt;
const TRACEPARENT = LEASED.traceparent;
const TRACESTATE = LEASED.tracestate;
// Timestamp and Duration share their field numbers.
const SECONDS = fieldNumbers(TimestampSchema).seconds;
const NANOS = fieldNumbers(TimestampSchema).nanos;
const ASSIGNMENT_WIRE_TYPES = fieldWireTypes(TaskAssignmentSchema);
const LEASED_WIRE_TYPES = fieldWireTypes(LeasedTaskSchema);
const TIME_WIRE_TYPES = fieldWireTypes(TimestampSchema);

const LEN = WireType.lengthDelimited;
const VARINT = WireType.varint;

/** Decodes a `TaskAssignment` message into its tasks. Throws on malformed input. */
export function decodeAssignment(bytes: Uint8Array): AssignedTask[] {
  const reader = new ProtoReader(bytes);
  const tasks: AssignedTask[] = [];
  // Consecutive tasks mostly share their queue and type: decode those strings once.
  const memos: TaskStringMemos = { queue: emptyStringMemo(), type: emptyStringMemo() };
  while (reader.more) {
    const tag = reader.tag();
    if (tag === ((ASSIGNMENT_TASKS << 3) | LEN)) tasks.push(readTask(reader, reader.delimitedEnd(), memos));
    else reader.skipField(tag, ASSIGNMENT_WIRE_TYPES);
  }
  return tasks;
}

interface TaskStringMemos {
  queue: StringMemo;
  type: StringMemo;
}

function readTask(reader: ProtoReader, end: number, memos: TaskStringMemos): AssignedTask {
  const task: AssignedTask = {
    taskId: "",
    queue: "",
    type: "",
    payloadKind: PayloadKind.none,
    payload: undefined,
    attempt: 0,
    maxAttempts: 0,
    leaseToken: "",
    timeoutMs: 0,
    labels: {},
    createdAtMs: undefined,
    traceparent: "",
    tracestate: "",
  };
  let seenTimeout = false;
  while (reader.pos < end) {
    const tag = reader.tag();
    switch (tag) {
      case (TASK_ID << 3) | LEN:
        task.taskId = reader.string();
        break;
      case (QUEUE << 3) | LEN:
        task.queue = reader.repeatedString(memos.queue);
        break;
      case (TYPE << 3) | LEN:
        task.type = reader.repeatedString(memos.type);
        break;
      case (PAYLOAD << 3) | LEN:
        if (task.payloadKind === PayloadKind.json) throw sentTwice("payload");
        task.payloadKind = PayloadKind.json;
        task.payload = reader.bytes();
        break;
      case (PAYLOAD_BYTES << 3) | LEN:
        task.payloadKind = PayloadKind.bytes;
        task.payload = reader.bytes();
        break;
      case (ATTEMPT << 3) | VARINT:
        task.attempt = reader.int32();
        break;
      case (MAX_ATTEMPTS << 3) | VARINT:
        task.maxAttempts = reader.int32();
        break;
      case (LEASE_TOKEN << 3) | LEN:
        task.leaseToken = reader.string();
        break;
      case (TIMEOUT << 3) | LEN:
        if (seenTimeout) throw sentTwice("timeout");
        seenTimeout = true;
        task.timeoutMs = readMs(reader, reader.delimitedEnd());
        break;
      case (LABELS << 3) | LEN:
        readStringMapEntry(reader, reader.delimitedEnd(), task.labels);
        break;
      case (CREATED_AT << 3) | LEN:
        if (task.createdAtMs !== undefined) throw sentTwice("created_at");
        task.createdAtMs = readMs(reader, reader.delimitedEnd());
        break;
      case (TRACEPARENT << 3) | LEN:
        task.traceparent = reader.string();
        break;
      case (TRACESTATE << 3) | LEN:
        task.tracestate = reader.string();
        break;
      default:
        reader.skipField(tag, LEASED_WIRE_TYPES);
    }
  }
  if (reader.pos !== end) throw new ProtoDecodeError("protobuf: LeasedTask runs past its length");
  return task;
}

/**
 * A message field of a LeasedTask the server sent twice: protobuf would merge the two, which
 * this decoder does not do (the server never sends it so); refused as malformed.
 */
function sentTwice(field: string): ProtoDecodeError {
  return new ProtoDecodeError(`protobuf: LeasedTask.${field} appears more than once`);
}

/** Reads a Timestamp or Duration (seconds and nanos) as milliseconds. */
function readMs(reader: ProtoReader, end: number): number {
  let seconds = 0;
  let nanos = 0;
  while (reader.pos < end) {
    const tag = reader.tag();
    if (tag === ((SECONDS << 3) | VARINT)) seconds = reader.int64();
    else if (tag === ((NANOS << 3) | VARINT)) nanos = reader.int32();
    else reader.skipField(tag, TIME_WIRE_TYPES);
  }
  if (reader.pos !== end) throw new ProtoDecodeError("protobuf: time value runs past its length");
  // To the microsecond: the server stamps creation times that precisely.
  return seconds * 1000 + Math.round(nanos / 1_000) / 1_000;
}

