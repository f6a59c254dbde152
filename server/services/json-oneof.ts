import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { JSON_TEXT } from "./payload-codec.js";

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
