import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { ListValueSchema, StructSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { fieldNumbers } from "./field-numbers.js";
import { ProtoReader, WireType } from "./proto-reader.js";
import type { ProtoWriter } from "./proto-writer.js";
import { fieldWireTypes, mapEntryWireTypes } from "./field-wire-types.js";
import { ProtoDecodeError } from "./decode-error.js";

// Field numbers of google.protobuf.Value, Struct (and its map entries) and ListValue.
const VALUE = fieldNumbers(ValueSchema);
const NULL_VALUE = VALUE.nullValue;
const NUMBER_VALUE = VALUE.numberValue;
const STRING_VALUE = VALUE.stringValue;
const BOOL_VALUE = VALUE.boolValue;
const STRUCT_VALUE = VALUE.structValue;
const LIST_VALUE = VALUE.listValue;
const STRUCT_FIELDS = fieldNumbers(StructSchema).fields;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
const LIST_VALUES = fieldNumbers(ListValueSchema).values;
const VALUE_WIRE_TYPES = fieldWireTypes(ValueSchema);
const STRUCT_WIRE_TYPES = fieldWireTypes(StructSchema);
const STRUCT_ENTRY_WIRE_TYPES = mapEntryWireTypes(WireType.lengthDelimited, WireType.lengthDelimited);
const LIST_WIRE_TYPES = fieldWireTypes(ListValueSchema);

const NOT_SET = Symbol("not set");
/** Thrown inside the reader when nesting runs out of room; {@link decodeJsonValue} reports it. */
const TOO_DEEP = Symbol("too deep");

/** Thrown by {@link decodeJsonValue} for a value whose arrays and objects nest deeper than allowed. */
export class JsonDepthError extends ProtoDecodeError {
  /** @param maxDepth the nesting allowed */
  constructor(readonly maxDepth: number) {
    super(`nests arrays and objects deeper than ${maxDepth} levels`);
    this.name = "JsonDepthError";
  }
}

/**
 * Decodes the `google.protobuf.Value` message in `bytes` into the JS value it stands for,
 * as protobuf's JSON mapping does: null, a number, a string, a boolean, an object or an
 * array. Throws when a value holds nothing, a number is NaN or infinite, or a string is not
 * valid UTF-8; and {@link JsonDepthError} when arrays and objects nest more than `maxDepth`
 * levels (`[[1]]` nests 2), without reading deeper (so no depth exhausts the stack).
 */
export function decodeJsonValue(bytes: Uint8Array, maxDepth = Infinity): JsonValue {
  // The most common payload by far: null_value = 0.
  if (bytes.length === 2 && bytes[0] === ((NULL_VALUE << 3) | WireType.varint) && bytes[1] === 0) return null;
  const reader = new ProtoReader(bytes);
  try {
    return readValue(reader, reader.end, maxDepth);
  } catch (error) {
    if (error === TOO_DEEP) throw new JsonDepthError(maxDepth);
    throw error;
  }
}

/** Reads a Value ending at `end`; `room` is how many more levels of arrays and objects may open. */
function readValue(reader: ProtoReader, end: number, room: number): JsonValue {
  let value: JsonValue | typeof NOT_SET = NOT_SET;
  while (reader.pos < end) {
    const tag = reader.tag();
    switch (tag) {
      case (NULL_VALUE << 3) | WireType.varint:
        reader.uint32();
        value = null;
        break;
      case (NUMBER_VALUE << 3) | WireType.fixed64:
        value = reader.double();
        if (!Number.isFinite(value)) throw new ProtoDecodeError("google.protobuf.Value cannot be NaN or Infinity");
        break;
      case (STRING_VALUE << 3) | WireType.lengthDelimited:
        value = reader.string();
        break;
      case (BOOL_VALUE << 3) | WireType.varint:
        value = reader.bool();
        break;
      case (STRUCT_VALUE << 3) | WireType.lengthDelimited:
        value = merged(value, readStruct(reader, reader.delimitedEnd(), room - 1));
        break;
      case (LIST_VALUE << 3) | WireType.lengthDelimited:
        value = merged(value, readList(reader, reader.delimitedEnd(), room - 1));
        break;
      default:
        reader.skipField(tag, VALUE_WIRE_TYPES);
    }
  }
  checkEnd(reader, end);
  if (value === NOT_SET) throw new ProtoDecodeError("google.protobuf.Value must have a value");
  return value;
}

function readStruct(reader: ProtoReader, end: number, room: number): JsonObject {
  if (room < 0) throw TOO_DEEP;
  const object: JsonObject = {};
  while (reader.pos < end) {
    const tag = reader.tag();
    if (tag !== ((STRUCT_FIELDS << 3) | WireType.lengthDelimited)) {
      reader.skipField(tag, STRUCT_WIRE_TYPES);
      continue;
    }
    const entryEnd = reader.delimitedEnd();
    let key = "";
    let value: JsonValue | typeof NOT_SET = NOT_SET;
    while (reader.pos < entryEnd) {
      const entryTag = reader.tag();
      if (entryTag === ((ENTRY_KEY << 3) | WireType.lengthDelimited)) key = reader.string();
      else if (entryTag === ((ENTRY_VALUE << 3) | WireType.lengthDelimited)) value = merged(value, readValue(reader, reader.delimitedEnd(), room));
      else reader.skipField(entryTag, STRUCT_ENTRY_WIRE_TYPES);
    }
    checkEnd(reader, entryEnd);
    if (value === NOT_SET) throw new ProtoDecodeError("google.protobuf.Value must have a value");
    setOwn(object, key, value);
  }
  checkEnd(reader, end);
  return object;
}

function readList(reader: ProtoReader, end: number, room: number): JsonValue[] {
  if (room < 0) throw TOO_DEEP;
  const list: JsonValue[] = [];
  while (reader.pos < end) {
    const tag = reader.tag();
    if (tag === ((LIST_VALUES << 3) | WireType.lengthDelimited)) list.push(readValue(reader, reader.delimitedEnd(), room));
    else reader.skipField(tag, LIST_WIRE_TYPES);
  }
  checkEnd(reader, end);
  return list;
}

/**
 * Writes `value` (a JSON value: null, a finite number, a string, a boolean, a plain object
 * or an array of those) as the fields of a `google.protobuf.Value`. The caller wraps them
 * in the enclosing field.
 */
export function writeJsonValue(writer: ProtoWriter, value: JsonValue): void {
  if (value === null) {
    writer.tag(NULL_VALUE, WireType.varint).varint(0);
  } else if (typeof value === "number") {
    writer.tag(NUMBER_VALUE, WireType.fixed64).double(value);
  } else if (typeof value === "string") {
    writer.tag(STRING_VALUE, WireType.lengthDelimited).string(value);
  } else if (typeof value === "boolean") {
    writer.tag(BOOL_VALUE, WireType.varint).varint(value ? 1 : 0);
  } else if (Array.isArray(value)) {
    const list = writer.fork(LIST_VALUE);
    for (const item of value) {
      const mark = writer.fork(LIST_VALUES);
      writeJsonValue(writer, item);
      writer.join(mark);
    }
    writer.join(list);
  } else {
    const struct = writer.fork(STRUCT_VALUE);
    for (const key of Object.keys(value)) {
      const entry = writer.fork(STRUCT_FIELDS);
      writer.stringField(ENTRY_KEY, key);
      const mark = writer.fork(ENTRY_VALUE);
      writeJsonValue(writer, value[key]);
      writer.join(mark);
      writer.join(entry);
    }
    writer.join(struct);
  }
}

/**
 * A message field that occurs twice is merged (protobuf's rule): a second struct_value adds
 * its keys to the first (a key in both takes the second's value), a second list_value appends
 * its items; any other value replaces what came before.
 */
function merged(previous: JsonValue | typeof NOT_SET, next: JsonValue): JsonValue {
  if (Array.isArray(previous) && Array.isArray(next)) return previous.concat(next);
  if (isObject(previous) && isObject(next)) {
    for (const key of Object.keys(next)) setOwn(previous, key, next[key]!);
    return previous;
  }
  return next;
}

function isObject(value: JsonValue | typeof NOT_SET): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function setOwn(object: JsonObject, key: string, value: JsonValue): void {
  if (key === "__proto__") Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}

function checkEnd(reader: ProtoReader, end: number): void {
  if (reader.pos !== end) throw new ProtoDecodeError("protobuf: nested message runs past its length");
}
