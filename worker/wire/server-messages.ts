import { fromBinary } from "@bufbuild/protobuf";
import {
  CancelCommandSchema,
  DrainCommandSchema,
  HeartbeatAckSchema,
  ResultAckSchema,
  ResultAcksSchema,
  WelcomeSchema,
  type CancelCommand,
  type DrainCommand,
  type HeartbeatAck,
  type ResultStatus,
  type Welcome,
} from "../../gen/taskqueue/v1/worker_service_pb.js";
import { fieldNumbers } from "../../wire/field-numbers.js";
import { ProtoReader, WireType } from "../../wire/proto-reader.js";
import { decodeAssignment, type AssignedTask } from "./assignment.js";
import type { ResponseFrame } from "./frame-service.js";
import { fieldWireTypes } from "../../wire/field-wire-types.js";
import { ProtoDecodeError } from "../../wire/decode-error.js";

/** A `ResultAck` decoded by hand. */
export interface ReceivedAck {
  /** Task id of the result. */
  taskId: string;
  /** Lease token of the result. */
  leaseToken: string;
  /** The verdict (a wire value: unknown values are kept as numbers). */
  status: ResultStatus;
  /** Explanation when not accepted. */
  message: string;
}

/**
 * A server message, decoded: the hot ones (assignments, acks) by hand into plain objects,
 * the rare ones with the generated schemas.
 */
export type ServerMessage =
  | { case: "welcome"; value: Welcome }
  | { case: "assignment"; value: AssignedTask[] }
  | { case: "acks"; value: ReceivedAck[] }
  | { case: "cancel"; value: CancelCommand }
  | { case: "drain"; value: DrainCommand }
  | { case: "heartbeatAck"; value: HeartbeatAck }
  | { case: undefined; value?: undefined };

/** Decodes the member of a `ConnectResponse` frame. Throws on malformed input. */
export function decodeServerMessage(frame: ResponseFrame): ServerMessage {
  const message = frame.message;
  switch (message.case) {
    case "assignment":
      return { case: "assignment", value: decodeAssignment(message.value) };
    case "acks":
      return { case: "acks", value: decodeAcks(message.value) };
    case "welcome":
      return { case: "welcome", value: fromBinary(WelcomeSchema, message.value) };
    case "cancel":
      return { case: "cancel", value: fromBinary(CancelCommandSchema, message.value) };
    case "drain":
      return { case: "drain", value: fromBinary(DrainCommandSchema, message.value) };
    case "heartbeatAck":
      return { case: "heartbeatAck", value: fromBinary(HeartbeatAckSchema, message.value) };
    default:
      return { case: undefined };
  }
}

const ACKS = fieldNumbers(ResultAcksSchema);
const ACK = fieldNumbers(ResultAckSchema);
const ACKS_WIRE_TYPES = fieldWireTypes(ResultAcksSchema);
const ACK_WIRE_TYPES = fieldWireTypes(ResultAckSchema);

/** Decodes a `ResultAcks` message. */
export function decodeAcks(bytes: Uint8Array): ReceivedAck[] {
  const reader = new ProtoReader(bytes);
  const acks: ReceivedAck[] = [];
  while (reader.more) {
    const tag = reader.tag();
    if (tag === ((ACKS.acks << 3) | WireType.lengthDelimited)) acks.push(readAck(reader, reader.delimitedEnd()));
    else reader.skipField(tag, ACKS_WIRE_TYPES);
  }
  return acks;
}

function readAck(reader: ProtoReader, end: number): ReceivedAck {
  const ack: ReceivedAck = { taskId: "", leaseToken: "", status: 0, message: "" };
  while (reader.pos < end) {
    const tag = reader.tag();
    switch (tag) {
      case (ACK.taskId << 3) | WireType.lengthDelimited:
        ack.taskId = reader.string();
        break;
      case (ACK.leaseToken << 3) | WireType.lengthDelimited:
        ack.leaseToken = reader.string();
        break;
      case (ACK.status << 3) | WireType.varint:
        ack.status = reader.int32();
        break;
      case (ACK.message << 3) | WireType.lengthDelimited:
        ack.message = reader.string();
        break;
      default:
        reader.skipField(tag, ACK_WIRE_TYPES);
    }
  }
  if (reader.pos !== end) throw new ProtoDecodeError("protobuf: ResultAck runs past its length");
  return ack;
}
