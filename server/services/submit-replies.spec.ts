import { equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { SubmitTaskResponseSchema, SubmitTasksResponseSchema } from "../../gen/taskqueue/v1/task_service_pb.js";
import type { TaskRow } from "../db/schema.js";
import { ENCODE_BINARY } from "../transport/fast-message.js";
import { SubmitTaskReply, SubmitTasksReply } from "./submit-replies.js";

function row(overrides: Partial<TaskRow> = {}): TaskRow {
  return {
    id: "01936f6e-0000-7000-8000-000000000001",
    queue: "emails",
    type: "send",
    payload: Buffer.from('{"to":"a@b.c"}'),
    payload_format: 1,
    priority: 0,
    state: "QUEUED",
    attempt: 0,
    max_attempts: 3,
    backoff_initial_ms: 1000,
    backoff_max_ms: 60_000,
    backoff_multiplier: 2,
    timeout_ms: null,
    idempotency_key: null,
    labels: {},
    created_at: new Date(1_732_000_000_123),
    updated_at: new Date(1_732_000_000_123),
    scheduled_at: null,
    started_at: null,
    finished_at: null,
    worker_id: null,
    result: null,
    result_format: null,
    last_error: null,
    progress: null,
    cancel_reason: null,
    start_deadline: null,
    attempt_budget: null,
    traceparent: null,
    tracestate: null,
    ...overrides,
  } as TaskRow;
}

describe("self-encoding submit replies", () => {
  it("writes results exactly as the reflective encoder does", () => {
    const reply = new SubmitTasksReply([
      { row: row(), existing: false },
      { error: { code: "INVALID_ARGUMENT", message: "tasks[1].queue: is required", field: "tasks[1].queue" } },
      {
        row: row({
          priority: -5,
          state: "DEAD",
          attempt: 3,
          idempotency_key: "order-42",
          labels: { tenant: "acme" },
          timeout_ms: 30_500,
          scheduled_at: new Date(1_732_000_001_000),
          started_at: new Date(1_732_000_002_007),
          finished_at: new Date(1_732_000_003_999),
          worker_id: "w-1",
          result: Buffer.from([1, 2, 3]),
          result_format: 2,
          last_error: { message: "boom", type: "Error", nonRetryable: true, attempt: 3 },
          progress: { percent: 42.5, message: "half" },
          cancel_reason: "",
          start_deadline: new Date(1_732_000_009_000),
          attempt_budget: 5,
          backoff_multiplier: 1.5,
          backoff_initial_ms: 0,
        }),
        existing: true,
      },
    ]);
    const fast = fromBinary(SubmitTasksResponseSchema, reply[ENCODE_BINARY]());
    const reflective = fromBinary(SubmitTasksResponseSchema, toBinary(SubmitTasksResponseSchema, reply));
    expect(equals(SubmitTasksResponseSchema, fast, reflective)).toBe(true);
    expect(fast.results.map((r) => r.outcome.case)).toEqual(["task", "error", "task"]);
    expect(fast.results[2]!.existing).toBe(true);
  });

  it("writes a single submit's task with its payload exactly as the reflective encoder does", () => {
    for (const reply of [
      new SubmitTaskReply(row({ payload: Buffer.from('{"to":"a@b.c","tags":["x",1,true,null]}') }), false),
      new SubmitTaskReply(row({ payload: Buffer.from([9, 8, 7]), payload_format: 2 }), true),
    ]) {
      const fast = fromBinary(SubmitTaskResponseSchema, reply[ENCODE_BINARY]());
      const reflective = fromBinary(SubmitTaskResponseSchema, toBinary(SubmitTaskResponseSchema, reply));
      expect(equals(SubmitTaskResponseSchema, fast, reflective)).toBe(true);
      expect(fast.task?.payloadData.case).toBeDefined();
      expect(fast.existing).toBe(reply.existing);
    }
  });

  it("writes the basic view (identity and state) exactly as the reflective encoder does", () => {
    const reply = new SubmitTasksReply([{ row: row({ labels: { a: "b" }, timeout_ms: 5_000 }), existing: false }], true);
    const fast = fromBinary(SubmitTasksResponseSchema, reply[ENCODE_BINARY]());
    const reflective = fromBinary(SubmitTasksResponseSchema, toBinary(SubmitTasksResponseSchema, reply));
    expect(equals(SubmitTasksResponseSchema, fast, reflective)).toBe(true);
    const task = fast.results[0]!.outcome.value as { id: string; labels: object; retryPolicy?: object; createdAt?: object };
    expect(task.id).toBe(row().id);
    expect(task.createdAt).toBeDefined();
    expect(task.labels).toEqual({});
    expect(task.retryPolicy).toBeUndefined();
  });
});
