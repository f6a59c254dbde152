import type { JsonValue } from "@bufbuild/protobuf";
import { writeJsonValue } from "./json-value.js";
import type { ProtoWriter } from "./proto-writer.js";

/**
 * Writes a google.protobuf.Value holding the JSON value `value` as message field `field`:
 * null, number, string, bool, Struct (objects) and ListValue (arrays), recursively.
 */
export function writeValue(w: ProtoWriter, field: number, value: JsonValue): void {
  const mark = w.fork(field);
  writeJsonValue(w, value);
  w.join(mark);
}

/**
 * Writes a stored JSON text (the server's JSON payloads and results) as a
 * google.protobuf.Value field, the common `null` without parsing.
 */
export function writeJsonTextAsValue(w: ProtoWriter, field: number, text: string): void {
  writeValue(w, field, text === "null" ? null : (JSON.parse(text) as JsonValue));
}
