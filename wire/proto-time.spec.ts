import { create, toBinary } from "@bufbuild/protobuf";
import { durationFromMs, DurationSchema, timestampFromMs, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { durationParts, timestampParts, writeDuration, writeTimestamp } from "./proto-time.js";
import { ProtoWriter } from "./proto-writer.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const samples = [0, 1, 999, 1000, 1500, -1, -999, -1000, -1500, 1_700_000_000_123, -8_000_000_000_000, 8_000_000_000_000_000];

describe("Timestamp and Duration", () => {
  it("converts times as protobuf-es does", () => {
    for (const ms of samples) {
      const timestamp = timestampFromMs(ms);
      expect(timestampParts(ms)).toEqual({ seconds: Number(timestamp.seconds), nanos: timestamp.nanos });
      const duration = durationFromMs(ms);
      expect(durationParts(ms)).toEqual({ seconds: Number(duration.seconds), nanos: duration.nanos });
    }
    expect(timestampParts(0.9999999)).toEqual({ seconds: 0, nanos: 1_000_000 });
    expect(timestampParts(999.9999999)).toEqual({ seconds: 1, nanos: 0 });
    expect(durationParts(-0.25)).toEqual({ seconds: 0, nanos: -250_000 });
  });


  it("write the message fields protobuf-es writes, nanos in [0, 1e9) for a Timestamp and signed like seconds for a Duration", () => {
    for (const ms of samples) {
      const ours = new ProtoWriter(1);
      writeTimestamp(ours, 9, ms);
      writeDuration(ours, 10, ms);
      const timestamp = toBinary(TimestampSchema, create(TimestampSchema, timestampFromMs(ms)));
      const duration = toBinary(DurationSchema, create(DurationSchema, durationFromMs(ms)));
      const theirs = new ProtoWriter(1).bytesField(9, timestamp).bytesField(10, duration).finish();
      expect([ms, hex(ours.finish())]).toEqual([ms, hex(theirs)]);
    }
  });
});
