import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { SubmitTaskRequestSchema } from "../gen/taskqueue/v1/task_service_pb.js";
import { ProtoReader } from "./proto-reader.js";
import { ProtoWriter } from "./proto-writer.js";
import { readStringMapEntry, writeStringMap } from "./string-map.js";

const LABELS = SubmitTaskRequestSchema.field.labels.number;

describe("string maps", () => {
  it("write what protobuf-es writes and read it back, a __proto__ key as an own property", () => {
    const labels: Record<string, string> = { region: "eu", "": "blank", empty: "", "ü": "€" };
    Object.defineProperty(labels, "__proto__", { value: "p", enumerable: true, writable: true, configurable: true });
    const ours = new ProtoWriter(1);
    writeStringMap(ours, LABELS, labels);
    const bytes = ours.finish();
    expect(Buffer.from(bytes).toString("hex")).toBe(Buffer.from(toBinary(SubmitTaskRequestSchema, create(SubmitTaskRequestSchema, { labels }))).toString("hex"));
    const reader = new ProtoReader(bytes);
    const read: Record<string, string> = {};
    while (reader.more) {
      expect(reader.tag() >>> 3).toBe(LABELS);
      readStringMapEntry(reader, reader.delimitedEnd(), read);
    }
    expect(read).toEqual(labels);
    expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
    const compact = new ProtoWriter(1);
    writeStringMap(compact, LABELS, { "": "v", k: "" }, true);
    expect(Buffer.from(compact.finish()).toString("hex")).toBe("4203120176" + "4203" + "0a016b");
  });
});
