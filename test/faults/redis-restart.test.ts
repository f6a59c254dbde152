import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisProcess, type RedisProcess } from "../../tools/local-services/redis-process.js";
import { FaultStack } from "../support/fault-stack.js";
import { checkInvariants, formatReport } from "../support/invariants.js";
import { echoTask, failTask, sleepTask, TaskLedger } from "../support/ledger.js";
import type { ServerProcess, WorkerProcess } from "../support/processes.js";
import { stateCounts } from "../support/task-db.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";

/** The epoch-marker check (and so the detection of a Redis that lost its data) runs this often. */
const RECOVERY_MS = 500;

// A private Redis: this file restarts it empty.
let redis: RedisProcess;
let stack: FaultStack;
let server: ServerProcess;
let workers: WorkerProcess[];
const queue = uniqueQueue("redis-restart");

beforeAll(async () => {
  redis = await startRedisProcess();
  stack = await FaultStack.create({
    redisUrl: redis.url,
    serverEnv: { RECOVERY_INTERVAL_MS: String(RECOVERY_MS), LEASE_DURATION_MS: "3000", REAPER_INTERVAL_MS: "200" },
  });
  server = await stack.startServer();
  workers = await Promise.all([1, 2].map(() => stack.startWorker(server, { queues: [queue], concurrency: 4 })));
});

afterAll(async () => {
  await stack?.close();
  await redis?.stop();
});

describe("Redis killed (SIGKILL) and restarted empty", () => {
  it("with tasks queued and running: the server rebuilds the dispatch state from Postgres and every task finishes", async () => {
    const client = stack.client(server);
    const ledger = new TaskLedger();
    await ledger.submitBatch(client, Array.from({ length: 8 }, () => sleepTask(queue, 1_500)));
    await ledger.submitBatch(client, [
      ...Array.from({ length: 60 }, () => echoTask(queue)),
      ...Array.from({ length: 16 }, () => failTask(queue, 1)),
    ]);
    const before = await waitForCounts((c) => c.RUNNING === 8 && c.QUEUED === 76);

    const since = server.process.nextSeq;
    await redis.kill("SIGKILL");
    await redis.restart();
    const restartedAt = Date.now();
    const sweep = await server.waitForLog(
      { msg: "recovery sweep done", where: (e) => e.fields.full === true },
      { since, timeoutMs: 10_000 },
    );
    const detectionMs = sweep.receivedAt - restartedAt;
    // Submitted after the loss: enqueued in the new Redis as usual.
    await ledger.submitBatch(client, Array.from({ length: 20 }, () => echoTask(queue)));

    const final = await stack.waitAllDone([queue], ledger.expected.size, 30_000);
    console.log(
      `redis restart: before ${JSON.stringify(before)}; full recovery sweep ${detectionMs} ms after the restart ` +
        `(restored ${String(sweep.fields.restored)}), all done ${Date.now() - restartedAt} ms after it`,
    );
    expect(detectionMs).toBeLessThan(RECOVERY_MS * 2 + 2_000);
    expect(final).toEqual({ SUCCEEDED: ledger.expected.size });
    const report = await checkInvariants(stack.pool, ledger);
    console.log(`redis restart: ${formatReport(report)}`);
    expect(report.violations).toEqual([]);
    expect(report.maxExtraExecutions).toBeLessThanOrEqual(1);
    expect(workers.every((w) => w.process.pids.length === 1 && w.process.exitStatus === undefined)).toBe(true);
  });
});

async function waitForCounts(done: (counts: Record<string, number>) => boolean): Promise<Record<string, number>> {
  return waitFor(
    async () => {
      const counts = await stateCounts(stack.pool, [queue]);
      return done(counts) ? counts : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 10, message: "tasks both running and queued" },
  );
}
