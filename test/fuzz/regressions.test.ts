import { fromBinary, toJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import type { Task } from "../../gen/taskqueue/v1/task_pb.js";
import { SubmitTasksRequestSchema, SubmitTasksResultSchema } from "../../gen/taskqueue/v1/task_service_pb.js";
import { decodeBasicResults, decodeFullResults } from "../../clients/ts/wire/submit-results-decoder.js";
import { decodeSubmitTasksRequest } from "../../server/services/submit-request-decoder.js";
import { decodeConnectRequest } from "../../server/services/connect-request-decoder.js";
import { ConnectRequestSchema } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { decodeAcks } from "../../worker/wire/server-messages.js";
import { decodeAssignment } from "../../worker/wire/assignment.js";
import { ProtoDecodeError } from "../../wire/decode-error.js";
import { decodeJsonValue } from "../../wire/json-value.js";

/** Inputs the decoder fuzz tests (decoders.fuzz.test.ts) found, each kept as it was found. */
describe("decoder fuzz findings", () => {
  it("a tag of field number 0 is refused, as protobuf-es refuses it (it was skipped)", () => {
    expect(() => decodeAcks(Uint8Array.from([0, 0]))).toThrow(ProtoDecodeError);
    expect(() => decodeAssignment(Uint8Array.from([10, 6, 74, 0, 82, 0, 0, 0]))).toThrow(/field number 0/);
  });

  it("a varint longer than 10 bytes is refused (it was read)", () => {
    const bytes = Uint8Array.from([16, 128, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1]);
    expect(() => fromBinary(SubmitTasksRequestSchema, bytes)).toThrow(/invalid varint/);
    // The server's decoder hands such bytes to protobuf-es, which refuses them too.
    expect(() => decodeSubmitTasksRequest(bytes)).toThrow(/invalid varint/);
  });

  it("a Timestamp's seconds beyond 2^53 keep every digit in the client's basic view (they were rounded)", () => {
    const bytes = Uint8Array.from([10, 11, 82, 9, 8, 139, 235, 171, 240, 149, 168, 224, 17]);
    const [item] = decodeBasicResults([bytes]);
    const reference = fromBinary(SubmitTasksResultSchema, bytes).outcome.value as Task;
    expect(item!.task!.createdAt!.seconds).toBe(reference.createdAt!.seconds);
    expect(item!.task!.createdAt!.seconds).toBeGreaterThan(2n ** 53n);
  });

  it("a task that protobuf-es cannot read alone fails with a ProtoDecodeError, not protobuf-es' RangeError", () => {
    const bytes = Uint8Array.from([10, 29, 82, 0, 90, 0, 98, 2, 16, 1, 130, 1, 0, 154, 1, 0, 162, 1, 1, 32, 170, 0, 1, 0, 194, 1, 5, 8, 128, 128, 128, 1]);
    expect(() => decodeFullResults([bytes])).toThrow(ProtoDecodeError);
  });

  it("a proto2 group is refused (its end tag was matched to any field)", () => {
    // Field 15 (unknown to ResultAcks) as a group: start and end tags.
    expect(() => decodeAcks(Uint8Array.from([123, 124]))).toThrow(/groups are not supported/);
  });

  it("a field of the message sent with another wire type is refused, not skipped", () => {
    expect(() => decodeJsonValue(Uint8Array.from([9, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/field 1 arrived with wire type 1/);
  });

  it("a struct_value that occurs twice is merged, as protobuf merges message fields (the second replaced the first)", () => {
    const bytes = Uint8Array.from([42, 17, 10, 7, 10, 1, 48, 18, 2, 32, 0, 10, 6, 10, 0, 18, 2, 42, 0, 42, 0]);
    expect(decodeJsonValue(bytes)).toEqual({ "0": false, "": {} });
    expect(decodeJsonValue(bytes)).toEqual(toJson(ValueSchema, fromBinary(ValueSchema, bytes)));
  });

  it("a hello's capacity sent with the wrong wire type reads as protobuf-es reads it (the whole-varint pass mixed readings)", () => {
    const bytes = Uint8Array.from([10, 53, 10, 5, 32, 32, 32, 32, 32, 18, 8, 240, 144, 128, 128, 240, 144, 128, 128, 18, 1, 113, 18, 6, 32, 32, 32, 32, 32, 32, 26, 1, 32, 26, 8, 240, 144, 128, 128, 240, 144, 128, 128, 32, 1, 34, 8, 10, 0, 18, 4, 32, 32, 32, 32]);
    expect(decodeConnectRequest(bytes)).toEqual(fromBinary(ConnectRequestSchema, bytes));
  });
});
