import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { WireType } from "./proto-reader.js";

/**
 * The wire types each field of a message may arrive with, by field number (a bit per wire
 * type). Hand-written decoders pass it to `ProtoReader.skipField` so that a field of the
 * message sent with another wire type is refused, as protobuf-es refuses or misreads it,
 * instead of being skipped as unknown: both decoders then agree on every input.
 */
export type FieldWireTypes = ReadonlyMap<number, number>;

function scalarWireType(type: ScalarType): number {
  switch (type) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.fixed64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.fixed32;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.lengthDelimited;
    default:
      return WireType.varint;
  }
}

function wireTypesOf(field: DescField): number {
  const bit = (wireType: number) => 1 << wireType;
  switch (field.fieldKind) {
    case "scalar":
      return bit(scalarWireType(field.scalar));
    case "enum":
      return bit(WireType.varint);
    case "list":
      // Repeated numbers come packed or not.
      if (field.listKind === "message") return bit(WireType.lengthDelimited);
      return bit(field.listKind === "enum" ? WireType.varint : scalarWireType(field.scalar)) | bit(WireType.lengthDelimited);
    default:
      return bit(WireType.lengthDelimited);
  }
}

/** The wire types of every field of `schema` (read once at module load). */
export function fieldWireTypes(schema: DescMessage): FieldWireTypes {
  return new Map(schema.fields.map((field) => [field.number, wireTypesOf(field)]));
}

/** The wire types of a map entry's key (1) and value (2). */
export function mapEntryWireTypes(keyWireType: number, valueWireType: number): FieldWireTypes {
  return new Map([
    [1, 1 << keyWireType],
    [2, 1 << valueWireType],
  ]);
}
