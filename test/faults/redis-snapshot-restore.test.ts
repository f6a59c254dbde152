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
import { waitFor } from "../support/wait-for.js";
import { createLogger } from "../../server/observability/logger.js";
import { createWorker, type Worker } from "../../worker/index.js";

// A private Redis: this file restarts it from an older snapshot of itself.

/** Redis is asked who it is every 1 s, and recovery allows 1 s for servers' clocks. */
const LEASE_AGE_BEFORE_RESTART_MS = 2_500;
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

/** Redis writes its snapshot (`SAVE`): what a restart brings back. */
async function snapshotRedis(): Promise<void> {
  const direct = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    await direct.save();
  } finally {
    direct.disconnect();
  }
}

/** An SDK worker of `on` on `queue` whose `echo` handler records each task it runs, the first held until `gate`. */
function recordingWorker(on: ServerProcess, queue: string, runs: string[], firstStarted: () => void, gate: Promise<void>): Worker {
  return createWorker({
    address: on.grpcAddress,
    queues: [queue],
    concurrency: 4,
    logger: createLogger({ level: "silent" }),
    handlers: {
      async echo(task) {
        runs.push(task.id);
        if (runs.length === 1) {
          firstStarted();
          await gate;
        }
        return task.payload;
      },
    },
  });
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
    await snapshotRedis();
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
    second.close();
  });

  it("forgets the lease the snapshot brought back while its worker is still connected, and runs the task no more", async () => {
    // Leases that outlast the restart: the one Redis brings back is still current, and the
    // connected worker's heartbeats would keep it so.
    const longLeases = await stack.startServer({ LEASE_DURATION_MS: "15000" });
    const client = stack.client(longLeases);
    const connectedQueue = uniqueQueue("snapshot-connected");
    const runs: string[] = [];
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => (firstStarted = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = recordingWorker(longLeases, connectedQueue, runs, firstStarted, gate);
    await first.start();
    let task: string;
    try {
      task = (await client.submitTask({ queue: connectedQueue, type: "echo", payloadData: jsonPayload("once") })).task!.id;
      await started;
      const leasedAt = Date.now();
      await snapshotRedis();
      release();
      await waitForState(client, task, TaskState.SUCCEEDED);
      // Recovery removes only leases granted before the last look at the old Redis, less 1 s
      // for servers' clocks (a lease granted after may come from the new one): the lease must
      // be that old when Redis restarts.
      await waitFor(() => Date.now() >= leasedAt + LEASE_AGE_BEFORE_RESTART_MS, { timeoutMs: 5_000, message: "the lease to be older than recovery's margin" });

      // Redis comes back from the snapshot: the task is leased again there, to the stream that
      // is still connected and whose heartbeats would keep that lease alive. The server sees a
      // new Redis process and recovers every queue from Postgres.
      const servers = [server, longLeases];
      const since = servers.map((s) => s.process.nextSeq);
      await redis.kill("SIGKILL");
      await redis.restart();
      await longLeases.waitForLog({ msg: /^redis restarted/ }, { since: since[1]!, timeoutMs: 15_000 });
      // Every server that notices sweeps (no lock): whichever gets there first removes the lease.
      const sweep = await Promise.any(
        servers.map((s, i) =>
          s.waitForLog({ msg: "recovery sweep done", where: (e) => Number(e.fields.forgotten) >= 1 }, { since: since[i]!, timeoutMs: 15_000 }),
        ),
      );
      expect(sweep.fields.full).toBe(true);
    } finally {
      release();
      // The stream ends: whatever Redis still leased to it would be put back now.
      await first.stop({ timeoutMs: 5_000 });
    }

    // Another worker drains the queue: the finished task is not among what it runs.
    const second = recordingWorker(longLeases, connectedQueue, runs, () => undefined, Promise.resolve());
    await second.start();
    try {
      const later = (await client.submitTask({ queue: connectedQueue, type: "echo", payloadData: jsonPayload("later") })).task!.id;
      await waitForState(client, later, TaskState.SUCCEEDED);
      expect(runs).toEqual([task, later]);
    } finally {
      await second.stop({ timeoutMs: 5_000 });
    }
    expect(await readAttempts(stack.pool, task)).toMatchObject([{ attempt: 1, outcome: "SUCCEEDED" }]);
  });
});
