import type { JsonValue } from "@bufbuild/protobuf";
import { writeJsonValue } from "../../wire/json-value.js";
import { ProtoWriter } from "../../wire/proto-writer.js";

/**
 * The exact number of bytes a stored JSON text takes as a `google.protobuf.Value` on the wire
 * (the body of the message, as assignments carry a JSON payload). It encodes the value: use it
 * only where the cheap bound (`jsonValueSizeBound`) is not enough.
 */
export function jsonValueWireSize(text: Buffer): number {
  const writer = new ProtoWriter(Math.max(64, text.length * 2));
  writeJsonValue(writer, JSON.parse(text.toString("utf8")) as JsonValue);
  return writer.length;
}
