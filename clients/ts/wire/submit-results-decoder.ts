import { fromBinary } from "@bufbuild/protobuf";
import { TimestampSchema, type Timestamp } from "@bufbuild/protobuf/wkt";
import { TaskSchema, type Task, type TaskState } from "../../../gen/taskqueue/v1/task_pb.js";
import { SubmitErrorSchema, SubmitTasksResultSchema } from "../../../gen/taskqueue/v1/task_service_pb.js";
import { fieldNumbers } from "../../../wire/field-numbers.js";
import { emptyStringMemo, ProtoReader, WireType, type StringMemo } from "../../../wire/proto-reader.js";
import { missingOutcomeError, SubmitItemError } from "../errors.js";
import type { SubmitTasksItem, TaskSummary } from "../submit-results.js";
import { fieldWireTypes } from "../../../wire/field-wire-types.js";
import { ProtoDecodeError } from "../../../wire/decode-error.js";

// Field numbers of SubmitTasksResult, SubmitError, Task and Timestamp.
const RESULT = fieldNumbers(SubmitTasksResultSchema);
const RESULT_TASK = RESULT.task;
const RESULT_ERROR = RESULT.error;
const RESULT_EXISTING = RESULT.existing;
const ERROR = fieldNumbers(SubmitErrorSchema);
const ERROR_CODE = ERROR.code;
const ERROR_MESSAGE = ERROR.message;
const ERROR_FIELD = ERROR.field;
const TASK = fieldNumbers(TaskSchema);
const TASK_ID = TASK.id;
const TASK_QUEUE = TASK.queue;
const TASK_TYPE = TASK.type;
const TASK_STATE = TASK.state;
const TASK_CREATED_AT = TASK.createdAt;
const SECONDS = fieldNumbers(TimestampSchema).seconds;
const NANOS = fieldNumbers(TimestampSchema).nanos;
const RESULT_WIRE_TYPES = fieldWireTypes(SubmitTasksResultSchema);
const ERROR_WIRE_TYPES = fieldWireTypes(SubmitErrorSchema);
const TASK_WIRE_TYPES = fieldWireTypes(TaskSchema);
const TIME_WIRE_TYPES = fieldWireTypes(TimestampSchema);

const LEN = WireType.lengthDelimited;
const VARINT = WireType.varint;

/** How the task of each result is decoded: by hand into a summary, or by protobuf-es. */
type TaskDecoder<T> = (reader: ProtoReader, end: number, context: DecodeContext) => T;

/** What the decoding of one response shares. */
interface DecodeContext {
  /** The whole buffer the reader reads. */
  bytes: Uint8Array;
  /** Last queue name decoded. */
  queue: StringMemo;
  /** Last task type decoded. */
  type: StringMemo;
}

/**
 * Decodes encoded `SubmitTasksResult` messages, answered in the basic view, by hand: each
 * task's id, queue, type, state and created_at (anything else is skipped). Throws on
 * malformed input.
 */
export function decodeBasicResults(results: readonly Uint8Array[]): SubmitTasksItem<TaskSummary>[] {
  return decodeResults(results, readSummary);
}

/**
 * Decodes encoded `SubmitTasksResult` messages by hand, each task by protobuf-es (every
 * field of `Task`). Throws on malformed input.
 */
export function decodeFullResults(results: readonly Uint8Array[]): SubmitTasksItem<Task>[] {
  return decodeResults(results, readFullTask);
}

function decodeResults<T extends TaskSummary>(results: readonly Uint8Array[], readTask: TaskDecoder<T>): SubmitTasksItem<T>[] {
  const items = new Array<SubmitTasksItem<T>>(results.length);
  // The results are views of one response buffer: one reader over all of it lets queue and
  // type names repeated from task to task be decoded once.
  let reader: ProtoReader | undefined;
  const context: DecodeContext = { bytes: new Uint8Array(0), queue: emptyStringMemo(), type: emptyStringMemo() };
  for (let i = 0; i < results.length; i++) {
    const result = results[i];
    if (result.buffer !== context.bytes.buffer || reader === undefined) {
      context.bytes = new Uint8Array(result.buffer);
      reader = new ProtoReader(context.bytes);
    }
    reader.pos = result.byteOffset;
    items[i] = readResult(reader, result.byteOffset + result.byteLength, context, readTask);
  }
  return items;
}

function readResult<T extends TaskSummary>(reader: ProtoReader, end: number, context: DecodeContext, readTask: TaskDecoder<T>): SubmitTasksItem<T> {
  let task: T | undefined;
  let error: SubmitItemError | undefined;
  let existing = false;
  while (reader.pos < end) {
    const tag = reader.tag();
    switch (tag) {
      case (RESULT_TASK << 3) | LEN:
        if (task !== undefined) throw sentTwice("SubmitTasksResult.task");
        task = readTask(reader, reader.delimitedEnd(), context);
        error = undefined;
        break;
      case (RESULT_ERROR << 3) | LEN:
        if (error !== undefined) throw sentTwice("SubmitTasksResult.error");
        error = readError(reader, reader.delimitedEnd());
        task = undefined;
        break;
      case (RESULT_EXISTING << 3) | VARINT:
        existing = reader.bool();
        break;
      default:
        reader.skipField(tag, RESULT_WIRE_TYPES);
    }
  }
  checkEnd(reader, end, "SubmitTasksResult");
  if (task !== undefined) return { task, existing, error: undefined };
  error ??= missingOutcomeError();
  return { task: undefined, existing: false, error };
}

function readError(reader: ProtoReader, end: number): SubmitItemError {
  let code = "";
  let message = "";
  let field = "";
  while (reader.pos < end) {
    const tag = reader.tag();
    if (tag === ((ERROR_CODE << 3) | LEN)) code = reader.string();
    else if (tag === ((ERROR_MESSAGE << 3) | LEN)) message = reader.string();
    else if (tag === ((ERROR_FIELD << 3) | LEN)) field = reader.string();
    else reader.skipField(tag, ERROR_WIRE_TYPES);
  }
  checkEnd(reader, end, "SubmitError");
  return new SubmitItemError(code, message, field);
}

function readSummary(reader: ProtoReader, end: number, context: DecodeContext): TaskSummary {
  const task: TaskSummary = { id: "", queue: "", type: "", state: 0, createdAt: undefined };
  while (reader.pos < end) {
    const tag = reader.tag();
    switch (tag) {
      case (TASK_ID << 3) | LEN:
        task.id = reader.string();
        break;
      case (TASK_QUEUE << 3) | LEN:
        task.queue = reader.repeatedString(context.queue);
        break;
      case (TASK_TYPE << 3) | LEN:
        task.type = reader.repeatedString(context.type);
        break;
      case (TASK_STATE << 3) | VARINT:
        task.state = reader.int32() as TaskState;
        break;
      case (TASK_CREATED_AT << 3) | LEN:
        if (task.createdAt !== undefined) throw sentTwice("Task.created_at");
        task.createdAt = readTimestamp(reader, reader.delimitedEnd());
        break;
      default:
        reader.skipField(tag, TASK_WIRE_TYPES);
    }
  }
  checkEnd(reader, end, "Task");
  return task;
}

function readFullTask(reader: ProtoReader, end: number, context: DecodeContext): Task {
  const bytes = context.bytes.subarray(reader.pos, end);
  reader.pos = end;
  try {
    return fromBinary(TaskSchema, bytes);
  } catch (error) {
    throw new ProtoDecodeError(`protobuf: a task is malformed or runs past its length (${error instanceof Error ? error.message : String(error)})`);
  }
}

function readTimestamp(reader: ProtoReader, end: number): Timestamp {
  let seconds = 0n;
  let nanos = 0;
  while (reader.pos < end) {
    const tag = reader.tag();
    if (tag === ((SECONDS << 3) | VARINT)) seconds = reader.int64Big();
    else if (tag === ((NANOS << 3) | VARINT)) nanos = reader.int32();
    else reader.skipField(tag, TIME_WIRE_TYPES);
  }
  checkEnd(reader, end, "Timestamp");
  return { $typeName: "google.protobuf.Timestamp", seconds, nanos };
}

/**
 * A message field the server sent twice: protobuf would merge the two, which this decoder does
 * not do (the server never sends it so); refused as malformed.
 */
function sentTwice(field: string): ProtoDecodeError {
  return new ProtoDecodeError(`protobuf: ${field} appears more than once`);
}

function checkEnd(reader: ProtoReader, end: number, message: string): void {
  if (reader.pos !== end) throw new ProtoDecodeError(`protobuf: ${message} runs past its length`);
}
