import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadLetterService } from "../gen/taskqueue/v1/dead_letter_service_pb.js";
import { AttemptOutcome, TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker, type Worker } from "../worker/index.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

let ts: TestServer;
let dead: Client<typeof DeadLetterService>;
let worker: Worker;
const queue = uniqueQueue("dlq");

beforeAll(async () => {
  ts = await startTestServer({ defaultInitialBackoffMs: 20, defaultMaxBackoffMs: 50 });
  dead = createClient(DeadLetterService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
  worker = createWorker({ address: ts.grpcAddress, queues: [queue], concurrency: 8, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop({ timeoutMs: 2_000 });
  await ts?.stop();
});

/** Submits a task that fails its first `times` attempts (2 attempts allowed) and waits for it to die. */
async function deadTask(times: number): Promise<string> {
  const { task } = await ts.grpc.submitTask({ queue, type: "fail", payloadData: jsonPayload({ times }), retryPolicy: { maxAttempts: 2 } });
  await waitForState(ts.grpc, task!.id, TaskState.DEAD);
  return task!.id;
}

describe("dead letters", () => {
  it("lists DEAD tasks of a queue, newest first, with their last error and history", async () => {
    const a = await deadTask(99);
    const b = await deadTask(99);
    const { tasks } = await dead.listDeadTasks({ queue });
    const ids = tasks.map((t) => t.id);
    expect(ids.indexOf(b)).toBeLessThan(ids.indexOf(a));
    const listed = tasks.find((t) => t.id === a)!;
    expect(listed.state).toBe(TaskState.DEAD);
    expect(listed.lastError?.message).toMatch(/attempt 2/);
    const { attempts } = await ts.grpc.getTask({ id: a, includeAttempts: true });
    expect(attempts.map((x) => x.outcome)).toEqual([AttemptOutcome.FAILED, AttemptOutcome.FAILED]);
  });

  it("re-drives one task with a fresh attempt budget; attempt numbers keep counting", async () => {
    const id = await deadTask(3); // dies after attempts 1-2, would succeed on attempt 4
    const { tasks, skippedIds } = await dead.redriveDeadTasks({ ids: [id] });
    expect(skippedIds).toEqual([]);
    expect(tasks[0]!.state).toBe(TaskState.QUEUED);
    expect(tasks[0]!.maxAttempts).toBe(4);
    expect(tasks[0]!.retryPolicy?.maxAttempts).toBe(4);
    const done = await waitForState(ts.grpc, id, TaskState.SUCCEEDED);
    expect(done.attempt).toBe(4);
    const { attempts } = await ts.grpc.getTask({ id, includeAttempts: true });
    expect(attempts.map((x) => x.attempt)).toEqual([1, 2, 3, 4]);
  });

  it("shows one attempt budget: each re-drive grants the submitted attempts again, in maxAttempts and retryPolicy alike", async () => {
    const key = `budget-${Date.now()}-${Math.random()}`;
    const submit = { queue, type: "fail", payloadData: jsonPayload({ times: 99 }), retryPolicy: { maxAttempts: 2 }, idempotencyKey: key };
    const { task } = await ts.grpc.submitTask(submit);
    const id = task!.id;
    /** Every view of the task: GetTask, the dead-letter list, and a repeated submit's answer (hand-written encoder). */
    const budgets = async () => {
      const got = (await ts.grpc.getTask({ id })).task!;
      const listed = (await dead.listDeadTasks({ queue })).tasks.find((t) => t.id === id);
      const [again] = (await ts.grpc.submitTasks({ tasks: [submit] })).results;
      const existing = again!.outcome.case === "task" ? again!.outcome.value : undefined;
      return {
        get: [got.maxAttempts, got.retryPolicy?.maxAttempts],
        list: listed && [listed.maxAttempts, listed.retryPolicy?.maxAttempts],
        submit: existing && [existing.maxAttempts, existing.retryPolicy?.maxAttempts],
      };
    };

    await waitForState(ts.grpc, id, TaskState.DEAD, 10_000, 2);
    expect(await budgets()).toEqual({ get: [2, 2], list: [2, 2], submit: [2, 2] });

    const first = await dead.redriveDeadTasks({ ids: [id] });
    expect([first.tasks[0]!.maxAttempts, first.tasks[0]!.retryPolicy?.maxAttempts]).toEqual([4, 4]);
    await waitForState(ts.grpc, id, TaskState.DEAD, 10_000, 4);
    expect(await budgets()).toEqual({ get: [4, 4], list: [4, 4], submit: [4, 4] });

    // The second re-drive grants the 2 submitted attempts again, not the raised 4.
    const second = await dead.redriveDeadTasks({ ids: [id] });
    expect([second.tasks[0]!.maxAttempts, second.tasks[0]!.retryPolicy?.maxAttempts]).toEqual([6, 6]);
    const done = await waitForState(ts.grpc, id, TaskState.DEAD, 10_000, 6);
    expect([done.maxAttempts, done.retryPolicy?.maxAttempts]).toEqual([6, 6]);
    const { attempts } = await ts.grpc.getTask({ id, includeAttempts: true });
    expect(attempts.map((x) => x.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("takes a re-driven task off the list, and lists it again when it dies again", async () => {
    const id = await deadTask(99);
    const listed = async () => (await dead.listDeadTasks({ queue })).tasks.map((t) => t.id);
    expect(await listed()).toContain(id);
    await dead.redriveDeadTasks({ ids: [id] });
    expect(await listed()).not.toContain(id);
    await waitForState(ts.grpc, id, TaskState.DEAD);
    expect(await listed()).toContain(id);
  });

  it("re-drives every DEAD task of a queue, and skips ids that are not DEAD", async () => {
    const q = uniqueQueue("dlq-many");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { task } = await ts.grpc.submitTask({ queue: q, type: "fail", payloadData: jsonPayload({ times: 1, retryable: false }) });
      ids.push(task!.id);
    }
    // No worker serves q yet: make them die with a worker, then re-drive the whole queue.
    const w = createWorker({ address: ts.grpcAddress, queues: [q], handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
    await w.start();
    try {
      for (const id of ids) await waitForState(ts.grpc, id, TaskState.DEAD);
      const { tasks } = await dead.redriveDeadTasks({ queue: q });
      expect(tasks.map((t) => t.id).sort()).toEqual([...ids].sort());
      for (const id of ids) expect((await waitForState(ts.grpc, id, TaskState.SUCCEEDED)).attempt).toBe(2);
      const again = await dead.redriveDeadTasks({ ids: [ids[0]!] });
      expect(again.tasks).toEqual([]);
      expect(again.skippedIds).toEqual([ids[0]]);
    } finally {
      await w.stop({ timeoutMs: 2_000 });
    }
  });

  it("purges DEAD tasks by id and by queue, leaving other states alone", async () => {
    const q = uniqueQueue("dlq-purge");
    const w = createWorker({ address: ts.grpcAddress, queues: [q], handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
    await w.start();
    try {
      const dying = [];
      for (let i = 0; i < 3; i++) {
        const { task } = await ts.grpc.submitTask({ queue: q, type: "fail", payloadData: jsonPayload({ times: 1, retryable: false }) });
        dying.push(task!.id);
      }
      const { task: ok } = await ts.grpc.submitTask({ queue: q, type: "echo" });
      for (const id of dying) await waitForState(ts.grpc, id, TaskState.DEAD);
      await waitForState(ts.grpc, ok!.id, TaskState.SUCCEEDED);
      expect((await dead.purgeDeadTasks({ ids: [dying[0]!] })).purged).toBe(1n);
      expect((await dead.purgeDeadTasks({ queue: q })).purged).toBe(2n);
      const { rows } = await ts.pool.query("select state from tasks where queue = $1", [q]);
      expect(rows).toEqual([{ state: "SUCCEEDED" }]);
      const { rows: attempts } = await ts.pool.query("select count(*)::int as n from task_attempts where task_id = any($1::uuid[])", [dying]);
      expect(attempts[0].n).toBe(0);
    } finally {
      await w.stop({ timeoutMs: 2_000 });
    }
  });

  it("refuses ambiguous or malformed selectors", async () => {
    const expectInvalid = async (call: Promise<unknown>, message: RegExp) => {
      const error = await call.then(() => undefined, (e: unknown) => ConnectError.from(e));
      expect(error?.code).toBe(Code.InvalidArgument);
      expect(error?.rawMessage).toMatch(message);
    };
    await expectInvalid(dead.redriveDeadTasks({}), /^ids: give ids or queue/);
    await expectInvalid(dead.redriveDeadTasks({ ids: ["x"], queue }), /^ids: give ids or queue, not both/);
    await expectInvalid(dead.purgeDeadTasks({ ids: ["not-a-uuid"] }), /^ids\[0\]: /);
    await expectInvalid(dead.listDeadTasks({ queue: "bad queue" }), /^queue: /);
  });
});
