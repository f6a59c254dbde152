import { fromBinary } from "@bufbuild/protobuf";
import {
  type ConnectRequest,
  ConnectRequestSchema,
  CreditGrantSchema,
  type TaskResult,
  TaskResultSchema,
  TaskResultsSchema,
  type TaskSuccess,
  TaskSuccessSchema,
  WorkerHelloSchema,
} from "../../gen/taskqueue/v1/worker_service_pb.js";
import { fieldNumbers } from "../../wire/field-numbers.js";
import { ProtoReader, WireType } from "../../wire/proto-reader.js";
import { decodeJsonOneof } from "./json-oneof.js";
import { withReflectiveFallback } from "./reflective-fallback.js";

const LEN = WireType.lengthDelimited;
const VARINT = WireType.varint;

const REQUEST = fieldNumbers(ConnectRequestSchema);
/** Field numbers of `ConnectRequest.message` decoded here; the others go through protobuf-es. */
const HELLO = REQUEST.hello;
const CREDIT = REQUEST.credit;
const RESULTS = REQUEST.results;
/** Field numbers of `WorkerHello.capacity` and `CreditGrant.credits`. */
const HELLO_CAPACITY = fieldNumbers(WorkerHelloSchema).capacity;
const CREDIT_CREDITS = fieldNumbers(CreditGrantSchema).credits;
const RESULTS_RESULTS = fieldNumbers(TaskResultsSchema).results;
const RESULT = fieldNumbers(TaskResultSchema);
const SUCCESS = fieldNumbers(TaskSuccessSchema);

/** Raised inside the fast decoder for anything it leaves to protobuf-es. */
class NotFast extends Error {}

/**
 * Decodes a `ConnectRequest` from a worker stream without reflection when it is one of the
 * frequent messages, credits and results: the same message protobuf-es would build, except
 * that a JSON result also carries its JSON text (storing it needs no second conversion) and
 * builds its `google.protobuf.Value` only when read. Every other message (hello, heartbeat,
 * progress, draining, a frame with more than one member) and anything this decoder cannot
 * take (an empty or non-finite Value) goes to protobuf-es, whose result the stream then
 * checks as usual.
 *
 * One difference with protobuf-es, on purpose: `hello.capacity` and `credit.credits` keep the
 * whole value of their varint. protobuf-es keeps the low 32 bits of an int32's varint, so a
 * grant of 2^32 + 1 would read as 1; here it reads as 4294967297, which the stream refuses
 * (INVALID_ARGUMENT naming the field) like any value out of range.
 */
export function decodeConnectRequest(bytes: Uint8Array): ConnectRequest {
  try {
    return decodeFast(bytes);
  } catch {
    return withWholeVarints(bytes, fromBinary(ConnectRequestSchema, bytes));
  }
}

/** Puts the whole varint values of `hello.capacity` and `credit.credits` into `request`. */
function withWholeVarints(bytes: Uint8Array, request: ConnectRequest): ConnectRequest {
  try {
    return wholeVarintsOf(bytes, request);
  } catch {
    // Bytes protobuf-es read by rules of its own (a group, a wrong wire type): its values stand.
    return request;
  }
}

function wholeVarintsOf(bytes: Uint8Array, request: ConnectRequest): ConnectRequest {
  const message = request.message;
  if (message.case === "hello") {
    const whole = lastVarint(bytes, HELLO, HELLO_CAPACITY);
    if (whole !== undefined) message.value.capacity = whole;
  } else if (message.case === "credit") {
    const whole = lastVarint(bytes, CREDIT, CREDIT_CREDITS);
    if (whole !== undefined) message.value.credits = whole;
  }
  return request;
}

/**
 * The value (as int64) of the last varint field `inner` inside the message fields `outer` of
 * the top-level message in `bytes` (protobuf merges repeated message fields: the last value
 * wins); undefined when there is none.
 */
function lastVarint(bytes: Uint8Array, outer: number, inner: number): number | undefined {
  const reader = new ProtoReader(bytes);
  let value: number | undefined;
  while (reader.more) {
    const tag = reader.tag();
    if (tag !== ((outer << 3) | LEN)) {
      reader.skip(tag & 7);
      continue;
    }
    const end = reader.delimitedEnd();
    while (reader.pos < end) {
      const field = reader.tag();
      if (field === ((inner << 3) | VARINT)) value = reader.int64();
      // Sent with another wire type: protobuf-es' reading stands (see withWholeVarints).
      else if (field >>> 3 === inner) throw new NotFast();
      else reader.skip(field & 7);
    }
  }
  return value;
}

function decodeFast(bytes: Uint8Array): ConnectRequest {
  const reader = new ProtoReader(bytes);
  if (!reader.more) throw new NotFast();
  const tag = reader.tag();
  let message: ConnectRequest["message"];
  if (tag === ((CREDIT << 3) | LEN)) message = { case: "credit", value: readCredit(reader, reader.delimitedEnd()) };
  else if (tag === ((RESULTS << 3) | LEN)) message = { case: "results", value: readResults(reader, reader.delimitedEnd()) };
  else throw new NotFast();
  // A second member (the last one would win) or any other field: leave it to protobuf-es.
  if (reader.more) throw new NotFast();
  return { $typeName: "taskqueue.v1.ConnectRequest", message };
}

function readCredit(reader: ProtoReader, end: number): Extract<ConnectRequest["message"], { case: "credit" }>["value"] {
  let credits = 0;
  while (reader.pos < end) {
    const tag = reader.tag();
    // The whole varint, not its low 32 bits (see decodeConnectRequest).
    if (tag === ((CREDIT_CREDITS << 3) | VARINT)) credits = reader.int64();
    else throw new NotFast(); // any other field (unknown, or a wrong wire type): protobuf-es decides
  }
  if (reader.pos !== end) throw new NotFast();
  return { $typeName: "taskqueue.v1.CreditGrant", credits };
}

function readResults(reader: ProtoReader, end: number): Extract<ConnectRequest["message"], { case: "results" }>["value"] {
  const results: TaskResult[] = [];
  while (reader.pos < end) {
    const tag = reader.tag();
    if (tag === ((RESULTS_RESULTS << 3) | LEN)) results.push(readResult(reader, reader.delimitedEnd()));
    else throw new NotFast(); // any other field (unknown, or a wrong wire type): protobuf-es decides
  }
  if (reader.pos !== end) throw new NotFast();
  return { $typeName: "taskqueue.v1.TaskResults", results };
}

function readResult(reader: ProtoReader, end: number): TaskResult {
  const result: TaskResult = { $typeName: "taskqueue.v1.TaskResult", taskId: "", leaseToken: "", outcome: { case: undefined } };
  while (reader.pos < end) {
    const tag = reader.tag();
    switch (tag) {
      case (RESULT.taskId << 3) | LEN:
        result.taskId = reader.string();
        break;
      case (RESULT.leaseToken << 3) | LEN:
        result.leaseToken = reader.string();
        break;
      case (RESULT.success << 3) | LEN:
        result.outcome = { case: "success", value: readSuccess(reader, reader.delimitedEnd()) };
        break;
      case (RESULT.failure << 3) | LEN:
        // Failures are rare: protobuf-es reads them.
        throw new NotFast();
      default:
        throw new NotFast(); // any other field (unknown, or a wrong wire type): protobuf-es decides
    }
  }
  if (reader.pos !== end) throw new NotFast();
  return result;
}

function readSuccess(reader: ProtoReader, end: number): TaskSuccess {
  const success: TaskSuccess = { $typeName: "taskqueue.v1.TaskSuccess", resultData: { case: undefined } };
  while (reader.pos < end) {
    const tag = reader.tag();
    if (tag === ((SUCCESS.result << 3) | LEN)) success.resultData = decodeJsonOneof("result", reader.bytes());
    else if (tag === ((SUCCESS.resultBytes << 3) | LEN)) success.resultData = { case: "resultBytes", value: Uint8Array.from(reader.bytes()) };
    else throw new NotFast(); // any other field (unknown, or a wrong wire type): protobuf-es decides
  }
  if (reader.pos !== end) throw new NotFast();
  return success;
}
