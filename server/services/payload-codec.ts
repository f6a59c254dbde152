/// <reference lib="es2024.string" />
import { fromJsonString } from "@bufbuild/protobuf";
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
 * Deepest nesting of arrays and objects in a JSON payload or result (`[[1]]` nests 2).
 * Far below what reading a stored value back can take (protobuf encoders recurse once or
 * twice per level), so whatever is accepted can always be read back.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * Set on a decoded JSON oneof by a decoder that already has the value's JSON text (see the
 * submit request decoder): storing it then needs no conversion.
 */
export const JSON_TEXT = Symbol("taskqueue.jsonText");

/**
 * Set on a decoded JSON oneof by a decoder that found the value unacceptable (nested deeper
 * than {@link MAX_JSON_DEPTH}): what is wrong with it, for the error naming the field.
 */
export const JSON_PROBLEM = Symbol("taskqueue.jsonProblem");

/**
 * Encodes an API oneof for storage; an unset oneof is stored as JSON null. Throws
 * InvalidArgumentError naming `field` for a JSON value that cannot be stored and read back:
 * a google.protobuf.Value with no kind set, a number that is NaN or infinite, a string that
 * is not well-formed (undecodable bytes or a lone surrogate), or arrays and objects nested
 * deeper than {@link MAX_JSON_DEPTH}.
 */
export function encodeData(data: { case: string | undefined; value?: unknown }, jsonCase: string, field = jsonCase): StoredData {
  if (data.case === undefined) return { bytes: Buffer.from("null"), format: PayloadFormat.json };
  if (data.case === jsonCase) {
    const marked = data as { [JSON_TEXT]?: string; [JSON_PROBLEM]?: string };
    const problem = marked[JSON_PROBLEM];
    if (problem !== undefined) throw new InvalidArgumentError(field, problem);
    const known = marked[JSON_TEXT];
    if (known !== undefined) return { bytes: Buffer.from(known), format: PayloadFormat.json };
    return { bytes: Buffer.from(jsonTextOf(data.value as Value, field)), format: PayloadFormat.json };
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

/** The JSON text of a Value, checked as {@link encodeData} says; `field` names it in errors. */
function jsonTextOf(value: Value, field: string): string {
  const invalid = (problem: string) => new InvalidArgumentError(field, `is not a valid JSON value (${problem})`);
  const write = (v: Value, room: number): string => {
    const kind = v.kind;
    switch (kind.case) {
      case "nullValue":
        return "null";
      case "boolValue":
        return kind.value ? "true" : "false";
      case "numberValue":
        if (!Number.isFinite(kind.value)) throw invalid("a number cannot be NaN or Infinity");
        return JSON.stringify(kind.value);
      case "stringValue":
        if (!kind.value.isWellFormed()) throw invalid("a string holds undecodable bytes or a lone surrogate");
        return JSON.stringify(kind.value);
      case "listValue":
      case "structValue": {
        if (room === 0) throw new InvalidArgumentError(field, `nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`);
        if (kind.case === "listValue") return `[${kind.value.values.map((item) => write(item, room - 1)).join(",")}]`;
        const members: string[] = [];
        for (const [key, item] of Object.entries(kind.value.fields)) {
          if (!key.isWellFormed()) throw invalid("a key holds undecodable bytes or a lone surrogate");
          members.push(`${JSON.stringify(key)}:${write(item, room - 1)}`);
        }
        return `{${members.join(",")}}`;
      }
      default:
        throw invalid("a google.protobuf.Value holds nothing");
    }
  };
  return write(value, MAX_JSON_DEPTH);
}
