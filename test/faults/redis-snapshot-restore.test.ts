import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/taskqueue/v1/task_pb.js";
import { ResultStatus } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { startRedisProcess, type RedisProcess } from "../../tools/local-services/redis-process.js";
import { FaultStack } from "../support/fault-stack.js";
import type { ServerProcess } from "../support/processes.js";
import { RawWorker } from "../support/raw-worker.js";
import { readAttempts } from "../support/task-db.js";
import { jsonPayload, waitForState } from "../support/tasks.js";
import { uniqueQueue } from "../support/test-server.js";

// A private Redis: this file restarts it from an older snapshot of itself.
let redis: RedisProcess;
let stack: FaultStack;
let server: ServerProcess;
const workers: RawWorker[] = [];
const queue = uniqueQueue("snapshot-restore");

beforeAll(async () => {
  redis = await startRedisProcess();
  stack = await FaultStack.create({ redisUrl: redis.url, serverEnv: { LEASE_DURATION_MS: "2000", REAPER_INTERVAL_MS: "200" } });
  server = await stack.startServer();
});

afterAll(async () => {
  for (const w of workers) w.close();
  await stack?.close();
  await redis?.stop();
});

function rawWorker(): RawWorker {
  const w = new RawWorker(server.grpcAddress);
  workers.push(w);
  return w;
}

/** The ids of the tasks a raw worker was leased. */
function leasedIds(worker: RawWorker): string[] {
  return worker.received.flatMap((m) => (m.message.case === "assignment" ? m.message.value.tasks.map((t) => t.taskId) : []));
}

describe("Redis restarted from a snapshot older than the last results", () => {
  it("does not run a task again whose lease the snapshot still holds but whose outcome Postgres has", async () => {
    const client = stack.client(server);
    const first = rawWorker();
    await first.hello([queue], "first-worker");
    const { task } = await client.submitTask({ queue, type: "echo", payloadData: jsonPayload("once") });
    first.send({ case: "credit", value: { credits: 1 } });
    const [leased] = await first.tasks(1);
    expect(leased!.taskId).toBe(task!.id);

    // The snapshot holds the lease; the result that ends it comes after.
    const direct = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      await direct.save();
    } finally {
      direct.disconnect();
    }
    first.send({ case: "results", value: { results: [{ taskId: task!.id, leaseToken: leased!.leaseToken, outcome: { case: "success", value: {} } }] } });
    const ack = await first.next((m) => m.message.case === "acks", "the result's ack");
    expect(ack.message.case === "acks" && ack.message.value.acks[0]!.status).toBe(ResultStatus.ACCEPTED);
    await waitForState(client, task!.id, TaskState.SUCCEEDED);
    first.close();
    await first.end();

    // Redis dies and comes back from the snapshot: the task is leased again there, to a
    // session that is gone, and its lease runs out. A second worker waits for work.
    const since = server.process.nextSeq;
    await redis.kill("SIGKILL");
    await redis.restart();
    const second = rawWorker();
    await second.hello([queue], "second-worker");
    second.send({ case: "credit", value: { credits: 5 } });
    const removed = await server.waitForLog(
      { msg: /expired leases of tasks Postgres has finished removed/ },
      { since, timeoutMs: 15_000 },
    );
    expect(removed.fields.count).toBe(1);

    // The queue still flows, and the finished task is not among what it hands out.
    const { task: later } = await client.submitTask({ queue, type: "echo", payloadData: jsonPayload("later") });
    await second.tasks(1);
    expect(leasedIds(second)).toEqual([later!.id]);
    expect(await readAttempts(stack.pool, task!.id)).toMatchObject([{ attempt: 1, outcome: "SUCCEEDED", worker_id: "first-worker" }]);
    expect((await client.getTask({ id: task!.id })).task).toMatchObject({ state: TaskState.SUCCEEDED, attempt: 1 });
  });
});
