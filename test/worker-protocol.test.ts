import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { ResultStatus, type ConnectResponse } from "../gen/taskqueue/v1/worker_service_pb.js";
import { RawWorker } from "./support/raw-worker.js";
import { waitFor } from "./support/wait-for.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

const LEASE_MS = 1_500;
let ts: TestServer;
const workers: RawWorker[] = [];

beforeAll(async () => {
  ts = await startTestServer({ leaseDurationMs: LEASE_MS, heartbeatIntervalMs: 300, reaperIntervalMs: 100 });
});

afterEach(() => {
  for (const w of workers.splice(0)) w.close();
});

afterAll(async () => {
  await ts?.stop();
});

function rawWorker(): RawWorker {
  const w = new RawWorker(ts.grpcAddress);
  workers.push(w);
  return w;
}

const isAck = (m: ConnectResponse) => m.message.case === "acks";

/** Waits (bounded) until the task's attempt history shows exactly `expected`. */
async function waitForAttempts(id: string, expected: AttemptOutcome[], timeoutMs: number): Promise<void> {
  await waitFor(async () => JSON.stringify(await attemptOutcomes(id)) === JSON.stringify(expected), {
    timeoutMs,
    message: `attempts of ${id} to be ${expected.map((o) => AttemptOutcome[o]).join(",")}`,
  });
}

/** The timings of the welcome a raw worker received; fails if either is unset. */
function welcomeTimings(w: RawWorker): { heartbeatIntervalMs: number; leaseDurationMs: number } {
  const welcome = w.received[0]!.message;
  if (welcome.case !== "welcome") throw new Error(`first message is ${welcome.case}, not welcome`);
  const { heartbeatInterval, leaseDuration } = welcome.value;
  if (!heartbeatInterval || !leaseDuration) throw new Error("the welcome leaves heartbeat_interval or lease_duration unset");
  const ms = (d: { seconds: bigint; nanos: number }) => Number(d.seconds) * 1000 + d.nanos / 1e6;
  return { heartbeatIntervalMs: ms(heartbeatInterval), leaseDurationMs: ms(leaseDuration) };
}

async function attemptOutcomes(id: string): Promise<AttemptOutcome[]> {
  const { attempts } = await ts.grpc.getTask({ id, includeAttempts: true });
  return attempts.map((a) => a.outcome);
}

describe("WorkerService.Connect", () => {
  it("welcomes with lease timings, pushes no more tasks than the credits granted, acks results", async () => {
    const queue = uniqueQueue("credit");
    const w = rawWorker();
    await w.hello([queue]);
    const welcome = w.received[0]!.message;
    expect(welcome.case).toBe("welcome");
    if (welcome.case !== "welcome") return;
    expect(Number(welcome.value.leaseDuration!.seconds) * 1000 + welcome.value.leaseDuration!.nanos / 1e6).toBe(LEASE_MS);
    const a = await ts.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload(1) });
    const b = await ts.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload(2) });
    w.send({ case: "credit", value: { credits: 1 } });
    const [first] = await w.tasks(1);
    expect(first!.taskId).toBe(a.task!.id);
    expect(first!.attempt).toBe(1);
    // One credit, one task: the second stays queued however long we look.
    expect((await ts.grpc.getTask({ id: b.task!.id })).task!.state).toBe(TaskState.QUEUED);
    w.send({
      case: "results",
      value: { results: [{ taskId: first!.taskId, leaseToken: first!.leaseToken, outcome: { case: "success", value: { resultData: { case: "result", value: { kind: { case: "stringValue", value: "done" } } } } } }] },
    });
    const ack = await w.next(isAck, "ack");
    expect(ack.message.case === "acks" && ack.message.value.acks[0]!.status).toBe(ResultStatus.ACCEPTED);
    expect((await ts.grpc.getTask({ id: a.task!.id })).task!.state).toBe(TaskState.SUCCEEDED);
    w.send({ case: "credit", value: { credits: 1 } });
    const tasks = await w.tasks(2);
    expect(tasks[1]!.taskId).toBe(b.task!.id);
  });

  it("always states heartbeat_interval and lease_duration in the welcome: the configured values, or 5 s and 15 s by default", async () => {
    const configured = rawWorker();
    await configured.hello([uniqueQueue("welcome")]);
    expect(welcomeTimings(configured)).toEqual({ heartbeatIntervalMs: 300, leaseDurationMs: LEASE_MS });
    const defaults = await startTestServer();
    try {
      const w = new RawWorker(defaults.grpcAddress);
      workers.push(w);
      await w.hello([uniqueQueue("welcome-defaults")]);
      expect(welcomeTimings(w)).toEqual({ heartbeatIntervalMs: 5_000, leaseDurationMs: 15_000 });
    } finally {
      await defaults.stop();
    }
  });

  it("requeues a task whose lease expires, and rejects the late result of the old lease", async () => {
    const queue = uniqueQueue("expire");
    const slow = rawWorker();
    await slow.hello([queue], "slow-worker");
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    slow.send({ case: "credit", value: { credits: 1 } });
    const [stale] = await slow.tasks(1);
    // No heartbeat from the slow worker: the lease runs out and the task is queued again.
    const fresh = rawWorker();
    await fresh.hello([queue], "fresh-worker");
    fresh.send({ case: "credit", value: { credits: 1 } });
    const [second] = await fresh.tasks(1, LEASE_MS * 4);
    expect(second!.taskId).toBe(task!.id);
    expect(second!.attempt).toBe(2);
    expect(second!.leaseToken).not.toBe(stale!.leaseToken);

    slow.send({
      case: "results",
      value: { results: [{ taskId: stale!.taskId, leaseToken: stale!.leaseToken, outcome: { case: "success", value: {} } }] },
    });
    const staleAck = await slow.next(isAck, "ack of the stale result");
    expect(staleAck.message.case === "acks" && staleAck.message.value.acks[0]!.status).toBe(ResultStatus.STALE);
    const running = await waitForState(ts.grpc, task!.id, TaskState.RUNNING, 10_000, 2);
    expect(running.resultData.case).toBeUndefined();

    fresh.send({
      case: "results",
      value: { results: [{ taskId: second!.taskId, leaseToken: second!.leaseToken, outcome: { case: "success", value: { resultData: { case: "result", value: { kind: { case: "stringValue", value: "fresh" } } } } } }] },
    });
    const ack = await fresh.next(isAck, "ack");
    expect(ack.message.case === "acks" && ack.message.value.acks[0]!.status).toBe(ResultStatus.ACCEPTED);
    const done = await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
    expect(done.resultData.case === "result" && done.resultData.value.kind.value).toBe("fresh");
    expect(await attemptOutcomes(task!.id)).toEqual([AttemptOutcome.LEASE_EXPIRED, AttemptOutcome.SUCCEEDED]);
  });

  it("heartbeats keep a lease alive past its duration", async () => {
    const queue = uniqueQueue("beat");
    const w = rawWorker();
    await w.hello([queue]);
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    w.send({ case: "credit", value: { credits: 1 } });
    const [leased] = await w.tasks(1);
    const until = Date.now() + LEASE_MS * 2;
    let acks = 0;
    while (Date.now() < until) {
      w.send({ case: "heartbeat", value: { taskIds: [leased!.taskId] } });
      const from = w.received.length;
      const ack = await w.next((m) => m.message.case === "heartbeatAck", "heartbeat ack", 5_000, from);
      expect(ack.message.case === "heartbeatAck" && ack.message.value.leasesExtended).toBe(1);
      acks++;
      await ts.server.reapExpired();
    }
    expect(acks).toBeGreaterThan(3);
    const now = (await ts.grpc.getTask({ id: task!.id })).task!;
    expect(now.state).toBe(TaskState.RUNNING);
    expect(now.attempt).toBe(1);
  });

  it("releases the leases of a stream that closes at once, as WORKER_LOST", async () => {
    const queue = uniqueQueue("close");
    const w = rawWorker();
    await w.hello([queue]);
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    w.send({ case: "credit", value: { credits: 1 } });
    await w.tasks(1);
    w.close();
    await w.end();
    await waitForAttempts(task!.id, [AttemptOutcome.WORKER_LOST], LEASE_MS / 2);
    expect((await ts.grpc.getTask({ id: task!.id })).task!.state).toBe(TaskState.QUEUED);
  });

  it("ends a stream that talks before hello with FAILED_PRECONDITION", async () => {
    const w = rawWorker();
    w.send({ case: "credit", value: { credits: 5 } });
    const error = await w.end();
    expect(error?.code).toBe(Code.FailedPrecondition);
    expect(error?.rawMessage).toMatch(/before hello/);
  });

  it("ends a stream that says hello twice with FAILED_PRECONDITION and releases its leases", async () => {
    const queue = uniqueQueue("twice");
    const w = rawWorker();
    await w.hello([queue]);
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    w.send({ case: "credit", value: { credits: 1 } });
    await w.tasks(1);
    w.send({ case: "hello", value: { workerId: "again", queues: [queue] } });
    const error = await w.end();
    expect(error?.code).toBe(Code.FailedPrecondition);
    expect(error?.rawMessage).toMatch(/hello sent twice/);
    await waitForAttempts(task!.id, [AttemptOutcome.WORKER_LOST], LEASE_MS / 2);
    expect((await ts.grpc.getTask({ id: task!.id })).task!.state).toBe(TaskState.QUEUED);
  });

  it("refuses a bad hello and bad credit with INVALID_ARGUMENT naming the field", async () => {
    const noQueues = rawWorker();
    noQueues.send({ case: "hello", value: { workerId: "w", queues: [] } });
    const e1 = await noQueues.end();
    expect(e1?.code).toBe(Code.InvalidArgument);
    expect(e1?.rawMessage).toMatch(/^hello\.queues: /);

    const badQueue = rawWorker();
    badQueue.send({ case: "hello", value: { workerId: "w", queues: ["has space"] } });
    expect((await badQueue.end())?.rawMessage).toMatch(/^hello\.queues\[0\]: /);

    const zeroCredit = rawWorker();
    await zeroCredit.hello([uniqueQueue()]);
    zeroCredit.send({ case: "credit", value: { credits: 0 } });
    const e3 = await zeroCredit.end();
    expect(e3?.code).toBe(Code.InvalidArgument);
    expect(e3?.rawMessage).toMatch(/^credit\.credits: /);
  });

  it("rejects a malformed result without touching the lease", async () => {
    const queue = uniqueQueue("reject");
    const w = rawWorker();
    await w.hello([queue]);
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    w.send({ case: "credit", value: { credits: 1 } });
    const [leased] = await w.tasks(1);
    w.send({ case: "results", value: { results: [{ taskId: leased!.taskId, leaseToken: "", outcome: { case: "success", value: {} } }] } });
    const ack = await w.next(isAck, "ack");
    if (ack.message.case !== "acks") throw new Error("expected acks");
    expect(ack.message.value.acks[0]!.status).toBe(ResultStatus.REJECTED);
    expect(ack.message.value.acks[0]!.message).toMatch(/lease_token/);
    // The lease still stands: the well-formed result for it is accepted.
    const from = w.received.length;
    w.send({ case: "results", value: { results: [{ taskId: leased!.taskId, leaseToken: leased!.leaseToken, outcome: { case: "success", value: {} } }] } });
    const second = await w.next(isAck, "second ack", 10_000, from);
    expect(second.message.case === "acks" && second.message.value.acks[0]!.status).toBe(ResultStatus.ACCEPTED);
    await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
  });

  it("pushes a cancel for a running task; the worker's answer ends it CANCELLED", async () => {
    const queue = uniqueQueue("cancel-run");
    const w = rawWorker();
    await w.hello([queue]);
    const { task } = await ts.grpc.submitTask({ queue, type: "sleep", payloadData: jsonPayload({ ms: 60_000 }) });
    w.send({ case: "credit", value: { credits: 1 } });
    const [leased] = await w.tasks(1);
    const { task: after } = await ts.grpc.cancelTask({ id: task!.id, reason: "operator" });
    expect(after!.state).toBe(TaskState.RUNNING);
    const cancel = await w.next((m) => m.message.case === "cancel", "cancel command");
    expect(cancel.message.case === "cancel" && cancel.message.value.leaseToken).toBe(leased!.leaseToken);
    w.send({
      case: "results",
      value: { results: [{ taskId: leased!.taskId, leaseToken: leased!.leaseToken, outcome: { case: "failure", value: { message: "aborted" } } }] },
    });
    const done = await waitForState(ts.grpc, task!.id, TaskState.CANCELLED);
    expect(done.cancelReason).toBe("operator");
    expect(await attemptOutcomes(task!.id)).toEqual([AttemptOutcome.CANCELLED]);
  });
});
