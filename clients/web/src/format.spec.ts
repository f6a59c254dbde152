import { fromJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { dataView, formatBytes, formatRate, formatSpan } from "./format.js";

describe("formatting", () => {
  it("writes spans, sizes and rates for people", () => {
    expect([850, 12_000, 185_000, 7_440_000, 266_400_000].map(formatSpan)).toEqual(["850 ms", "12 s", "3 min 5 s", "2 h 4 min", "3 d 2 h"]);
    expect([512, 1536, 2 * 1024 * 1024].map(formatBytes)).toEqual(["512 B", "1.5 KiB", "2.0 MiB"]);
    expect([formatRate(120n, 15), formatRate(2n, 5), formatRate(0n, 1), formatRate(125n, 1)]).toEqual(["8/min", "0.4/min", "0/min", "125/min"]);
  });

  it("shows JSON payloads indented and bytes as base64 with their size", () => {
    expect(dataView(fromJson(ValueSchema, { to: "a@b.c" }))).toEqual({ kind: "json", text: '{\n  "to": "a@b.c"\n}' });
    expect(dataView(new Uint8Array([0, 1, 250]))).toEqual({ kind: "bytes", text: "AAH6", size: 3 });
    expect(dataView(undefined)).toEqual({ kind: "none" });
  });
});
