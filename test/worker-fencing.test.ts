import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { ResultStatus, type LeasedTask, type TaskResult } from "../gen/taskqueue/v1/worker_service_pb.js";
import { QueueStore } from "../server/redis/queue-store.js";
import { connectDispatchRedis } from "./support/dispatch-state.js";
import { RawWorker } from "./support/raw-worker.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { waitFor } from "./support/wait-for.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/**
 * Fencing across streams: a result counts only from the stream that holds the lease, and one
 * stream's lease tokens tell nothing about another's.
 */

let ts: TestServer;
const workers: RawWorker[] = [];

beforeAll(async () => {
  ts = await startTestServer();
});

afterEach(() => {
  for (const w of workers.splice(0)) w.close();
});

afterAll(async () => {
  await ts?.stop();
});

async function connected(queue: string, workerId: string): Promise<RawWorker> {
  const w = new RawWorker(ts.grpcAddress);
  workers.push(w);
  await w.hello([queue], workerId);
  return w;
}

type ResultInit = Omit<TaskResult, "$typeName" | "$unknown">;

const success = (taskId: string, leaseToken: string): ResultInit => ({
  taskId,
  leaseToken,
  outcome: { case: "success", value: { $typeName: "taskqueue.v1.TaskSuccess", resultData: { case: undefined } } },
});

const fatal = (taskId: string, leaseToken: string): ResultInit => ({
  taskId,
  leaseToken,
  outcome: { case: "failure", value: { $typeName: "taskqueue.v1.TaskFailure", message: "not yours", type: "Forged", nonRetryable: true } },
});

/** Sends `results` on `w` and returns the statuses of the acks they get, in the order acked. */
async function report(w: RawWorker, results: ResultInit[]): Promise<ResultStatus[]> {
  const from = w.received.length;
  w.send({ case: "results", value: { results } });
  const statuses = () => w.received.slice(from).flatMap((m) => (m.message.case === "acks" ? m.message.value.acks.map((a) => a.status) : []));
  await w.next(() => statuses().length >= results.length, `${results.length} acks`, 10_000, from);
  return statuses();
}

const prefixOf = (token: string) => token.slice(0, token.lastIndexOf("."));

describe("fencing across worker streams", () => {
  it("answers STALE to results for another stream's leases, with its tokens or derived ones, and leaves them alone", async () => {
    const queue = uniqueQueue("fence");
    const a = await connected(queue, "worker-a");
    const b = await connected(queue, "worker-b");
    await a.sendAndSync({ case: "credit", value: { credits: 2 } });
    await b.sendAndSync({ case: "credit", value: { credits: 2 } });
    // One lease pass serves both streams.
    const { results } = await ts.grpc.submitTasks({
      tasks: [1, 2, 3, 4].map((n) => ({ queue, type: "echo", payloadData: jsonPayload(n) })),
    });
    expect(results.every((r) => r.outcome.case === "task")).toBe(true);
    const mine: LeasedTask[] = await a.tasks(2);
    const theirs: LeasedTask[] = await b.tasks(2);
    // Each stream's tokens have a prefix of their own: one's tokens do not give away another's.
    expect(new Set(mine.map((t) => prefixOf(t.leaseToken))).size).toBe(1);
    expect(prefixOf(mine[0]!.leaseToken)).not.toBe(prefixOf(theirs[0]!.leaseToken));

    // B reports A's tasks: with A's own tokens, and with tokens made from B's prefix.
    const ownPrefix = prefixOf(theirs[0]!.leaseToken);
    const forged = [
      ...mine.map((t) => success(t.taskId, t.leaseToken)),
      ...mine.map((t) => fatal(t.taskId, t.leaseToken)),
      ...mine.flatMap((t) => [1, 2, 3].map((n) => success(t.taskId, `${ownPrefix}.${n}`))),
    ];
    expect(await report(b, forged)).toEqual(new Array(forged.length).fill(ResultStatus.STALE));

    // A's tasks were untouched: still leased to A, whose results are accepted.
    for (const t of mine) {
      expect((await ts.grpc.getTask({ id: t.taskId })).task!.state).not.toBe(TaskState.SUCCEEDED);
    }
    expect(await report(a, mine.map((t) => success(t.taskId, t.leaseToken)))).toEqual([ResultStatus.ACCEPTED, ResultStatus.ACCEPTED]);
    for (const t of mine) {
      const done = await waitForState(ts.grpc, t.taskId, TaskState.SUCCEEDED);
      expect(done.attempt).toBe(1);
      expect(done.workerId).toBe("worker-a");
    }
    // B's own results still count.
    expect(await report(b, theirs.map((t) => success(t.taskId, t.leaseToken)))).toEqual([ResultStatus.ACCEPTED, ResultStatus.ACCEPTED]);
  });

  it("has a task run again when its holder's result is found stale because an earlier try of the fence ran (its reply lost)", async () => {
    const queue = uniqueQueue("fence-resent");
    const w = new RawWorker(ts.grpcAddress);
    workers.push(w);
    w.send({ case: "hello", value: { workerId: "worker-a", queues: [queue], capacity: 10 } });
    const welcome = (await w.next((m) => m.message.case === "welcome", "welcome")).message;
    if (welcome.case !== "welcome") throw new Error("no welcome");
    await w.sendAndSync({ case: "credit", value: { credits: 1 } });
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    const [first] = await w.tasks(1);
    await waitForState(ts.grpc, task!.id, TaskState.RUNNING);
    // The fencing script runs for this lease, as in a try whose reply a failover lost: Redis
    // shows the task finished by this server, Postgres never hears of it. The Redis client then
    // sends the same call again, which is what the worker's result does here: it is stale.
    const redis = connectDispatchRedis(ts);
    try {
      const store = new QueueStore({ redis, prefix: ts.redisPrefix, serverId: welcome.value.serverId });
      const fenced = await store.complete([{ id: task!.id, queue, sessionId: welcome.value.sessionId, leaseToken: first!.leaseToken, how: "succeeded" }]);
      expect(fenced[0]).not.toBeNull();
    } finally {
      redis.disconnect();
    }
    expect(await report(w, [success(first!.taskId, first!.leaseToken)])).toEqual([ResultStatus.STALE]);
    // Recovery looks at it: the outcome is lost, so the task runs again rather than staying RUNNING.
    await w.sendAndSync({ case: "credit", value: { credits: 1 } });
    const [second] = await w.tasks(2).then((tasks) => tasks.slice(1));
    expect(second!.taskId).toBe(task!.id);
    expect(second!.attempt).toBe(2);
    expect(await report(w, [success(second!.taskId, second!.leaseToken)])).toEqual([ResultStatus.ACCEPTED]);
    const done = await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
    expect(done.attempt).toBe(2);
  });

  it("ignores progress from a stream that does not hold the task", async () => {
    const queue = uniqueQueue("fence-progress");
    const a = await connected(queue, "worker-a");
    const b = await connected(queue, "worker-b");
    await a.sendAndSync({ case: "credit", value: { credits: 1 } });
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    const [leased] = await a.tasks(1);
    const progressMessage = async () => (await ts.grpc.getTask({ id: task!.id })).task!.progress?.message;
    // Progress is recorded for tasks Postgres shows RUNNING.
    await waitForState(ts.grpc, task!.id, TaskState.RUNNING);
    await a.sendAndSync({ case: "progress", value: { taskId: task!.id, leaseToken: leased!.leaseToken, percent: 40, message: "real" } });
    await waitFor(async () => (await progressMessage()) === "real", { timeoutMs: 10_000, message: "A's progress to be recorded" });
    await b.sendAndSync({ case: "progress", value: { taskId: task!.id, leaseToken: leased!.leaseToken, percent: 90, message: "forged" } });
    // A progress write for the task would be committed no later than the result behind it.
    await report(a, [success(leased!.taskId, leased!.leaseToken)]);
    expect(await progressMessage()).toBe("real");
  });
});
