import { create, equals, fromJson, toBinary, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ConnectRequestSchema } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { decodeConnectRequest } from "./connect-request-decoder.js";
import { encodeData } from "./payload-codec.js";

type RequestInit = MessageInitShape<typeof ConnectRequestSchema>;

const results = create(ConnectRequestSchema, {
  message: {
    case: "results",
    value: {
      results: [
        { taskId: "t1", leaseToken: "l1", outcome: { case: "success", value: { resultData: { case: "result", value: fromJson(ValueSchema, null) } } } },
        {
          taskId: "t2",
          leaseToken: "l2",
          outcome: { case: "success", value: { resultData: { case: "result", value: fromJson(ValueSchema, { ok: [1, 2.5, "é✓", true, null] }) } } },
        },
        { taskId: "t3", leaseToken: "l3", outcome: { case: "success", value: { resultData: { case: "resultBytes", value: new Uint8Array([0, 255]) } } } },
        { taskId: "t4", leaseToken: "l4", outcome: { case: "success", value: {} } },
        { taskId: "", leaseToken: "", outcome: { case: undefined } },
      ],
    },
  },
});

const roundTrip = (init: RequestInit) => {
  const message = create(ConnectRequestSchema, init);
  return { message, decoded: decodeConnectRequest(toBinary(ConnectRequestSchema, message)) };
};

describe("decodeConnectRequest", () => {
  it("decodes results exactly as the reflective decoder does", () => {
    const decoded = decodeConnectRequest(toBinary(ConnectRequestSchema, results));
    expect(equals(ConnectRequestSchema, decoded, results)).toBe(true);
  });

  it("hands the JSON text of results to storage, equal to the reflective conversion", () => {
    const decoded = decodeConnectRequest(toBinary(ConnectRequestSchema, results));
    if (decoded.message.case !== "results" || results.message.case !== "results") throw new Error("not results");
    const originals = results.message.value.results;
    decoded.message.value.results.forEach((r, i) => {
      const original = originals[i]!;
      if (r.outcome.case !== "success" || original.outcome.case !== "success") return;
      const mine = encodeData(r.outcome.value.resultData, "result").bytes;
      expect(mine).toEqual(encodeData(original.outcome.value.resultData, "result").bytes);
      if (original.outcome.value.resultData.case === "result") {
        expect(mine.toString()).toBe(toJsonString(ValueSchema, original.outcome.value.resultData.value));
      }
    });
  });

  it.each<[string, RequestInit]>([
    ["credit", { message: { case: "credit", value: { credits: 250 } } }],
    ["hello", { message: { case: "hello", value: { workerId: "w", queues: ["a", "b"], capacity: 4, labels: { k: "v" } } } }],
    ["heartbeat", { message: { case: "heartbeat", value: { taskIds: ["t1"] } } }],
    ["progress", { message: { case: "progress", value: { taskId: "t", leaseToken: "l", percent: 42.5, message: "half" } } }],
    ["draining", { message: { case: "draining", value: { reason: "deploy" } } }],
    ["a failure", { message: { case: "results", value: { results: [{ taskId: "t", leaseToken: "l", outcome: { case: "failure", value: { message: "boom", type: "E", nonRetryable: true } } }] } } }],
    ["an empty frame", {}],
  ])("decodes %s as the reflective decoder does", (_, init) => {
    const { message, decoded } = roundTrip(init);
    expect(equals(ConnectRequestSchema, decoded, message)).toBe(true);
  });

  it("lets the last member of a frame win, as protobuf does", () => {
    const writer = new BinaryWriter();
    writer.raw(toBinary(ConnectRequestSchema, create(ConnectRequestSchema, { message: { case: "credit", value: { credits: 1 } } })));
    writer.raw(toBinary(ConnectRequestSchema, results));
    const decoded = decodeConnectRequest(writer.finish());
    expect(decoded.message.case).toBe("results");
  });

  it("skips unknown fields inside a result", () => {
    const writer = new BinaryWriter();
    writer.tag(4, 2).fork().tag(1, 2).fork().tag(1, 2).string("t9").tag(2, 2).string("l9").tag(99, 0).int32(7).join().join();
    const decoded = decodeConnectRequest(writer.finish());
    expect(decoded.message.case).toBe("results");
    if (decoded.message.case === "results") expect(decoded.message.value.results[0]).toMatchObject({ taskId: "t9", leaseToken: "l9" });
  });

  it("keeps the whole varint of credits and capacity, so values past 32 bits are not read as small ones", () => {
    const wide = 2n ** 32n + 1n;
    const credit = new BinaryWriter().tag(2, 2).fork().tag(1, 0).uint64(wide).join().finish();
    expect(decodeConnectRequest(credit).message).toMatchObject({ case: "credit", value: { credits: 4_294_967_297 } });
    // With an unknown field the frame goes to protobuf-es: the credits are read again whole.
    const unusual = new BinaryWriter().tag(2, 2).fork().tag(1, 0).uint64(wide).tag(9, 0).int32(1).join().finish();
    expect(decodeConnectRequest(unusual).message).toMatchObject({ case: "credit", value: { credits: 4_294_967_297 } });
    const hello = new BinaryWriter().tag(1, 2).fork().tag(1, 2).string("w").tag(2, 2).string("q").tag(4, 0).uint64(wide).join().finish();
    expect(decodeConnectRequest(hello).message).toMatchObject({ case: "hello", value: { workerId: "w", queues: ["q"], capacity: 4_294_967_297 } });
    const negative = new BinaryWriter().tag(2, 2).fork().tag(1, 0).int32(-3).join().finish();
    expect(decodeConnectRequest(negative).message).toMatchObject({ case: "credit", value: { credits: -3 } });
    const twoHellos = new BinaryWriter().tag(1, 2).fork().tag(4, 0).int32(5).join().tag(1, 2).fork().tag(4, 0).uint64(wide).join().finish();
    expect(decodeConnectRequest(twoHellos).message).toMatchObject({ case: "hello", value: { capacity: 4_294_967_297 } });
  });

  it("leaves a result holding no value to the reflective decoder, so the stream can name it", () => {
    const { decoded } = roundTrip({
      message: { case: "results", value: { results: [{ taskId: "t", leaseToken: "l", outcome: { case: "success", value: { resultData: { case: "result", value: create(ValueSchema) } } } }] } },
    });
    if (decoded.message.case !== "results") throw new Error("not results");
    const outcome = decoded.message.value.results[0]!.outcome;
    if (outcome.case !== "success") throw new Error("not a success");
    expect(() => encodeData(outcome.value.resultData, "result", "results[0].success.result")).toThrow(/results\[0\]\.success\.result/);
  });
});
