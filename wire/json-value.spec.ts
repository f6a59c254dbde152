import { create, fromBinary, fromJson, toBinary, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { decodeJsonValue, JsonDepthError, writeJsonValue } from "./json-value.js";
import { ProtoWriter } from "./proto-writer.js";
import { writeJsonTextAsValue, writeValue } from "./value-field.js";

const samples: JsonValue[] = [
  null,
  0,
  -1.5,
  1e300,
  "",
  "héllo \u{1F600}",
  true,
  false,
  [],
  {},
  [1, "two", null, [false], { three: 3 }],
  { nested: { deeper: { list: [1, 2, 3], text: "x".repeat(300) } }, "": "empty key", "ü": "ü" },
  { big: "y".repeat(20_000) },
];

function encodeValue(value: JsonValue): Uint8Array {
  const writer = new ProtoWriter(4);
  writeJsonValue(writer, value);
  return writer.finish();
}

describe("JSON values", () => {
  it("decode what protobuf-es encodes", () => {
    for (const value of samples) {
      expect(decodeJsonValue(toBinary(ValueSchema, fromJson(ValueSchema, value)))).toEqual(value);
    }
  });

  it("encode what protobuf-es decodes", () => {
    for (const value of samples) {
      expect(toJson(ValueSchema, fromBinary(ValueSchema, encodeValue(value)))).toEqual(value);
    }
  });

  it("reject a value that holds nothing and non-finite numbers, as the JSON mapping does", () => {
    expect(() => decodeJsonValue(new Uint8Array())).toThrow(/must have a value/);
    const nan = create(ValueSchema, { kind: { case: "numberValue", value: Number.NaN } });
    expect(() => decodeJsonValue(toBinary(ValueSchema, nan))).toThrow(/NaN/);
  });

  it("refuse nesting deeper than asked without reading further, and strings that are not UTF-8", () => {
    const nested = (depth: number): JsonValue => (depth === 0 ? 1 : depth % 2 ? [nested(depth - 1)] : { k: nested(depth - 1) });
    const bytes = (value: JsonValue) => toBinary(ValueSchema, fromJson(ValueSchema, value));
    expect(decodeJsonValue(bytes(nested(5)), 5)).toEqual(nested(5));
    expect(() => decodeJsonValue(bytes(nested(6)), 5)).toThrow(JsonDepthError);
    expect(decodeJsonValue(bytes(nested(6)))).toEqual(nested(6));
    const badString = new ProtoWriter(8).tag(3, 2).varint(2).finish();
    const invalid = Uint8Array.from([...badString.subarray(0, 2), 0x6b, 0xff]);
    expect(() => decodeJsonValue(invalid)).toThrow(/UTF-8/);
    expect(decodeJsonValue(bytes("k\uFFFD"))).toBe("k\uFFFD");
  });

  it("keep a __proto__ key as an own property", () => {
    const decoded = decodeJsonValue(encodeValue(JSON.parse('{"__proto__": {"polluted": true}}') as JsonValue));
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded as object)).toEqual(["__proto__"]);
  });
});

describe("JSON value fields", () => {
  it("write what protobuf-es writes for a Value field", () => {
    for (const value of samples) {
      const ours = new ProtoWriter(4);
      writeValue(ours, 3, value);
      writeJsonTextAsValue(ours, 3, JSON.stringify(value));
      const body = toBinary(ValueSchema, fromJson(ValueSchema, value));
      const field = new BinaryWriter().tag(3, WireType.LengthDelimited).bytes(body).finish();
      expect(Buffer.from(ours.finish()).toString("hex")).toBe(Buffer.from([...field, ...field]).toString("hex"));
    }
  });
});
