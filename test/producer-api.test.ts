import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { TaskView } from "../gen/taskqueue/v1/task_service_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker } from "../worker/index.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

let ts: TestServer;

beforeAll(async () => {
  ts = await startTestServer({ maxPayloadBytes: 1024 });
});

afterAll(async () => {
  await ts?.stop();
});

async function countRows(queue: string): Promise<number> {
  const { rows } = await ts.pool.query("select count(*)::int as n from tasks where queue = $1", [queue]);
  return rows[0].n as number;
}

async function expectCode(call: Promise<unknown>, code: Code, message: RegExp): Promise<void> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the call should have failed").toBeInstanceOf(ConnectError);
  expect(Code[(error as ConnectError).code]).toBe(Code[code]);
  expect((error as ConnectError).rawMessage).toMatch(message);
}

describe("SubmitTasks (batch)", () => {
  it("answers one result per item, in order: bad items refused, good ones committed", async () => {
    const queue = uniqueQueue("batch");
    const { results } = await ts.grpc.submitTasks({
      tasks: [
        { queue, type: "echo", payloadData: jsonPayload({ i: 0 }) },
        { queue: "bad queue!", type: "echo" },
        { queue, type: "echo", payloadData: jsonPayload({ i: 2 }), idempotencyKey: "k1" },
        { queue, type: "" },
        { queue, type: "echo", payloadData: jsonPayload({ i: 4 }), idempotencyKey: "k1" },
      ],
    });
    expect(results.map((r) => r.outcome.case)).toEqual(["task", "error", "task", "error", "task"]);
    expect(results[1]!.outcome.value).toMatchObject({ code: "INVALID_ARGUMENT", field: "tasks[1].queue" });
    expect(results[3]!.outcome.value).toMatchObject({ code: "INVALID_ARGUMENT", field: "tasks[3].type" });
    const ids = results.map((r) => (r.outcome.case === "task" ? r.outcome.value.id : undefined));
    expect(results[4]!.existing).toBe(true);
    expect(ids[4]).toBe(ids[2]);
    expect(await countRows(queue)).toBe(2);
  });

  it("answers the same results over gRPC and Connect JSON", async () => {
    const queue = uniqueQueue("batch-json");
    const tasks = [
      { queue, type: "echo", labels: { tenant: "acme" }, idempotencyKey: "same" },
      { queue: "", type: "echo" },
    ];
    const overGrpc = await ts.grpc.submitTasks({ tasks });
    const overJson = await ts.connect.submitTasks({ tasks });
    expect(overJson.results.map((r) => r.outcome.case)).toEqual(["task", "error"]);
    expect(overJson.results[0]!.existing).toBe(true);
    expect(overJson.results[0]!.outcome.value).toEqual(overGrpc.results[0]!.outcome.value);
    expect(overJson.results[1]!.outcome.value).toEqual(overGrpc.results[1]!.outcome.value);
  });

  it("answers with identity and state only in the basic view, and refuses an unknown view", async () => {
    const queue = uniqueQueue("batch-basic");
    const { results } = await ts.grpc.submitTasks({
      view: TaskView.BASIC,
      tasks: [{ queue, type: "echo", labels: { tenant: "acme" }, payloadData: jsonPayload({ i: 1 }) }],
    });
    const task = results[0]!.outcome.case === "task" ? results[0]!.outcome.value : undefined;
    expect(task).toMatchObject({ queue, type: "echo", state: TaskState.QUEUED, labels: {}, maxAttempts: 0 });
    expect(task!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(task!.retryPolicy).toBeUndefined();
    const stored = await ts.grpc.getTask({ id: task!.id });
    expect(stored.task!.labels).toEqual({ tenant: "acme" });
    await expectCode(ts.grpc.submitTasks({ view: 9 as TaskView, tasks: [{ queue, type: "echo" }] }), Code.InvalidArgument, /^view: /);
    expect(await countRows(queue)).toBe(1);
  });

  it("refuses an empty batch and an oversized one", async () => {
    await expectCode(ts.grpc.submitTasks({ tasks: [] }), Code.InvalidArgument, /^tasks: /);
    const queue = uniqueQueue("batch");
    const tasks = Array.from({ length: 1001 }, () => ({ queue, type: "echo" }));
    await expectCode(ts.grpc.submitTasks({ tasks }), Code.InvalidArgument, /at most 1000/);
    expect(await countRows(queue)).toBe(0);
  });
});

describe("ListTasks", () => {
  it("pages through a queue newest first with page tokens, without gaps or repeats", async () => {
    const queue = uniqueQueue("list");
    const { results } = await ts.grpc.submitTasks({
      tasks: Array.from({ length: 25 }, (_, i) => ({ queue, type: "echo", payloadData: jsonPayload({ i }) })),
    });
    const submitted = results.map((r) => (r.outcome.case === "task" ? r.outcome.value.id : ""));
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await ts.connect.listTasks({ queue, pageSize: 10, pageToken });
      seen.push(...page.tasks.map((t) => t.id));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== "");
    expect(pages).toBe(3);
    expect(seen).toEqual([...submitted].sort().reverse());
  });

  it("filters by state", async () => {
    const queue = uniqueQueue("list");
    const a = await ts.grpc.submitTask({ queue, type: "echo" });
    const b = await ts.grpc.submitTask({ queue, type: "echo" });
    await ts.grpc.cancelTask({ id: b.task!.id });
    const queued = await ts.grpc.listTasks({ queue, states: [TaskState.QUEUED] });
    expect(queued.tasks.map((t) => t.id)).toEqual([a.task!.id]);
    const cancelled = await ts.grpc.listTasks({ queue, states: [TaskState.CANCELLED] });
    expect(cancelled.tasks.map((t) => t.id)).toEqual([b.task!.id]);
  });

  it("rejects a forged page token and a bad page size", async () => {
    await expectCode(ts.grpc.listTasks({ pageToken: "not-a-token" }), Code.InvalidArgument, /^page_token: /);
    await expectCode(ts.grpc.listTasks({ pageSize: 5000 }), Code.InvalidArgument, /^page_size: /);
  });
});

describe("CancelTask", () => {
  it("cancels a queued task, which is then never dispatched", async () => {
    const queue = uniqueQueue("cancel");
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    const { task: cancelled } = await ts.grpc.cancelTask({ id: task!.id, reason: "changed my mind" });
    expect(cancelled!.state).toBe(TaskState.CANCELLED);
    expect(cancelled!.cancelReason).toBe("changed my mind");
    // A worker arriving afterwards gets the next task, not the cancelled one.
    const { task: other } = await ts.grpc.submitTask({ queue, type: "echo" });
    const started: string[] = [];
    const worker = createWorker({
      address: ts.grpcAddress,
      queues: [queue],
      handlers: exampleHandlers(),
      logger: createLogger({ level: "silent" }),
    });
    worker.on("task:started", ({ task: t }) => started.push(t.id));
    await worker.start();
    try {
      await waitForState(ts.grpc, other!.id, TaskState.SUCCEEDED);
      expect(started).toEqual([other!.id]);
      expect((await ts.grpc.getTask({ id: task!.id })).task!.state).toBe(TaskState.CANCELLED);
    } finally {
      await worker.stop({ timeoutMs: 2_000 });
    }
  });

  it("refuses to cancel a finished task, an unknown one, or a malformed id", async () => {
    const queue = uniqueQueue("cancel");
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    await ts.grpc.cancelTask({ id: task!.id });
    await expectCode(ts.grpc.cancelTask({ id: task!.id }), Code.FailedPrecondition, /already CANCELLED/);
    await expectCode(
      ts.grpc.cancelTask({ id: "00000000-0000-7000-8000-000000000000" }),
      Code.NotFound,
      /not found/,
    );
    await expectCode(ts.grpc.cancelTask({ id: "nope" }), Code.InvalidArgument, /^id: /);
  });
});

describe("results over the size limit", () => {
  it("are rejected, and the worker SDK then dead-letters the task instead of leaving it RUNNING", async () => {
    const queue = uniqueQueue("big-result");
    const worker = createWorker({
      address: ts.grpcAddress,
      queues: [queue],
      handlers: { big: () => ({ blob: "x".repeat(2000) }) },
      logger: createLogger({ level: "silent" }),
    });
    const rejected: string[] = [];
    worker.on("ack", (ack) => {
      if (ack.status === "rejected") rejected.push(ack.message);
    });
    await worker.start();
    try {
      const { task } = await ts.grpc.submitTask({ queue, type: "big" });
      const dead = await waitForState(ts.grpc, task!.id, TaskState.DEAD);
      expect(dead.lastError?.type).toBe("ResultRejected");
      expect(dead.lastError?.message).toMatch(/success\.result: \d+ bytes exceeds the limit of 1024 bytes/);
      expect(rejected).toHaveLength(1);
    } finally {
      await worker.stop({ timeoutMs: 2_000 });
    }
  });
});

describe("bad input is refused with a clear error and writes nothing", () => {
  const cases: Array<[string, Record<string, unknown>, Code, RegExp]> = [
    ["bad queue name", { queue: "no spaces allowed", type: "echo" }, Code.InvalidArgument, /^queue: /],
    ["missing queue", { queue: "", type: "echo" }, Code.InvalidArgument, /^queue: is required/],
    ["bad type", { type: "bad type?" }, Code.InvalidArgument, /^type: /],
    ["missing type", { type: "" }, Code.InvalidArgument, /^type: is required/],
    ["priority out of range", { type: "echo", priority: 101 }, Code.InvalidArgument, /^priority: /],
    ["too many attempts", { type: "echo", retryPolicy: { maxAttempts: 1000 } }, Code.InvalidArgument, /^retry_policy\.max_attempts: /],
    ["payload over the limit", { type: "echo", payloadData: jsonPayload({ blob: "x".repeat(2000) }) }, Code.ResourceExhausted, /^payload: \d+ bytes exceeds the limit of 1024 bytes/],
    ["bytes payload over the limit", { type: "echo", payloadData: { case: "payloadBytes", value: new Uint8Array(1025) } }, Code.ResourceExhausted, /^payload_bytes: /],
    ["idempotency key too long", { type: "echo", idempotencyKey: "k".repeat(300) }, Code.InvalidArgument, /^idempotency_key: /],
    ["JSON payload holding no value", { type: "echo", payloadData: { case: "payload", value: {} } }, Code.InvalidArgument, /^payload: is not a valid JSON value/],
  ];
  /** Cases JSON cannot express (the client refuses to write them): sent over gRPC only. */
  const binaryOnly = new Set(["JSON payload holding no value"]);
  for (const [name, fields, code, message] of cases) {
    it(`${name} → ${Code[code]}`, async () => {
      const queue = uniqueQueue("bad");
      const request = { queue, ...fields } as Parameters<TestServer["grpc"]["submitTask"]>[0];
      await expectCode(ts.grpc.submitTask(request), code, message);
      if (!binaryOnly.has(name)) await expectCode(ts.connect.submitTask(request), code, message);
      expect(await countRows(queue)).toBe(0);
    });
  }

  it("GetTask of a malformed or unknown id", async () => {
    await expectCode(ts.grpc.getTask({ id: "" }), Code.InvalidArgument, /^id: is required/);
    await expectCode(ts.grpc.getTask({ id: "1234" }), Code.InvalidArgument, /^id: /);
    await expectCode(ts.grpc.getTask({ id: "00000000-0000-7000-8000-000000000000" }), Code.NotFound, /not found/);
  });

  it("malformed JSON on the gateway gets a Connect error, and the server keeps serving", async () => {
    const res = await fetch(`${ts.httpBaseUrl}/taskqueue.v1.TaskService/SubmitTask`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"queue": "x", "type": ',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("invalid_argument");
    const unknownField = await fetch(`${ts.httpBaseUrl}/taskqueue.v1.TaskService/SubmitTask`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ queue: "x", type: "echo", colour: "blue" }),
    });
    expect(unknownField.status).toBe(400);
    const health = await fetch(`${ts.httpBaseUrl}/healthz`);
    expect(health.status).toBe(200);
    const { task } = await ts.connect.submitTask({ queue: uniqueQueue("after"), type: "echo" });
    expect(task!.state).toBe(TaskState.QUEUED);
  });
});
