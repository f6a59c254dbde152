import { fromBinary } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { RetryPolicySchema } from "../../gen/taskqueue/v1/task_pb.js";
import {
  type SubmitTaskRequest,
  SubmitTaskRequestSchema,
  type SubmitTasksRequest,
  SubmitTasksRequestSchema,
  type TaskView,
} from "../../gen/taskqueue/v1/task_service_pb.js";
import { fieldNumbers } from "../../wire/field-numbers.js";
import { emptyStringMemo, ProtoReader, WireType } from "../../wire/proto-reader.js";
import { readStringMapEntry } from "../../wire/string-map.js";
import { decodeJsonOneof } from "./json-oneof.js";
import { withReflectiveFallback } from "./reflective-fallback.js";
import { fieldWireTypes } from "../../wire/field-wire-types.js";
import { ProtoDecodeError } from "../../wire/decode-error.js";

const LEN = WireType.lengthDelimited;
const VARINT = WireType.varint;
const BATCH = fieldNumbers(SubmitTasksRequestSchema);
const TASK = fieldNumbers(SubmitTaskRequestSchema);
const BATCH_WIRE_TYPES = fieldWireTypes(SubmitTasksRequestSchema);
const TASK_WIRE_TYPES = fieldWireTypes(SubmitTaskRequestSchema);

/**
 * Decodes a `SubmitTasksRequest` without reflection: the same message protobuf-es would
 * build, except that each JSON payload also carries its JSON text (so storing it needs no
 * second conversion) and builds its `google.protobuf.Value` only when read. Rare nested
 * messages (retry policy, times) go through protobuf-es; a message field sent more than once in
 * a task (to be merged) leaves the whole request to it. A payload nested deeper than the
 * limit is not read further: it carries the problem, which validation reports for that task
 * alone. Anything else this decoder cannot take (an empty or non-finite Value, a string that
 * is not valid UTF-8) falls back to the reflective decoder, whose result the validation then
 * refuses with a precise error.
 */
export const decodeSubmitTasksRequest: (bytes: Uint8Array) => SubmitTasksRequest = withReflectiveFallback(
  SubmitTasksRequestSchema,
  decodeFast,
);

/** Decodes a `SubmitTaskRequest` the same way as each task of {@link decodeSubmitTasksRequest}. */
export const decodeSubmitTaskRequest: (bytes: Uint8Array) => SubmitTaskRequest = withReflectiveFallback(
  SubmitTaskRequestSchema,
  (bytes) => {
    const reader = new ProtoReader(bytes);
    return readTask(reader, reader.end, emptyStringMemo(), emptyStringMemo());
  },
);

function decodeFast(bytes: Uint8Array): SubmitTasksRequest {
  const reader = new ProtoReader(bytes);
  const tasks: SubmitTaskRequest[] = [];
  let view = 0;
  const queues = emptyStringMemo();
  const types = emptyStringMemo();
  while (reader.more) {
    const tag = reader.tag();
    if (tag === ((BATCH.tasks << 3) | LEN)) tasks.push(readTask(reader, reader.delimitedEnd(), queues, types));
    else if (tag === ((BATCH.view << 3) | VARINT)) view = reader.int32();
    else reader.skipField(tag, BATCH_WIRE_TYPES);
  }
  return { $typeName: "taskqueue.v1.SubmitTasksRequest", tasks, view: view as TaskView };
}

function readTask(reader: ProtoReader, end: number, queues: ReturnType<typeof emptyStringMemo>, types: ReturnType<typeof emptyStringMemo>): SubmitTaskRequest {
  const task: SubmitTaskRequest = {
    $typeName: "taskqueue.v1.SubmitTaskRequest",
    queue: "",
    type: "",
    payloadData: { case: undefined },
    priority: undefined,
    retryPolicy: undefined,
    idempotencyKey: "",
    labels: {},
    runAt: undefined,
    timeout: undefined,
    startTimeout: undefined,
    concurrencyKey: "",
  };
  while (reader.pos < end) {
    const tag = reader.tag();
    switch (tag) {
      case (TASK.queue << 3) | LEN:
        task.queue = reader.repeatedString(queues);
        break;
      case (TASK.type << 3) | LEN:
        task.type = reader.repeatedString(types);
        break;
      case (TASK.payload << 3) | LEN:
        if (task.payloadData.case === "payload") throw repeatedMessage("payload");
        task.payloadData = decodeJsonOneof("payload", reader.bytes());
        break;
      case (TASK.payloadBytes << 3) | LEN:
        task.payloadData = { case: "payloadBytes", value: Uint8Array.from(reader.bytes()) };
        break;
      case (TASK.priority << 3) | VARINT:
        task.priority = reader.int32();
        break;
      case (TASK.retryPolicy << 3) | LEN:
        if (task.retryPolicy) throw repeatedMessage("retry_policy");
        task.retryPolicy = fromBinary(RetryPolicySchema, reader.bytes());
        break;
      case (TASK.idempotencyKey << 3) | LEN:
        task.idempotencyKey = reader.string();
        break;
      case (TASK.labels << 3) | LEN:
        readStringMapEntry(reader, reader.delimitedEnd(), task.labels);
        break;
      case (TASK.runAt << 3) | LEN:
        if (task.runAt) throw repeatedMessage("run_at");
        task.runAt = fromBinary(TimestampSchema, reader.bytes());
        break;
      case (TASK.timeout << 3) | LEN:
        if (task.timeout) throw repeatedMessage("timeout");
        task.timeout = fromBinary(DurationSchema, reader.bytes());
        break;
      case (TASK.startTimeout << 3) | LEN:
        if (task.startTimeout) throw repeatedMessage("start_timeout");
        task.startTimeout = fromBinary(DurationSchema, reader.bytes());
        break;
      case (TASK.concurrencyKey << 3) | LEN:
        task.concurrencyKey = reader.string();
        break;
      default:
        reader.skipField(tag, TASK_WIRE_TYPES);
    }
  }
  if (reader.pos !== end) throw new ProtoDecodeError("protobuf: task runs past its length");
  return task;
}

/**
 * A message field seen twice in one task: protobuf merges the two (a `Duration` sent as its
 * seconds, then again as its nanos, holds both), which the reflective decoder does.
 */
function repeatedMessage(field: string): ProtoDecodeError {
  return new ProtoDecodeError(`protobuf: ${field} appears more than once; merged by the reflective decoder`);
}
