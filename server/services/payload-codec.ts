import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { PayloadFormat, type PayloadFormatValue } from "../db/schema.js";
import { InvalidArgumentError } from "../errors.js";

/** A payload or result as the API carries it: a JSON value or opaque bytes (a proto oneof). */
export type ApiData<J extends string, B extends string> =
  | { case: J; value: Value }
  | { case: B; value: Uint8Array }
  | { case: undefined; value?: undefined };

/** A payload or result as stored: bytes plus their format. */
export interface StoredData {
  bytes: Buffer;
  format: PayloadFormatValue;
}

/**
 * Set on a decoded JSON oneof by a decoder that already has the value's JSON text (see the
 * submit request decoder): storing it then needs no conversion.
 */
export const JSON_TEXT = Symbol("taskqueue.jsonText");

/**
 * Encodes an API oneof for storage; an unset oneof is stored as JSON null. Throws
 * InvalidArgumentError naming `field` for a JSON value that holds nothing (a
 * google.protobuf.Value with no kind set).
 */
export function encodeData(data: { case: string | undefined; value?: unknown }, jsonCase: string, field = jsonCase): StoredData {
  if (data.case === undefined) return { bytes: Buffer.from("null"), format: PayloadFormat.json };
  if (data.case === jsonCase) {
    const known = (data as { [JSON_TEXT]?: string })[JSON_TEXT];
    if (known !== undefined) return { bytes: Buffer.from(known), format: PayloadFormat.json };
    const scalar = scalarJson(data.value as Value);
    if (scalar !== undefined) return { bytes: Buffer.from(scalar), format: PayloadFormat.json };
    let text: string;
    try {
      text = toJsonString(ValueSchema, data.value as Value);
    } catch (error) {
      throw new InvalidArgumentError(field, `is not a valid JSON value (${(error as Error).message})`);
    }
    return { bytes: Buffer.from(text), format: PayloadFormat.json };
  }
  const bytes = data.value as Uint8Array;
  return { bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), format: PayloadFormat.bytes };
}

/** Decodes stored data into an API oneof with the given case names. */
export function decodeData<J extends string, B extends string>(
  bytes: Buffer,
  format: number,
  jsonCase: J,
  bytesCase: B,
): { case: J; value: Value } | { case: B; value: Uint8Array } {
  if (format === PayloadFormat.json) {
    return { case: jsonCase, value: fromJsonString(ValueSchema, bytes.toString("utf8")) };
  }
  return { case: bytesCase, value: new Uint8Array(bytes) };
}

/** JSON text of a null, bool, string or finite number Value without the reflective encoder. */
function scalarJson(value: Value): string | undefined {
  switch (value.kind.case) {
    case "nullValue":
      return "null";
    case "boolValue":
    case "stringValue":
      return JSON.stringify(value.kind.value);
    case "numberValue":
      return Number.isFinite(value.kind.value) ? JSON.stringify(value.kind.value) : undefined;
    default:
      return undefined;
  }
}
