import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { ProtoReader } from "./proto-reader.js";
import { ProtoWriter } from "./proto-writer.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("proto reader and writer", () => {
  it("round-trip varints, negative int32 and int64 values, and long nested lengths", () => {
    const writer = new ProtoWriter(1);
    writer.varint(0).varint(127).varint(128).varint(2 ** 32 - 1).int32(-1).int32(-2_147_483_648);
    const mark = writer.fork(1);
    writer.raw(new Uint8Array(70_000).fill(7));
    writer.join(mark);
    const reader = new ProtoReader(writer.finish());
    expect([reader.uint32(), reader.uint32(), reader.uint32(), reader.uint32(), reader.int32(), reader.int32()]).toEqual([
      0, 127, 128, 2 ** 32 - 1, -1, -2_147_483_648,
    ]);
    expect(reader.tag()).toBe((1 << 3) | 2);
    const body = reader.bytes();
    expect(body.length).toBe(70_000);
    expect(body.every((b) => b === 7)).toBe(true);
    expect(reader.more).toBe(false);
    const seconds = new ProtoWriter();
    seconds.int32(-5);
    expect(new ProtoReader(seconds.finish()).int64()).toBe(-5);
  });

  it("write int64 varints as protobuf-es does", () => {
    const values = [0, 1, 127, 128, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 7, 2 ** 53 - 1, -1, -2, -(2 ** 31), -(2 ** 32) - 1, -(2 ** 53) + 1];
    for (const value of values) {
      const ours = new ProtoWriter(1).int64(value).finish();
      const theirs = new BinaryWriter().int64(value).finish();
      expect([value, hex(ours)]).toEqual([value, hex(theirs)]);
    }
  });

  it("write fields as protobuf-es does, the IfSet ones skipping proto3 defaults", () => {
    const ours = new ProtoWriter(1)
      .stringIfSet(1, "")
      .stringIfSet(1, "héllo")
      .bytesIfSet(2, new Uint8Array())
      .bytesIfSet(2, Uint8Array.of(1, 2))
      .int32IfSet(3, 0)
      .int32IfSet(3, -7)
      .int64IfSet(4, 0)
      .int64IfSet(4, 2 ** 40)
      .boolIfSet(5, false)
      .boolIfSet(5, true)
      .doubleIfSet(6, 0)
      .doubleIfSet(6, 0.1)
      .floatIfSet(7, 0)
      .floatIfSet(7, 12.5)
      .stringField(8, "")
      .bytesField(9, new Uint8Array())
      .int32Field(10, 0)
      .boolField(11, false);
    const nested = ours.fork(12);
    ours.stringIfSet(1, "x".repeat(200));
    ours.join(nested);
    const theirs = new BinaryWriter()
      .tag(1, WireType.LengthDelimited).string("héllo")
      .tag(2, WireType.LengthDelimited).bytes(Uint8Array.of(1, 2))
      .tag(3, WireType.Varint).int32(-7)
      .tag(4, WireType.Varint).int64(2 ** 40)
      .tag(5, WireType.Varint).bool(true)
      .tag(6, WireType.Bit64).double(0.1)
      .tag(7, WireType.Bit32).float(12.5)
      .tag(8, WireType.LengthDelimited).string("")
      .tag(9, WireType.LengthDelimited).bytes(new Uint8Array())
      .tag(10, WireType.Varint).int32(0)
      .tag(11, WireType.Varint).bool(false)
      .tag(12, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("x".repeat(200)).join();
    expect(hex(ours.finish())).toBe(hex(theirs.finish()));
  });
});
