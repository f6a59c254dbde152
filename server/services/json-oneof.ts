import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { decodeJsonValue, JsonDepthError } from "../../wire/json-value.js";
import { JSON_PROBLEM, JSON_TEXT, MAX_JSON_DEPTH } from "./payload-codec.js";

/**
 * The `{ case, value }` oneof member of a decoded JSON value (a `google.protobuf.Value`
 * field such as a payload or a result): it carries the value's JSON text, ready to store
 * (see {@link JSON_TEXT}), and builds the `Value` message only when read.
 */
export function jsonOneof<C extends string>(jsonCase: C, json: JsonValue): { case: C; value: Value } {
  let value: Value | undefined;
  return {
    case: jsonCase,
    [JSON_TEXT]: JSON.stringify(json),
    get value(): Value {
      return (value ??= fromJson(ValueSchema, json));
    },
  } as { case: C; value: Value };
}

/**
 * The oneof member of the `google.protobuf.Value` in `bytes`, decoded without reflection.
 * A value nested deeper than {@link MAX_JSON_DEPTH} is not read further: the member then
 * carries the problem (see {@link JSON_PROBLEM}), which storing it reports naming the field.
 * Other malformed values throw, as {@link decodeJsonValue} does.
 */
export function decodeJsonOneof<C extends string>(jsonCase: C, bytes: Uint8Array): { case: C; value: Value } {
  try {
    return jsonOneof(jsonCase, decodeJsonValue(bytes, MAX_JSON_DEPTH));
  } catch (error) {
    if (!(error instanceof JsonDepthError)) throw error;
    return { case: jsonCase, [JSON_PROBLEM]: error.message, value: create(ValueSchema) } as { case: C; value: Value };
  }
}
