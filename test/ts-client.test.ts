import { toJson } from "@bufbuild/protobuf";
import { durationMs, timestampMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTaskClient,
  SubmitItemError,
  TaskClientOptionsError,
  TaskState,
  type Task,
  type TaskClient,
  type TaskSpec,
} from "../clients/ts/index.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker } from "../worker/index.js";
import { waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

let ts: TestServer;
/** gRPC to the grpc-js server: batches encoded and decoded by hand. */
let client: TaskClient;
/** Connect binary to the gateway: batches encoded and decoded by hand too. */
let gatewayBinary: TaskClient;
/** Connect JSON to the gateway: batches through protobuf-es. */
let gatewayJson: TaskClient;

beforeAll(async () => {
  ts = await startTestServer({ maxPayloadBytes: 1024 });
  client = createTaskClient({ address: ts.grpcAddress });
  gatewayBinary = createTaskClient({ transport: createConnectTransport({ baseUrl: ts.httpBaseUrl, httpVersion: "1.1", useBinaryFormat: true }) });
  gatewayJson = createTaskClient({
    transport: createConnectTransport({ baseUrl: ts.httpBaseUrl, httpVersion: "1.1", useBinaryFormat: false }),
    jsonTransport: true,
  });
});

afterAll(async () => {
  client?.close();
  await ts?.stop();
});

async function countRows(queue: string): Promise<number> {
  const { rows } = await ts.pool.query("select count(*)::int as n from tasks where queue = $1", [queue]);
  return rows[0].n as number;
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the call should have failed").toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

async function expectCode(call: Promise<unknown>, code: Code, message: RegExp): Promise<void> {
  const error = await failure(call);
  expect(Code[error.code]).toBe(Code[code]);
  expect(error.rawMessage).toMatch(message);
}

/** A task using every field of SubmitTaskRequest, due in an hour. */
function fullSpec(queue: string, runAtMs: number): TaskSpec {
  return {
    queue,
    type: "echo",
    payload: { to: "a@b.c", n: [1, 2.5, null, true], "ü": { deep: "x".repeat(200) } },
    priority: 7,
    retryPolicy: { maxAttempts: 5, initialBackoffMs: 250, maxBackoffMs: 10_000, backoffMultiplier: 3 },
    idempotencyKey: `key-${queue}`,
    labels: { tenant: "acme", region: "eu-ü" },
    runAt: new Date(runAtMs),
    timeoutMs: 1_500,
    startTimeoutMs: 60_000,
  };
}

/** Checks that `task` carries what `spec` (from {@link fullSpec}) asked for. */
function expectFullSpecStored(task: Task, spec: TaskSpec): void {
  const runAtMs = (spec.runAt as Date).getTime();
  expect(task).toMatchObject({
    queue: spec.queue,
    type: "echo",
    priority: 7,
    state: TaskState.SCHEDULED,
    maxAttempts: 5,
    idempotencyKey: spec.idempotencyKey,
    labels: { tenant: "acme", region: "eu-ü" },
  });
  expect(task.retryPolicy?.backoffMultiplier).toBe(3);
  expect(durationMs(task.retryPolicy!.initialBackoff!)).toBe(250);
  expect(durationMs(task.retryPolicy!.maxBackoff!)).toBe(10_000);
  expect(durationMs(task.timeout!)).toBe(1_500);
  expect(timestampMs(task.scheduledAt!)).toBe(runAtMs);
  expect(timestampMs(task.startDeadline!)).toBe(runAtMs + 60_000);
}

describe("submitTask", () => {
  it("commits a task with every field, and getTask returns them", async () => {
    const queue = uniqueQueue("ts-one");
    const spec = fullSpec(queue, Date.now() + 3_600_000);
    const { task, existing } = await client.submitTask(spec);
    expect(existing).toBe(false);
    expectFullSpecStored(task, spec);
    const { task: stored, attempts } = await client.getTask(task.id);
    expectFullSpecStored(stored, spec);
    expect(toJson(ValueSchema, stored.payloadData.value as never)).toEqual(spec.payload);
    expect(attempts).toEqual([]);
  });

  it("returns the existing task for an idempotency key already used in the queue", async () => {
    const queue = uniqueQueue("ts-idem");
    const first = await client.submitTask({ queue, type: "echo", idempotencyKey: "order-42", payload: 1 });
    const second = await client.submitTask({ queue, type: "echo", idempotencyKey: "order-42", payload: 2 });
    expect(second.existing).toBe(true);
    expect(second.task.id).toBe(first.task.id);
    expect(await countRows(queue)).toBe(1);
  });

  it("sends bytes payloads as bytes", async () => {
    const queue = uniqueQueue("ts-bytes");
    const { task } = await client.submitTask({ queue, type: "echo", payloadBytes: new Uint8Array([0, 1, 254, 255]) });
    const { task: stored } = await client.getTask(task.id);
    expect(stored.payloadData).toEqual({ case: "payloadBytes", value: new Uint8Array([0, 1, 254, 255]) });
  });
});

describe("submitTasks", () => {
  it("answers one item per task in order, in the full view by default: refused items carry their error", async () => {
    const queue = uniqueQueue("ts-batch");
    const spec = fullSpec(queue, Date.now() + 3_600_000);
    const items = await client.submitTasks([
      spec,
      { queue: "bad queue!", type: "echo" },
      { queue, type: "echo", payloadBytes: new Uint8Array([9, 8, 7]) },
      { queue, type: "echo", payload: { blob: "x".repeat(2_000) } },
      { ...spec, payload: "different" },
    ]);
    expect(items.map((item) => (item.error ? Code[item.error.code] : "task"))).toEqual([
      "task",
      "InvalidArgument",
      "task",
      "ResourceExhausted",
      "task",
    ]);
    expectFullSpecStored(items[0].task!, spec);
    expect(items[0].task!.payloadData.case).toBeUndefined();
    expect(items[1].error).toBeInstanceOf(SubmitItemError);
    expect(items[1].error).toMatchObject({ field: "tasks[1].queue" });
    expect(items[1].error!.rawMessage).toMatch(/must be 1-128 characters/);
    expect(items[3].error).toMatchObject({ field: "tasks[3].payload" });
    expect(items[3].error!.rawMessage).toMatch(/2\d{3} bytes exceeds the limit of 1024 bytes/);
    expect([items[0].existing, items[2].existing, items[4].existing]).toEqual([false, false, true]);
    expect(items[4].task!.id).toBe(items[0].task!.id);
    const stored = await client.getTask(items[2].task!.id);
    expect(stored.task.payloadData).toEqual({ case: "payloadBytes", value: new Uint8Array([9, 8, 7]) });
    expect(stored.task).toEqual({ ...items[2].task!, payloadData: stored.task.payloadData });
    expect(await countRows(queue)).toBe(2);
  });

  it("answers identity and state only in the basic view", async () => {
    const queue = uniqueQueue("ts-basic");
    const items = await client.submitTasks(
      [fullSpec(queue, Date.now() + 60_000), { queue, type: "echo", labels: { a: "b" } }, { queue, type: "" }],
      { view: "basic" },
    );
    const [scheduled, queued, refused] = items;
    expect(Object.keys(scheduled.task!).sort()).toEqual(["createdAt", "id", "queue", "state", "type"]);
    expect(scheduled.task).toMatchObject({ queue, type: "echo", state: TaskState.SCHEDULED });
    expect(queued.task).toMatchObject({ queue, type: "echo", state: TaskState.QUEUED });
    expect(refused.error).toMatchObject({ code: Code.InvalidArgument, field: "tasks[2].type" });
    const stored = await client.getTask(queued.task!.id);
    expect(queued.task).toEqual({
      id: stored.task.id,
      queue: stored.task.queue,
      type: stored.task.type,
      state: stored.task.state,
      createdAt: stored.task.createdAt,
    });
    expect(stored.task.labels).toEqual({ a: "b" });
  });

  it("gives the same answers over gRPC, Connect binary and Connect JSON", async () => {
    const queue = uniqueQueue("ts-transports");
    const specs: TaskSpec[] = [
      fullSpec(queue, Date.now() + 3_600_000),
      { queue, type: "echo", idempotencyKey: "plain", payloadBytes: new Uint8Array([1]) },
      { queue, type: "bad type?" },
    ];
    for (const view of ["full", "basic"] as const) {
      const overGrpc = await client.submitTasks(specs, { view });
      const overBinary = await gatewayBinary.submitTasks(specs, { view });
      const overJson = await gatewayJson.submitTasks(specs, { view });
      const errorOf = (item: (typeof overGrpc)[number]) => item.error && [item.error.code, item.error.rawMessage, item.error.field];
      expect(overGrpc[2].error).toMatchObject({ code: Code.InvalidArgument, field: "tasks[2].type" });
      for (const items of [overBinary, overJson]) {
        expect(items.map((item) => item.task)).toEqual(overGrpc.map((item) => item.task));
        // The keyed tasks exist from the first call on.
        expect(items.map((item) => item.existing)).toEqual([true, true, false]);
        expect(items.map(errorOf)).toEqual(overGrpc.map(errorOf));
      }
    }
    expect(await countRows(queue)).toBe(2);
  });

  it("refuses an empty batch, an oversized one and one with a bad view as a whole", async () => {
    const queue = uniqueQueue("ts-whole");
    await expectCode(client.submitTasks([]), Code.InvalidArgument, /^tasks: /);
    await expectCode(client.submitTasks(Array.from({ length: 1001 }, () => ({ queue, type: "echo" }))), Code.InvalidArgument, /at most 1000/);
    await expectCode(client.submitTasks([{ queue, type: "echo" }], { view: "tiny" as "basic" }), Code.InvalidArgument, /^view: /);
    expect(await countRows(queue)).toBe(0);
  });

  it("refuses values of the wrong type before sending anything, naming the field", async () => {
    const queue = uniqueQueue("ts-types");
    await expectCode(
      client.submitTasks([{ queue, type: "echo" }, { queue, type: "echo", payload: { at: new Date() } as never }]),
      Code.InvalidArgument,
      /^tasks\[1\]\.payload\.at: a Date is not a JSON value/,
    );
    await expectCode(client.submitTask({ queue, type: "echo", priority: 1.5 }), Code.InvalidArgument, /^priority: /);
    expect(await countRows(queue)).toBe(0);
  });

  it("fails as a whole, writing nothing, when a JSON transport is not declared as one", async () => {
    const queue = uniqueQueue("ts-undeclared");
    const undeclared = createTaskClient({
      transport: createConnectTransport({ baseUrl: ts.httpBaseUrl, httpVersion: "1.1", useBinaryFormat: false }),
    });
    const error = await failure(undeclared.submitTasks([{ queue, type: "echo" }]));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(await countRows(queue)).toBe(0);
  });
});

describe("getTask, listTasks and cancelTask", () => {
  it("returns the attempt history of a task that failed once and then succeeded", async () => {
    const queue = uniqueQueue("ts-attempts");
    const { task } = await client.submitTask({ queue, type: "fail", payload: { times: 1 }, retryPolicy: { initialBackoffMs: 10, maxBackoffMs: 10 } });
    const worker = createWorker({ address: ts.grpcAddress, queues: [queue], handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
    await worker.start();
    try {
      await waitForState(ts.grpc, task.id, TaskState.SUCCEEDED);
    } finally {
      await worker.stop({ timeoutMs: 2_000 });
    }
    const { task: done, attempts } = await client.getTask(task.id, { includeAttempts: true });
    expect(done.state).toBe(TaskState.SUCCEEDED);
    expect(toJson(ValueSchema, done.resultData.value as never)).toEqual({ attempt: 2 });
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(attempts[0].error?.message).toMatch(/failing attempt 1 of 1/);
    expect((await client.getTask(task.id)).attempts).toEqual([]);
  });

  it("lists newest first, filtered by type and states (by name or enum), paged with tokens", async () => {
    const queue = uniqueQueue("ts-list");
    const items = await client.submitTasks(
      Array.from({ length: 7 }, (_, i) => ({ queue, type: i < 5 ? "echo" : "sleep" })),
      { view: "basic" },
    );
    const ids = items.map((item) => item.task!.id);
    await client.cancelTask(ids[0]);
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await client.listTasks({ queue, type: "echo", states: ["QUEUED"], pageSize: 2, pageToken });
      seen.push(...page.tasks.map((t) => t.id));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== "");
    expect(pages).toBe(2);
    expect(seen).toEqual(ids.slice(1, 5).sort().reverse());
    const cancelled = await client.listTasks({ queue, states: [TaskState.CANCELLED, "DEAD"] });
    expect(cancelled.tasks.map((t) => t.id)).toEqual([ids[0]]);
    expect((await client.listTasks({ queue })).tasks).toHaveLength(7);
    await expectCode(client.listTasks({ states: ["DONE" as "QUEUED"] }), Code.InvalidArgument, /^states: "DONE" is not a task state/);
    await expectCode(client.listTasks({ pageToken: "forged" }), Code.InvalidArgument, /^page_token: /);
    await expectCode(client.listTasks({ pageSize: 5000 }), Code.InvalidArgument, /^page_size: /);
  });

  it("cancels with a reason, and refuses a finished task, an unknown id and a malformed one", async () => {
    const queue = uniqueQueue("ts-cancel");
    const { task } = await client.submitTask({ queue, type: "echo" });
    const cancelled = await client.cancelTask(task.id, { reason: "changed my mind" });
    expect(cancelled).toMatchObject({ id: task.id, state: TaskState.CANCELLED, cancelReason: "changed my mind" });
    await expectCode(client.cancelTask(task.id), Code.FailedPrecondition, /already CANCELLED/);
    await expectCode(client.cancelTask("00000000-0000-7000-8000-000000000000"), Code.NotFound, /not found/);
    await expectCode(client.getTask("00000000-0000-7000-8000-000000000000"), Code.NotFound, /not found/);
    await expectCode(client.getTask("nope"), Code.InvalidArgument, /^id: /);
  });

  it("surfaces server errors of unary submits with their code and message", async () => {
    const queue = uniqueQueue("ts-errors");
    await expectCode(client.submitTask({ queue, type: "echo", payload: { blob: "x".repeat(2_000) } }), Code.ResourceExhausted, /^payload: \d+ bytes exceeds the limit of 1024 bytes/);
    await expectCode(client.submitTask({ queue, type: "echo", priority: 101 }), Code.InvalidArgument, /^priority: /);
    await expectCode(client.submitTask({ queue, type: "echo", retryPolicy: { maxAttempts: 1000 } }), Code.InvalidArgument, /^retry_policy\.max_attempts: /);
    await expectCode(gatewayJson.submitTask({ queue: "", type: "echo" }), Code.InvalidArgument, /^queue: is required/);
    expect(await countRows(queue)).toBe(0);
  });
});

describe("client options", () => {
  it("passes signals and deadlines to the call", async () => {
    const aborted = AbortSignal.abort();
    const error = await failure(client.listTasks({ signal: aborted }));
    expect(error.code).toBe(Code.Canceled);
    const page = await client.listTasks({ queue: uniqueQueue("ts-deadline"), timeoutMs: 5_000 });
    expect(page.tasks).toEqual([]);
  });

  it("accepts a base URL, and refuses contradictory or malformed addresses", async () => {
    const viaUrl = createTaskClient({ baseUrl: `http://${ts.grpcAddress}/` });
    try {
      expect((await viaUrl.listTasks({ queue: uniqueQueue("ts-url") })).tasks).toEqual([]);
    } finally {
      viaUrl.close();
    }
    expect(() => createTaskClient({ address: "ftp://host:1" })).toThrow(TaskClientOptionsError);
    expect(() => createTaskClient({ address: "a:1", baseUrl: "http://a:1" })).toThrow(/^address: give address or baseUrl, not both/);
    expect(() => createTaskClient({ address: "a:1", transport: ts.grpc as never })).toThrow(/^transport: /);
    expect(() => createTaskClient({ timeoutMs: -1 })).toThrow(/^timeoutMs: /);
  });
});
