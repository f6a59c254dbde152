import type { JsonValue } from "@bufbuild/protobuf";
import { writeJsonValue } from "../../../worker/wire/json-value.js";
import { PayloadFormat } from "../../db/schema.js";
import type { ProtoWriter } from "./proto-writer.js";

/** Writes a google.protobuf.Timestamp of epoch milliseconds as message field `field`. */
export function writeTimestamp(w: ProtoWriter, field: number, epochMs: number): void {
  const seconds = Math.floor(epochMs / 1000);
  const nanos = Math.round((epochMs - seconds * 1000) * 1_000_000);
  const mark = w.begin(field);
  w.int64(1, seconds).int32(2, nanos);
  w.end(mark);
}

/** Writes a non-negative google.protobuf.Duration of milliseconds as message field `field`. */
export function writeDuration(w: ProtoWriter, field: number, ms: number): void {
  const seconds = Math.floor(ms / 1000);
  const mark = w.begin(field);
  w.int64(1, seconds).int32(2, (ms - seconds * 1000) * 1_000_000);
  w.end(mark);
}

/** Writes a `map<string, string>` field: one entry message per key. */
export function writeStringMap(w: ProtoWriter, field: number, map: Record<string, string>): void {
  for (const key in map) {
    const mark = w.begin(field);
    w.string(1, key).string(2, map[key]!);
    w.end(mark);
  }
}

/**
 * Writes a google.protobuf.Value holding the JSON value `value` as message field `field`:
 * null, number, string, bool, Struct (objects) and ListValue (arrays), recursively.
 */
export function writeValue(w: ProtoWriter, field: number, value: JsonValue): void {
  const mark = w.begin(field);
  writeJsonValue(w.wire, value);
  w.end(mark);
}

/** Writes a stored JSON text as a google.protobuf.Value field (the common `null` without parsing). */
export function writeJsonTextAsValue(w: ProtoWriter, field: number, text: string): void {
  writeValue(w, field, text === "null" ? null : (JSON.parse(text) as JsonValue));
}

/**
 * Writes stored data (see the payload codec) as its API oneof: JSON text as a
 * google.protobuf.Value in `jsonField`, opaque bytes in `bytesField`.
 */
export function writeStoredData(w: ProtoWriter, jsonField: number, bytesField: number, bytes: Buffer, format: number): void {
  if (format === PayloadFormat.json) writeJsonTextAsValue(w, jsonField, bytes.toString("utf8"));
  else w.bytesAlways(bytesField, bytes);
}
