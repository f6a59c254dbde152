import { equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ConnectResponseSchema, ResultStatus } from "../../gen/taskqueue/v1/worker_service_pb.js";
import type { LeasedRecord } from "../redis/queue-store.js";
import { ENCODE_BINARY } from "../transport/fast-message.js";
import { acksResponses, AcksResponse, AssignmentResponse, assignmentResponses, leasedTaskSizeBound } from "./worker-responses.js";

function leased(overrides: Partial<LeasedRecord> = {}): LeasedRecord {
  return {
    sessionId: "s1",
    queue: "emails",
    id: "01936f6e-0000-7000-8000-000000000001",
    leaseToken: "tok.1",
    attempt: 1,
    deadlineMs: 1_732_000_000_123,
    type: "send",
    payloadFormat: 1,
    payload: Buffer.from("null"),
    maxAttempts: 3,
    timeoutMs: 0,
    labels: {},
    createdMs: 1_732_000_000_001,
    ...overrides,
  };
}

/** Decodes the self-written bytes and the reflective encoding of the same object; both must agree. */
function expectSameAsReflective(response: AssignmentResponse | AcksResponse): void {
  const fast = fromBinary(ConnectResponseSchema, response[ENCODE_BINARY]());
  const reflective = fromBinary(ConnectResponseSchema, toBinary(ConnectResponseSchema, response));
  expect(equals(ConnectResponseSchema, fast, reflective)).toBe(true);
  expect(fast.message.case).toBe(response.message.case);
}

describe("self-encoding worker responses", () => {
  it("writes assignments exactly as the reflective encoder does", () => {
    const payloads = ["null", "0", "-1.5e300", '""', '"héllo ✓"', "true", "false", "[]", "{}", '{"to":"a@b.c","n":[1,2,{"x":null}],"deep":{"a":{"b":[true]}}}'];
    const tasks = payloads.map((text, i) => leased({ id: `id-${i}`, payload: Buffer.from(text) }));
    tasks.push(leased({ payloadFormat: 2, payload: Buffer.alloc(0) }));
    tasks.push(leased({ payloadFormat: 2, payload: Buffer.from([0, 1, 255]) }));
    tasks.push(leased({ timeoutMs: 1_500, labels: { tenant: "acme", "région": "é".repeat(50) }, attempt: 7 }));
    tasks.push(leased({ type: "t".repeat(300), payload: Buffer.from(JSON.stringify({ big: "x".repeat(20_000) })) }));
    expectSameAsReflective(new AssignmentResponse(tasks));
  });

  it("decodes a payload back to the stored JSON value", () => {
    const payload = { to: "a@b.c", n: [1, 2.5, null, "s"], ok: false };
    const decoded = fromBinary(ConnectResponseSchema, new AssignmentResponse([leased({ payload: Buffer.from(JSON.stringify(payload)) })])[ENCODE_BINARY]());
    if (decoded.message.case !== "assignment") throw new Error("not an assignment");
    const data = decoded.message.value.tasks[0]!.payloadData;
    expect(data.case).toBe("payload");
    expect(data.case === "payload" ? data.value.kind.case : undefined).toBe("structValue");
  });

  it("writes acks exactly as the reflective encoder does", () => {
    expectSameAsReflective(
      new AcksResponse([
        { taskId: "a", leaseToken: "t.1", status: ResultStatus.ACCEPTED },
        { taskId: "b", leaseToken: "t.2", status: ResultStatus.STALE, message: "lease is no longer current" },
        { taskId: "c".repeat(200), leaseToken: "", status: ResultStatus.REJECTED, message: "m".repeat(500) },
      ]),
    );
  });

  it("splits assignments at the split size, a larger task alone, each message as the reflective encoder writes it", () => {
    const sizes = [10, 300, 20, 30, 5_000, 40, 50, 60];
    const tasks = sizes.map((n, i) => leased({ id: `id-${i}`, payloadFormat: 2, payload: Buffer.alloc(n, i) }));
    const responses = assignmentResponses(tasks, 1_000);
    const carried = responses.map((r) => (r.message.case === "assignment" ? r.message.value.tasks.map((t) => t.taskId) : []));
    expect(carried.flat()).toEqual(tasks.map((t) => t.id));
    expect(carried.map((ids) => ids.length)).toEqual([4, 1, 3]);
    for (const response of responses) {
      const bytes = response[ENCODE_BINARY]();
      if (response.message.case === "assignment" && response.message.value.tasks.length > 1) expect(bytes.length).toBeLessThanOrEqual(1_000);
      expectSameAsReflective(response);
    }
  });

  it("keeps a small assignment in one message, encoded when it is sent", () => {
    const tasks = [leased({ id: "a" }), leased({ id: "b", payload: Buffer.from('{"n":[1,2,3]}') })];
    const [only, ...rest] = assignmentResponses(tasks);
    expect(rest).toEqual([]);
    expectSameAsReflective(only!);
  });

  it("bounds a task's size from above, JSON payloads at their largest growth", () => {
    const zeros = `[${Array(10_000).fill("0").join(",")}]`;
    for (const task of [leased({ payload: Buffer.from(zeros) }), leased({ labels: { ["k".repeat(64)]: "é".repeat(256) }, type: "t".repeat(128) })]) {
      const actual = new AssignmentResponse([task])[ENCODE_BINARY]().length;
      expect(leasedTaskSizeBound(task)).toBeGreaterThanOrEqual(actual);
    }
  });

  it("splits acks by size", () => {
    const acks = Array.from({ length: 10 }, (_, i) => ({ taskId: `t${i}`, leaseToken: "x".repeat(20), status: ResultStatus.ACCEPTED }));
    const responses = acksResponses(acks, 250);
    expect(responses.length).toBeGreaterThan(1);
    expect(responses.flatMap((r) => (r.message.case === "acks" ? r.message.value.acks.map((a) => a.taskId) : []))).toEqual(acks.map((a) => a.taskId));
    expect(acksResponses([])).toEqual([]);
  });

  it("reads like a protobuf-es message for other transports", () => {
    const response = new AcksResponse([{ taskId: "a", leaseToken: "t.1", status: ResultStatus.ACCEPTED }]);
    expect(response.message.case).toBe("acks");
    expect(response.message.case === "acks" ? response.message.value.acks[0]!.taskId : "").toBe("a");
  });
});
