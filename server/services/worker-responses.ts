import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type ConnectResponse,
  ConnectResponseSchema,
  LeasedTaskSchema,
  ResultAckSchema,
  ResultAcksSchema,
  type ResultStatus,
  TaskAssignmentSchema,
} from "../../gen/taskqueue/v1/worker_service_pb.js";
import { PayloadFormat } from "../db/schema.js";
import { ACKS_SPLIT_BYTES, ASSIGNMENT_SPLIT_BYTES, jsonValueSizeBound } from "../message-limits.js";
import type { LeasedRecord } from "../redis/queue-store.js";
import { defineLazyField, ENCODE_BINARY, type SelfEncoding } from "../transport/fast-message.js";
import { fieldNumbers } from "../../wire/field-numbers.js";
import { ProtoWriter } from "../../wire/proto-writer.js";
import { writeDuration, writeTimestamp } from "../../wire/proto-time.js";
import { writeStringMap } from "../../wire/string-map.js";
import { writeStoredData } from "./stored-data-wire.js";
import { decodeData } from "./payload-codec.js";
import { durationFromMs, timestampFromEpochMs } from "./proto-time.js";

type ResponseCase = ConnectResponse["message"];

/** One acknowledgement of a result, as sent in `ResultAcks`. */
export interface AckEntry {
  taskId: string;
  leaseToken: string;
  status: ResultStatus;
  message?: string;
}

/**
 * A `ConnectResponse` on the dispatch hot path. Over gRPC it writes its own bytes straight
 * from the engine's records; anywhere else (the Connect gateway, JSON) it is read like any
 * protobuf-es message, whose fields it builds on first access.
 */
abstract class HotResponse implements SelfEncoding {
  readonly $typeName = "taskqueue.v1.ConnectResponse" as const;
  /** The oneof, built on first read. */
  declare readonly message: ResponseCase;

  constructor() {
    defineLazyField(this, "message", () => this.build());
  }

  protected abstract build(): ResponseCase;

  abstract [ENCODE_BINARY](): Uint8Array;
}

const RESPONSE = fieldNumbers(ConnectResponseSchema);
const ASSIGNMENT = fieldNumbers(TaskAssignmentSchema);
const LEASED = fieldNumbers(LeasedTaskSchema);
const ACKS = fieldNumbers(ResultAcksSchema);
const ACK = fieldNumbers(ResultAckSchema);
/** Most bytes a `ConnectResponse` adds around its member: a tag and a length. */
const MESSAGE_HEADER_BYTES = 6;

/**
 * `ConnectResponse.assignment`: tasks leased to the stream. Build it with
 * {@link assignmentResponses}, which keeps each message within the split size.
 */
export class AssignmentResponse extends HotResponse {
  /**
   * @param tasks the tasks it carries
   * @param encodedTasks their `TaskAssignment.tasks` entries already encoded, if they are
   */
  constructor(
    /** The tasks it carries. */
    readonly tasks: LeasedRecord[],
    private readonly encodedTasks?: Uint8Array,
  ) {
    super();
  }

  protected build(): ResponseCase {
    return { case: "assignment", value: create(TaskAssignmentSchema, { tasks: this.tasks.map(leasedTaskMessage) }) };
  }

  [ENCODE_BINARY](): Uint8Array {
    if (this.encodedTasks) return wrapField(RESPONSE.assignment, this.encodedTasks);
    const w = new ProtoWriter(64 + this.tasks.length * 160);
    const assignment = w.fork(RESPONSE.assignment);
    for (const t of this.tasks) writeLeasedTask(w, t);
    w.join(assignment);
    return w.finish();
  }
}

/**
 * An upper bound of the bytes `t` takes in an assignment, computed without encoding it:
 * every field at its largest varints, strings at 3 bytes per UTF-16 unit, a JSON payload at
 * its largest growth.
 */
export function leasedTaskSizeBound(t: LeasedRecord): number {
  let bytes = 128 + 3 * (t.id.length + t.queue.length + t.type.length + t.leaseToken.length);
  if (t.trace) bytes += 8 + 3 * (t.trace.traceparent.length + t.trace.tracestate.length);
  for (const key in t.labels) bytes += 16 + 3 * (key.length + t.labels[key]!.length);
  const payload = t.payload.length;
  return bytes + (t.payloadFormat === PayloadFormat.json ? jsonValueSizeBound(payload) : payload + 8);
}

/**
 * The assignment messages that carry `tasks`, in order: one message when they take at most
 * `splitBytes`, else several of at most `splitBytes` each, except that a task larger than
 * that goes alone. Sizes are bounded cheaply first; only tasks that may exceed the split
 * size together are encoded here, once, to be split by their exact sizes.
 */
export function assignmentResponses(tasks: LeasedRecord[], splitBytes = ASSIGNMENT_SPLIT_BYTES): AssignmentResponse[] {
  // The tasks' room in a message: what its tag and length leave.
  const room = splitBytes - MESSAGE_HEADER_BYTES;
  let bound = 0;
  for (const t of tasks) bound += leasedTaskSizeBound(t);
  if (bound <= room) return [new AssignmentResponse(tasks)];
  const w = new ProtoWriter(Math.min(bound, 4 * splitBytes));
  const ends: number[] = [];
  for (const t of tasks) {
    writeLeasedTask(w, t);
    ends.push(w.length);
  }
  const bytes = w.finish();
  const responses: AssignmentResponse[] = [];
  let first = 0;
  let start = 0;
  for (let i = 1; i <= tasks.length; i++) {
    if (i < tasks.length && ends[i]! - start <= room) continue;
    const end = ends[i - 1]!;
    responses.push(new AssignmentResponse(tasks.slice(first, i), bytes.subarray(start, end)));
    first = i;
    start = end;
  }
  return responses;
}

/** Writes one `TaskAssignment.tasks` entry. */
function writeLeasedTask(w: ProtoWriter, t: LeasedRecord): void {
  const task = w.fork(ASSIGNMENT.tasks);
  w.stringIfSet(LEASED.taskId, t.id).stringIfSet(LEASED.queue, t.queue).stringIfSet(LEASED.type, t.type);
  writeStoredData(w, LEASED.payload, LEASED.payloadBytes, t.payload, t.payloadFormat);
  w.int32IfSet(LEASED.attempt, t.attempt).int32IfSet(LEASED.maxAttempts, t.maxAttempts).stringIfSet(LEASED.leaseToken, t.leaseToken);
  writeTimestamp(w, LEASED.leaseDeadline, t.deadlineMs);
  if (t.timeoutMs > 0) writeDuration(w, LEASED.timeout, t.timeoutMs);
  writeStringMap(w, LEASED.labels, t.labels, true);
  writeTimestamp(w, LEASED.createdAt, t.createdMs);
  if (t.trace) w.stringIfSet(LEASED.traceparent, t.trace.traceparent).stringIfSet(LEASED.tracestate, t.trace.tracestate);
  w.join(task);
}

/** `body` as the length-delimited field `field` of a message of its own. */
function wrapField(field: number, body: Uint8Array): Uint8Array {
  let header = 1;
  for (let n = body.length; n > 0x7f; n >>>= 7) header++;
  const out = new Uint8Array(1 + header + body.length);
  out[0] = (field << 3) | 2;
  let at = 1;
  let n = body.length;
  while (n > 0x7f) {
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[at++] = n;
  out.set(body, at);
  return out;
}

/**
 * The acks messages that carry `acks`, in order, each of at most about `splitBytes` (bounded
 * by their strings' lengths, 3 bytes per UTF-16 unit).
 */
export function acksResponses(acks: AckEntry[], splitBytes = ACKS_SPLIT_BYTES): AcksResponse[] {
  const responses: AcksResponse[] = [];
  let first = 0;
  let bytes = 0;
  for (let i = 0; i < acks.length; i++) {
    const a = acks[i]!;
    const bound = 24 + 3 * (a.taskId.length + a.leaseToken.length + (a.message?.length ?? 0));
    if (i > first && bytes + bound > splitBytes - MESSAGE_HEADER_BYTES) {
      responses.push(new AcksResponse(acks.slice(first, i)));
      first = i;
      bytes = 0;
    }
    bytes += bound;
  }
  if (first === 0) return acks.length === 0 ? [] : [new AcksResponse(acks)];
  responses.push(new AcksResponse(acks.slice(first)));
  return responses;
}

/** `ConnectResponse.acks`: verdicts on results. */
export class AcksResponse extends HotResponse {
  constructor(
    /** The verdicts it carries. */
    readonly acks: AckEntry[],
  ) {
    super();
  }

  protected build(): ResponseCase {
    return { case: "acks", value: create(ResultAcksSchema, { acks: this.acks.map((a) => create(ResultAckSchema, a)) }) };
  }

  [ENCODE_BINARY](): Uint8Array {
    const w = new ProtoWriter(16 + this.acks.length * 72);
    const acks = w.fork(RESPONSE.acks);
    for (const a of this.acks) {
      const ack = w.fork(ACKS.acks);
      w.stringIfSet(ACK.taskId, a.taskId)
        .stringIfSet(ACK.leaseToken, a.leaseToken)
        .int32IfSet(ACK.status, a.status)
        .stringIfSet(ACK.message, a.message ?? "");
      w.join(ack);
    }
    w.join(acks);
    return w.finish();
  }
}

function leasedTaskMessage(t: LeasedRecord) {
  return create(LeasedTaskSchema, {
    taskId: t.id,
    queue: t.queue,
    type: t.type,
    payloadData: decodeData(t.payload, t.payloadFormat, "payload", "payloadBytes"),
    attempt: t.attempt,
    maxAttempts: t.maxAttempts,
    leaseToken: t.leaseToken,
    leaseDeadline: timestampFromMs(t.deadlineMs),
    timeout: t.timeoutMs > 0 ? durationFromMs(t.timeoutMs) : undefined,
    labels: t.labels,
    createdAt: timestampFromEpochMs(t.createdMs),
    traceparent: t.trace?.traceparent ?? "",
    tracestate: t.trace?.tracestate ?? "",
  });
}
