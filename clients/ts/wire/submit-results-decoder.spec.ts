import { create, fromBinary, fromJson, toBinary } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { TaskSchema, TaskState, type Task } from "../../../gen/taskqueue/v1/task_pb.js";
import { SubmitTasksResponseSchema, type SubmitTasksResult } from "../../../gen/taskqueue/v1/task_service_pb.js";
import { SubmitItemError } from "../errors.js";
import type { SubmitTasksItem, TaskSummary } from "../submit-results.js";
import { batchService } from "./batch-service.js";
import { randomJson, seededRandom } from "./random-task-specs.js";
import { decodeBasicResults, decodeFullResults } from "./submit-results-decoder.js";

const STATES = [TaskState.SCHEDULED, TaskState.QUEUED, TaskState.RUNNING, TaskState.DEAD, TaskState.UNSPECIFIED, 42 as TaskState];
const TIMES = [0, 1, -1_500, 1_700_000_000_123, 8_000_000_000_000];

/** A task with a random subset of every field of `Task` set. */
function randomTask(random: () => number, index: number): Task {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const maybe = () => random() < 0.5;
  const time = () => (maybe() ? timestampFromMs(pick(TIMES)) : undefined);
  return create(TaskSchema, {
    id: `0192b3c4-5d6e-7f80-9a1b-${String(index).padStart(12, "0")}`,
    queue: pick(["emails", "emails", "ü-queue", "", "q".repeat(128)]),
    type: pick(["send", "send", "resize/one", ""]),
    payloadData: maybe()
      ? { case: "payload", value: fromJson(ValueSchema, randomJson(random, 2)) }
      : maybe()
        ? { case: "payloadBytes", value: new Uint8Array([1, 2, 3]) }
        : { case: undefined },
    priority: pick([0, 5, -1]),
    state: pick(STATES),
    attempt: pick([0, 1, 7]),
    maxAttempts: pick([0, 3]),
    createdAt: time(),
    scheduledAt: time(),
    startedAt: time(),
    finishedAt: time(),
    resultData: maybe() ? { case: "result", value: fromJson(ValueSchema, randomJson(random, 2)) } : { case: undefined },
    lastError: maybe() ? { message: "boom ✗", type: "TypeError", nonRetryable: maybe(), attempt: 2 } : undefined,
    idempotencyKey: pick(["", "order-42"]),
    labels: maybe() ? { tenant: "acme", "": "" } : {},
    timeout: maybe() ? durationFromMs(pick([1_500, 0, -250])) : undefined,
    workerId: pick(["", "vm/1/abc"]),
    progress: maybe() ? { percent: 12.5, message: "half" } : undefined,
    retryPolicy: maybe() ? { maxAttempts: 3, initialBackoff: durationFromMs(100), backoffMultiplier: 2 } : undefined,
    cancelReason: pick(["", "changed my mind"]),
    startDeadline: time(),
  });
}

function randomResults(seed: number, count: number): SubmitTasksResult[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const roll = random();
    if (roll < 0.2) {
      return create(SubmitTasksResponseSchema.field.results.message!, {
        outcome: { case: "error", value: { code: i % 2 ? "INVALID_ARGUMENT" : "RESOURCE_EXHAUSTED", message: `tasks[${i}].queue: bad ü`, field: `tasks[${i}].queue` } },
      }) as SubmitTasksResult;
    }
    return create(SubmitTasksResponseSchema.field.results.message!, {
      outcome: { case: "task", value: randomTask(random, i) },
      existing: roll > 0.8,
    }) as SubmitTasksResult;
  });
}

/** The encoded results as the client receives them: views of one response read through the bytes descriptor. */
function asReceived(results: SubmitTasksResult[]): Uint8Array[] {
  const bytes = toBinary(SubmitTasksResponseSchema, create(SubmitTasksResponseSchema, { results }));
  return fromBinary(batchService.method.submitTasks.output, bytes).results;
}

/** What protobuf-es makes of one result, as an item of the given kind of task. */
function expectedItem<T extends TaskSummary>(result: SubmitTasksResult, toTask: (task: Task) => T): SubmitTasksItem<T> {
  if (result.outcome.case === "task") return { task: toTask(result.outcome.value), existing: result.existing, error: undefined };
  const error = result.outcome.value!;
  return { task: undefined, existing: false, error: new SubmitItemError(error.code, error.message, error.field) };
}

function summaryOf(task: Task): TaskSummary {
  return { id: task.id, queue: task.queue, type: task.type, state: task.state, createdAt: task.createdAt };
}

/** Items with their errors as plain values, so that equality compares code, message and field. */
function comparable<T>(items: SubmitTasksItem<TaskSummary & T>[]) {
  return items.map((item) =>
    item.error ? { ...item, error: { code: item.error.code, message: item.error.rawMessage, field: item.error.field } } : item,
  );
}

describe("SubmitTasksResult decoder", () => {
  it("decodes the basic view: id, queue, type, state and created_at, skipping any other field", () => {
    const results = randomResults(1, 600);
    const decoded = decodeBasicResults(asReceived(results));
    expect(comparable(decoded)).toEqual(comparable(results.map((r) => expectedItem(r, summaryOf))));
  });

  it("decodes the full view: every field of each task, through protobuf-es", () => {
    const results = randomResults(2, 300);
    const decoded = decodeFullResults(asReceived(results));
    expect(comparable(decoded)).toEqual(comparable(results.map((r) => expectedItem(r, (task) => task))));
  });

  it("decodes results that are separate buffers, and timestamps before 1970 and past 2^32 seconds", () => {
    const tasks = [-1_500, 8_000_000_000_000_123, 0].map((ms, i) =>
      create(TaskSchema, { id: `t${i}`, queue: "q", type: "t", state: TaskState.QUEUED, createdAt: timestampFromMs(ms) }),
    );
    const separate = tasks.map((task) =>
      toBinary(SubmitTasksResponseSchema.field.results.message!, create(SubmitTasksResponseSchema.field.results.message!, { outcome: { case: "task", value: task } })),
    );
    const decoded = decodeBasicResults(separate);
    expect(decoded.map((item) => item.task?.createdAt)).toEqual(tasks.map((task) => task.createdAt));
    expect(decoded[1].task?.createdAt).toMatchObject({ seconds: 8_000_000_000_000n, nanos: 123_000_000 });
  });

  it("turns refused items into ConnectErrors with the server's code, message and field", () => {
    const results = [
      { code: "INVALID_ARGUMENT", message: "tasks[0].queue: must be 1-128 characters", field: "tasks[0].queue" },
      { code: "RESOURCE_EXHAUSTED", message: "payload: 2015 bytes exceeds the limit", field: "tasks[1].payload" },
      { code: "SOMETHING_NEW", message: "?", field: "" },
    ].map((value) => create(SubmitTasksResponseSchema.field.results.message!, { outcome: { case: "error", value } }) as SubmitTasksResult);
    const items = decodeBasicResults(asReceived(results));
    expect(items.map((item) => item.error?.code)).toEqual([Code.InvalidArgument, Code.ResourceExhausted, Code.Unknown]);
    const first = items[0].error!;
    expect(first).toBeInstanceOf(ConnectError);
    expect(first).toBeInstanceOf(SubmitItemError);
    expect(new ConnectError("other")).not.toBeInstanceOf(SubmitItemError);
    expect(first.rawMessage).toBe("tasks[0].queue: must be 1-128 characters");
    expect(first.message).toBe("[invalid_argument] tasks[0].queue: must be 1-128 characters");
    expect(first.field).toBe("tasks[0].queue");
    expect(items.every((item) => item.task === undefined && item.existing === false)).toBe(true);
  });

  it("reports an item holding neither a task nor an error as refused", () => {
    const [item] = decodeFullResults([new Uint8Array()]);
    expect(item.error?.code).toBe(Code.Unknown);
  });

  it("throws on truncated input", () => {
    const [result] = asReceived(randomResults(3, 1).map((r) => (r.outcome.case === "task" ? r : randomResults(4, 1)[0])));
    for (let cut = 1; cut < Math.min(result.length, 40); cut++) {
      expect(() => decodeBasicResults([result.subarray(0, result.length - cut)])).toThrow();
    }
  });
});
