import type { ProtoWriter } from "../../wire/proto-writer.js";
import { writeJsonTextAsValue } from "../../wire/value-field.js";
import { PayloadFormat } from "../db/schema.js";

/**
 * Writes stored data (see the payload codec) as its API oneof: JSON text as a
 * google.protobuf.Value in `jsonField`, opaque bytes in `bytesField`.
 */
export function writeStoredData(w: ProtoWriter, jsonField: number, bytesField: number, bytes: Buffer, format: number): void {
  if (format === PayloadFormat.json) writeJsonTextAsValue(w, jsonField, bytes.toString("utf8"));
  else w.bytesField(bytesField, bytes);
}
