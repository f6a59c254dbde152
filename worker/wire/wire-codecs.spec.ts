import { create, fromBinary, fromJson, toBinary, toJson, type JsonValue } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import {
  ConnectRequestSchema,
  ConnectResponseSchema,
  LeasedTaskSchema,
  ResultAcksSchema,
  ResultStatus,
  TaskAssignmentSchema,
  TaskResultsSchema,
} from "../../gen/taskqueue/v1/worker_service_pb.js";
import { decodeJsonValue } from "../../wire/json-value.js";
import { creditRequest, heartbeatRequest, resultsRequest } from "../requests.js";
import { decodeAssignment, PayloadKind } from "./assignment.js";
import { frameService } from "./frame-service.js";
import { decodeAcks, decodeServerMessage } from "./server-messages.js";
import { encodeTaskResultBatches, encodeTaskResults, type OutgoingResult } from "./task-results.js";

describe("assignments", () => {
  it("decode every field of the tasks protobuf-es encodes", () => {
    const assignment = create(TaskAssignmentSchema, {
      tasks: [
        create(LeasedTaskSchema, {
          taskId: "0192b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b",
          queue: "emails",
          type: "send",
          payloadData: { case: "payload", value: fromJson(ValueSchema, { to: "a@b.c", n: [1, 2] }) },
          attempt: 2,
          maxAttempts: 5,
          leaseToken: "lease-ü",
          leaseDeadline: timestampFromMs(1_700_000_030_000),
          timeout: durationFromMs(1_500),
          labels: { region: "eu", "": "blank" },
          createdAt: { $typeName: "google.protobuf.Timestamp", seconds: 1_700_000_000n, nanos: 123_456_789 },
        }),
        create(LeasedTaskSchema, {
          taskId: "t2",
          payloadData: { case: "payloadBytes", value: new Uint8Array([1, 2, 3]) },
          createdAt: timestampFromMs(-1_500),
        }),
        create(LeasedTaskSchema, { taskId: "t3" }),
      ],
    });
    const [first, second, third] = decodeAssignment(toBinary(TaskAssignmentSchema, assignment));
    expect(first).toMatchObject({
      taskId: "0192b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b",
      queue: "emails",
      type: "send",
      payloadKind: PayloadKind.json,
      attempt: 2,
      maxAttempts: 5,
      leaseToken: "lease-ü",
      timeoutMs: 1_500,
      labels: { region: "eu", "": "blank" },
      createdAtMs: 1_700_000_000_123.457,
    });
    expect(decodeJsonValue(first.payload as Uint8Array)).toEqual({ to: "a@b.c", n: [1, 2] });
    expect(second.payloadKind).toBe(PayloadKind.bytes);
    expect(second.payload).toEqual(new Uint8Array([1, 2, 3]));
    expect(Buffer.isBuffer(second.payload)).toBe(false);
    expect(second.createdAtMs).toBe(-1_500);
    expect(third).toMatchObject({ payloadKind: PayloadKind.none, timeoutMs: 0, labels: {}, createdAtMs: undefined });
  });

  it("throw on truncated input", () => {
    const bytes = toBinary(TaskAssignmentSchema, create(TaskAssignmentSchema, { tasks: [{ taskId: "abc", queue: "q" }] }));
    expect(() => decodeAssignment(bytes.subarray(0, bytes.length - 1))).toThrow();
  });
});

describe("acks and frames", () => {
  it("decode acks, including statuses the SDK does not know", () => {
    const acks = create(ResultAcksSchema, {
      acks: [
        { taskId: "a", leaseToken: "la", status: ResultStatus.ACCEPTED },
        { taskId: "b", leaseToken: "lb", status: ResultStatus.REJECTED, message: "too big" },
        { taskId: "c", leaseToken: "lc", status: 9 as ResultStatus },
      ],
    });
    expect(decodeAcks(toBinary(ResultAcksSchema, acks))).toEqual([
      { taskId: "a", leaseToken: "la", status: ResultStatus.ACCEPTED, message: "" },
      { taskId: "b", leaseToken: "lb", status: ResultStatus.REJECTED, message: "too big" },
      { taskId: "c", leaseToken: "lc", status: 9, message: "" },
    ]);
  });

  it("read a ConnectResponse as a frame and a frame as a ConnectRequest", () => {
    const response = create(ConnectResponseSchema, {
      message: { case: "cancel", value: { taskId: "t", leaseToken: "l", reason: "user" } },
    });
    const frame = fromBinary(frameService.method.connect.output, toBinary(ConnectResponseSchema, response));
    expect(decodeServerMessage(frame)).toMatchObject({ case: "cancel", value: { taskId: "t", reason: "user" } });
    const toRequest = (frameMessage: ReturnType<typeof creditRequest>) =>
      fromBinary(ConnectRequestSchema, toBinary(frameService.method.connect.input, frameMessage)).message;
    expect(toRequest(creditRequest(200))).toMatchObject({ case: "credit", value: { credits: 200 } });
    expect(toRequest(heartbeatRequest(["a", "b"]))).toMatchObject({ case: "heartbeat", value: { taskIds: ["a", "b"] } });
    expect(toRequest(resultsRequest([]))).toMatchObject({ case: "results", value: { results: [] } });
  });
});

describe("results", () => {
  it("encode what protobuf-es decodes", () => {
    const results: OutgoingResult[] = [
      { taskId: "t1", leaseToken: "l1", kind: "success", value: null },
      { taskId: "t2", leaseToken: "l2", kind: "success", value: { deep: ["x".repeat(200)] } },
      { taskId: "t3", leaseToken: "l3", kind: "success", value: new Uint8Array() },
      { taskId: "t4", leaseToken: "l4", kind: "failure", value: { message: "boom ✗", type: "TypeError", nonRetryable: true } },
      { taskId: "t5", leaseToken: "l5", kind: "failure", value: { message: "", type: "", nonRetryable: false } },
    ];
    const decoded = fromBinary(TaskResultsSchema, encodeTaskResults(results)).results;
    expect(decoded.map((r) => [r.taskId, r.leaseToken])).toEqual(results.map((r) => [r.taskId, r.leaseToken]));
    const [first, second, third, fourth, fifth] = decoded.map((r) => r.outcome);
    expect(first.case === "success" && first.value.resultData.case === "result" && toJson(ValueSchema, first.value.resultData.value)).toBeNull();
    expect(second.case === "success" && second.value.resultData.case === "result" && toJson(ValueSchema, second.value.resultData.value)).toEqual({
      deep: ["x".repeat(200)],
    });
    expect(third).toMatchObject({ case: "success", value: { resultData: { case: "resultBytes" } } });
    expect(fourth).toMatchObject({ case: "failure", value: { message: "boom ✗", type: "TypeError", nonRetryable: true } });
    expect(fifth).toMatchObject({ case: "failure", value: { message: "", type: "", nonRetryable: false } });
  });
});

describe("result batches", () => {
  const bytesResult = (id: string, size: number): OutgoingResult => ({ taskId: id, leaseToken: `l-${id}`, kind: "success", value: new Uint8Array(size) });
  const idsOf = (batch: Uint8Array) => fromBinary(TaskResultsSchema, batch).results.map((r) => r.taskId);

  it("keep results that fit in one message together", () => {
    const results = [bytesResult("a", 10), bytesResult("b", 20)];
    const { batches, tooLarge } = encodeTaskResultBatches(results, 1_000);
    expect(batches).toEqual([encodeTaskResults(results)]);
    expect(tooLarge).toEqual([]);
    expect(encodeTaskResultBatches([], 1_000)).toEqual({ batches: [], tooLarge: [] });
  });

  it("split by size in order, leaving out a result too large for any message", () => {
    const results = [bytesResult("a", 400), bytesResult("b", 400), bytesResult("c", 2_000), bytesResult("d", 100), bytesResult("e", 900)];
    const { batches, tooLarge } = encodeTaskResultBatches(results, 1_000);
    expect(batches.map(idsOf)).toEqual([["a", "b"], ["d"], ["e"]]);
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(1_000 - 6);
    expect(tooLarge.map((r) => r.taskId)).toEqual(["c"]);
  });

  it("cut failure texts to what the server keeps", () => {
    const long: OutgoingResult = { taskId: "t", leaseToken: "l", kind: "failure", value: { message: "m".repeat(10_000), type: "T".repeat(500), nonRetryable: false } };
    const [decoded] = fromBinary(TaskResultsSchema, encodeTaskResults([long])).results;
    expect(decoded!.outcome).toMatchObject({ case: "failure", value: { message: "m".repeat(4096), type: "T".repeat(128) } });
  });
});

describe("assignment timestamps", () => {
  it("read created_at past 2^32 seconds", () => {
    const big = toBinary(LeasedTaskSchema, create(LeasedTaskSchema, { createdAt: timestampFromMs(8_000_000_000_000_000) }));
    expect(decodeAssignment(toBinary(TaskAssignmentSchema, { $typeName: "taskqueue.v1.TaskAssignment", tasks: [fromBinary(LeasedTaskSchema, big)] }))[0].createdAtMs).toBe(
      8_000_000_000_000_000,
    );
  });
});
