import { type ProtoReader, WireType } from "./proto-reader.js";
import type { ProtoWriter } from "./proto-writer.js";
import { mapEntryWireTypes } from "./field-wire-types.js";
import { ProtoDecodeError } from "./decode-error.js";

/** Field number of a map entry's key. */
const ENTRY_KEY = 1;
/** Field number of a map entry's value. */
const ENTRY_VALUE = 2;
/** Both are strings. */
const STRING_MAP_ENTRY = mapEntryWireTypes(WireType.lengthDelimited, WireType.lengthDelimited);

/**
 * Writes a `map<string, string>` field (task labels): one entry message per key. protobuf-es
 * writes every entry's key and value, even empty ones, and so does this by default (the
 * TypeScript client's submits, compared byte for byte); with `skipEmpty` an empty key or value
 * is left out of its entry, as the server's responses have always written them (decoded, the
 * two are the same map).
 */
export function writeStringMap(w: ProtoWriter, field: number, map: Record<string, string>, skipEmpty = false): void {
  for (const key in map) {
    const mark = w.fork(field);
    if (skipEmpty) w.stringIfSet(ENTRY_KEY, key).stringIfSet(ENTRY_VALUE, map[key]!);
    else w.stringField(ENTRY_KEY, key).stringField(ENTRY_VALUE, map[key]!);
    w.join(mark);
  }
}

/**
 * Reads one entry of a `map<string, string>` field (task labels) that ends at `end`, into
 * `map`. A `__proto__` key becomes an own property, not the prototype.
 */
export function readStringMapEntry(reader: ProtoReader, end: number, map: Record<string, string>): void {
  let key = "";
  let value = "";
  while (reader.pos < end) {
    const tag = reader.tag();
    if (tag === ((ENTRY_KEY << 3) | WireType.lengthDelimited)) key = reader.string();
    else if (tag === ((ENTRY_VALUE << 3) | WireType.lengthDelimited)) value = reader.string();
    else reader.skipField(tag, STRING_MAP_ENTRY);
  }
  if (reader.pos !== end) throw new ProtoDecodeError("protobuf: map entry runs past its length");
  if (key === "__proto__") Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  else map[key] = value;
}
