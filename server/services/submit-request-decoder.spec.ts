import { create, equals, fromBinary, fromJson, toBinary, toJsonString } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { SubmitTasksRequestSchema, TaskView } from "../../gen/taskqueue/v1/task_service_pb.js";
import { encodeData } from "./payload-codec.js";
import { decodeSubmitTasksRequest } from "./submit-request-decoder.js";

const request = create(SubmitTasksRequestSchema, {
  view: TaskView.BASIC,
  tasks: [
    { queue: "emails", type: "send" },
    { queue: "emails", type: "send", payloadData: { case: "payload", value: fromJson(ValueSchema, { to: "a@b.c", n: [1, 2.5, null, true], deep: { x: "é✓" } }) } },
    { queue: "emails", type: "other", payloadData: { case: "payload", value: fromJson(ValueSchema, null) } },
    { queue: "q2", type: "send", payloadData: { case: "payload", value: fromJson(ValueSchema, "") } },
    { queue: "q2", type: "send", payloadData: { case: "payloadBytes", value: new Uint8Array([0, 1, 2]) } },
    { queue: "q2", type: "send", payloadData: { case: "payloadBytes", value: new Uint8Array(0) } },
    { queue: "q2", type: "zero", priority: 0 },
    {
      queue: "q3",
      type: "full",
      priority: 7,
      idempotencyKey: "order-42",
      labels: { tenant: "acme", empty: "" },
      retryPolicy: { maxAttempts: 5, initialBackoff: { seconds: 1n }, backoffMultiplier: 1.5 },
      runAt: { seconds: 1_900_000_000n, nanos: 5 },
      timeout: { seconds: 30n },
      startTimeout: { nanos: 1_000_000 },
    },
  ],
});

describe("decodeSubmitTasksRequest", () => {
  it("decodes exactly what the reflective decoder does", () => {
    const decoded = decodeSubmitTasksRequest(toBinary(SubmitTasksRequestSchema, request));
    expect(equals(SubmitTasksRequestSchema, decoded, request)).toBe(true);
  });

  it("hands the JSON text of payloads to storage, equal to the reflective conversion", () => {
    const decoded = decodeSubmitTasksRequest(toBinary(SubmitTasksRequestSchema, request));
    decoded.tasks.forEach((task, i) => {
      const original = request.tasks[i]!;
      expect(encodeData(task.payloadData, "payload").bytes).toEqual(encodeData(original.payloadData, "payload").bytes);
      if (original.payloadData.case === "payload") {
        expect(encodeData(task.payloadData, "payload").bytes.toString()).toBe(toJsonString(ValueSchema, original.payloadData.value));
      }
    });
  });

  it("skips unknown fields", () => {
    const writer = new BinaryWriter();
    writer.raw(toBinary(SubmitTasksRequestSchema, request));
    writer.tag(99, 2).string("from a newer client");
    const decoded = decodeSubmitTasksRequest(writer.finish());
    expect(decoded.tasks).toHaveLength(request.tasks.length);
  });

  it("leaves a payload holding no value to the reflective decoder, so validation can name it", () => {
    const empty = create(SubmitTasksRequestSchema, {
      tasks: [{ queue: "q", type: "t", payloadData: { case: "payload", value: create(ValueSchema) } }],
    });
    const decoded = decodeSubmitTasksRequest(toBinary(SubmitTasksRequestSchema, empty));
    expect(() => encodeData(decoded.tasks[0]!.payloadData, "payload", "tasks[0].payload")).toThrow(/tasks\[0\]\.payload/);
  });

  it("merges a message field sent twice in a task, as protobuf does (found by the decoder fuzz test)", () => {
    // One task whose start_timeout comes as {seconds: 2^28}, then again as {nanos: 1}; its
    // payload as two Values, and run_at, timeout and retry_policy each split in two.
    const writer = new BinaryWriter();
    writer.tag(1, 2).fork();
    writer.tag(1, 2).string("q").tag(2, 2).string("t");
    writer.tag(11, 2).fork().tag(1, 0).int64(268_435_456).join();
    writer.tag(11, 2).fork().tag(2, 0).int32(1).join();
    writer.tag(9, 2).fork().tag(1, 0).int64(1_900_000_000).join();
    writer.tag(9, 2).fork().tag(2, 0).int32(5).join();
    writer.tag(10, 2).fork().tag(1, 0).int64(30).join();
    writer.tag(10, 2).fork().tag(2, 0).int32(7).join();
    writer.tag(6, 2).fork().tag(1, 0).int32(4).join();
    writer.tag(6, 2).fork().tag(4, 1).double(1.5).join();
    writer.tag(3, 2).bytes(toBinary(ValueSchema, fromJson(ValueSchema, { a: 1 })));
    writer.tag(3, 2).bytes(toBinary(ValueSchema, fromJson(ValueSchema, { b: 2 })));
    writer.join();
    const bytes = writer.finish();
    const decoded = decodeSubmitTasksRequest(bytes);
    const reference = fromBinary(SubmitTasksRequestSchema, bytes);
    expect(equals(SubmitTasksRequestSchema, decoded, reference)).toBe(true);
    expect(decoded.tasks[0]!.startTimeout).toMatchObject({ seconds: 268_435_456n, nanos: 1 });
    expect(decoded.tasks[0]!.runAt).toMatchObject({ seconds: 1_900_000_000n, nanos: 5 });
    expect(decoded.tasks[0]!.timeout).toMatchObject({ seconds: 30n, nanos: 7 });
    expect(decoded.tasks[0]!.retryPolicy).toMatchObject({ maxAttempts: 4, backoffMultiplier: 1.5 });
    expect(JSON.parse(encodeData(decoded.tasks[0]!.payloadData, "payload").bytes.toString())).toEqual({ a: 1, b: 2 });
  });

  it("fails on truncated input", () => {
    const bytes = toBinary(SubmitTasksRequestSchema, request);
    expect(() => decodeSubmitTasksRequest(bytes.subarray(0, bytes.length - 3))).toThrow();
  });

  it("keeps a __proto__ label as an ordinary label", () => {
    const writer = new BinaryWriter();
    writer.tag(1, 2).fork().tag(1, 2).string("q").tag(2, 2).string("t");
    writer.tag(8, 2).fork().tag(1, 2).string("__proto__").tag(2, 2).string("polluted").join();
    writer.join();
    const labels = decodeSubmitTasksRequest(writer.finish()).tasks[0]!.labels;
    expect(Object.prototype.hasOwnProperty.call(labels, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
    expect(Object.entries(labels)).toEqual([["__proto__", "polluted"]]);
  });
});
