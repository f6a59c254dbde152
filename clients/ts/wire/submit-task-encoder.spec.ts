import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { durationFromMs, timestampFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { fromJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { SubmitTaskRequestSchema, SubmitTasksRequestSchema, TaskView } from "../../../gen/taskqueue/v1/task_service_pb.js";
import { ProtoWriter } from "../../../wire/proto-writer.js";
import { checkTaskSpec } from "../spec-checks.js";
import { submitTaskRequestOf } from "../submit-request-message.js";
import type { TaskSpec } from "../task-spec.js";
import { batchService } from "./batch-service.js";
import { randomTaskSpec, seededRandom } from "./random-task-specs.js";
import { encodeSubmitTasks } from "./submit-task-encoder.js";

function protobufEs(spec: TaskSpec): Uint8Array {
  return toBinary(SubmitTaskRequestSchema, submitTaskRequestOf(spec));
}

const everyField: TaskSpec = {
  queue: "emails",
  type: "send/one",
  payload: { to: "a@b.c", n: [1, -2.5, null, true, { deep: "ü" }], long: "x".repeat(300) },
  priority: 42,
  retryPolicy: { maxAttempts: 5, initialBackoffMs: 250, maxBackoffMs: 60_000, backoffMultiplier: 1.5 },
  idempotencyKey: "order-42",
  labels: { tenant: "acme", "": "empty key", "ü": "" },
  runAt: new Date(1_700_000_000_123),
  timeoutMs: 1_500,
  startTimeoutMs: 30_000,
  concurrencyKey: "customer-7",
};

describe("SubmitTaskRequest encoder", () => {
  it("writes what protobuf-es writes for a task with every field", () => {
    const [encoded] = encodeSubmitTasks([everyField]);
    expect(Buffer.from(encoded).toString("hex")).toBe(Buffer.from(protobufEs(everyField)).toString("hex"));
  });

  it("writes fields that protobuf-es reads back as the values given", () => {
    const [encoded] = encodeSubmitTasks([everyField]);
    const expected = create(SubmitTaskRequestSchema, {
      queue: "emails",
      type: "send/one",
      payloadData: { case: "payload", value: fromJson(ValueSchema, everyField.payload!) },
      priority: 42,
      retryPolicy: { maxAttempts: 5, initialBackoff: durationFromMs(250), maxBackoff: durationFromMs(60_000), backoffMultiplier: 1.5 },
      idempotencyKey: "order-42",
      labels: { tenant: "acme", "": "empty key", "ü": "" },
      runAt: timestampFromMs(1_700_000_000_123),
      timeout: { seconds: 1n, nanos: 500_000_000 },
      startTimeout: { seconds: 30n },
      concurrencyKey: "customer-7",
    });
    expect(fromBinary(SubmitTaskRequestSchema, encoded)).toEqual(expected);
  });

  it("writes what protobuf-es writes for thousands of random field combinations", () => {
    const random = seededRandom(20261123);
    for (let i = 0; i < 3000; i++) {
      const spec = randomTaskSpec(random);
      checkTaskSpec(spec);
      const [encoded] = encodeSubmitTasks([spec]);
      const reference = protobufEs(spec);
      if (Buffer.compare(Buffer.from(encoded), Buffer.from(reference)) !== 0) {
        expect({ spec, encoded: Buffer.from(encoded).toString("hex") }).toEqual({ spec, encoded: Buffer.from(reference).toString("hex") });
      }
    }
  });

  it("writes a whole batch through the bytes descriptor as protobuf-es writes the request", () => {
    const random = seededRandom(7);
    const specs = Array.from({ length: 500 }, () => randomTaskSpec(random));
    for (const view of [TaskView.BASIC, TaskView.FULL, TaskView.UNSPECIFIED]) {
      const viaBytes = toBinary(batchService.method.submitTasks.input, {
        $typeName: "taskqueue.v1.SubmitTasksRequest",
        tasks: encodeSubmitTasks(specs),
        view,
      });
      const viaMessages = toBinary(SubmitTasksRequestSchema, create(SubmitTasksRequestSchema, { tasks: specs.map(submitTaskRequestOf), view }));
      expect(Buffer.compare(Buffer.from(viaBytes), Buffer.from(viaMessages))).toBe(0);
    }
    expect(encodeSubmitTasks([])).toEqual([]);
  });
});

describe("task spec checks", () => {
  function refusal(spec: unknown, index?: number): string {
    try {
      checkTaskSpec(spec as TaskSpec, index);
    } catch (error) {
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.InvalidArgument);
      return (error as ConnectError).rawMessage;
    }
    return "accepted";
  }

  it("accept what the server can judge, including values it will refuse", () => {
    expect(refusal({ queue: "", type: "" })).toBe("accepted");
    expect(refusal({ ...everyField, priority: 1000, timeoutMs: -5 })).toBe("accepted");
    expect(refusal({ queue: "q", type: "t", payload: Object.assign(Object.create(null), { a: 1 }) })).toBe("accepted");
  });

  it("refuse values of the wrong type, naming the field", () => {
    expect(refusal(null)).toBe("task: must be an object");
    expect(refusal({ queue: 1, type: "t" }, 3)).toBe("tasks[3].queue: must be a string");
    expect(refusal({ queue: "q" })).toBe("type: must be a string");
    expect(refusal({ queue: "q", type: "t", payload: 1, payloadBytes: new Uint8Array() })).toMatch(/^payload: give payload or payloadBytes/);
    expect(refusal({ queue: "q", type: "t", payloadBytes: "text" })).toBe("payloadBytes: must be a Uint8Array");
    expect(refusal({ queue: "q", type: "t", priority: 1.5 })).toBe("priority: must be a 32-bit integer");
    expect(refusal({ queue: "q", type: "t", priority: 2 ** 31 })).toBe("priority: must be a 32-bit integer");
    expect(refusal({ queue: "q", type: "t", retryPolicy: { maxBackoffMs: Number.NaN } }, 0)).toBe("tasks[0].retryPolicy.maxBackoffMs: must be a finite number");
    expect(refusal({ queue: "q", type: "t", labels: { a: 1 } })).toBe("labels.a: must be a string");
    expect(refusal({ queue: "q", type: "t", runAt: new Date(Number.NaN) })).toMatch(/^runAt: must be a valid Date/);
    expect(refusal({ queue: "q", type: "t", timeoutMs: "5s" })).toBe("timeoutMs: must be a finite number");
  });

  it("refuse payloads that are not JSON values, naming the path", () => {
    expect(refusal({ queue: "q", type: "t", payload: { a: [1, undefined] } })).toBe("payload.a[1]: a undefined is not a JSON value");
    expect(refusal({ queue: "q", type: "t", payload: { at: new Date(0) } })).toMatch(/^payload\.at: a Date is not a JSON value/);
    expect(refusal({ queue: "q", type: "t", payload: { n: Number.POSITIVE_INFINITY } })).toBe("payload.n: Infinity is not a JSON number");
    expect(refusal({ queue: "q", type: "t", payload: 10n })).toBe("payload: a bigint is not a JSON value");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(refusal({ queue: "q", type: "t", payload: cyclic })).toMatch(/nested deeper than 100 levels \(or cyclic\)$/);
  });
});
