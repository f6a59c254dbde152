import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgresProcess, type PostgresProcess } from "../../tools/local-services/postgres-process.js";
import { startRedisProcess, type RedisProcess } from "../../tools/local-services/redis-process.js";
import { readTaskState } from "../../server/redis/task-key.js";
import { FaultStack } from "../support/fault-stack.js";
import { checkInvariants, formatReport } from "../support/invariants.js";
import { echoTask, sleepTask, TaskLedger } from "../support/ledger.js";
import type { ServerProcess } from "../support/processes.js";
import { stateCounts } from "../support/task-db.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";

const DRAIN_TIMEOUT_MS = 1_000;
/** Generous: the assertion is that the server exits by itself at all, not how fast. */
const EXIT_WITHIN_MS = DRAIN_TIMEOUT_MS + 10_000;

// A private Postgres and a private Redis: this file freezes the one and kills the other.
let postgres: PostgresProcess;
let redis: RedisProcess;
let stack: FaultStack;

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgresProcess({ fsync: false }), startRedisProcess()]);
  stack = await FaultStack.create({
    databaseUrl: postgres.url,
    redisUrl: redis.url,
    serverEnv: { DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS), RECOVERY_INTERVAL_MS: "500", REAPER_INTERVAL_MS: "200" },
  });
});

afterAll(async () => {
  await postgres?.kill("SIGCONT").catch(() => undefined);
  await stack?.close();
  await Promise.allSettled([postgres?.stop(), redis?.stop()]);
});

/** Waits until Postgres shows `running` tasks of `queue` running. */
async function waitForRunning(queue: string, running: number): Promise<void> {
  await waitFor(async () => ((await stateCounts(stack.pool, [queue])).RUNNING ?? 0) === running, {
    timeoutMs: 15_000,
    message: `${running} tasks of ${queue} to be recorded running`,
  });
}

/** SIGTERM; resolves with how the process ended, failing if it does not end by itself in time. */
async function terminate(server: ServerProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const sentAt = Date.now();
  const exit = await server.kill("SIGTERM", EXIT_WITHIN_MS);
  console.log(`server exited ${JSON.stringify(exit)} ${Date.now() - sentAt} ms after SIGTERM (DRAIN_TIMEOUT_MS ${DRAIN_TIMEOUT_MS})`);
  return exit!;
}

describe("shutdown is bounded by DRAIN_TIMEOUT_MS whatever the dependencies do", () => {
  it("Postgres frozen (SIGSTOP) with results waiting to be recorded: SIGTERM exits; after the thaw and a restart nothing acknowledged is lost", async () => {
    const queue = uniqueQueue("shutdown-pg-frozen");
    const server = await stack.startServer();
    const client = stack.client(server);
    const ledger = new TaskLedger();
    const worker = await stack.startWorker(server, { queues: [queue], concurrency: 4 });
    // Two tasks outlast the drain; the echoes fall due once Postgres is frozen: their results
    // are fenced in Redis and wait for a commit that cannot happen.
    await ledger.submitBatch(client, [sleepTask(queue, 4_000), sleepTask(queue, 4_000)]);
    await waitForRunning(queue, 2);
    const runAt = timestampFromMs(Date.now() + 1_500);
    const due = await ledger.submitBatch(
      client,
      Array.from({ length: 10 }, () => {
        const planned = echoTask(queue);
        return { ...planned, request: { ...planned.request, runAt } };
      }),
    );
    await postgres.kill("SIGSTOP");
    const probe = new Redis(stack.redisUrl);
    try {
      await waitFor(async () => (await Promise.all(due.map((id) => readTaskState(probe, stack.redisPrefix, queue, id)))).includes("done"), {
        timeoutMs: 10_000,
        message: "a result fenced in Redis while Postgres is frozen",
      });
    } finally {
      probe.disconnect();
    }

    const exit = await terminate(server);
    expect(exit.signal).toBeNull();

    await postgres.kill("SIGCONT");
    await server.restart();
    await stack.waitAllDone([queue], ledger.expected.size, 30_000);
    const report = await checkInvariants(stack.pool, ledger);
    console.log(`postgres frozen at SIGTERM: ${formatReport(report)}`);
    expect(report.violations).toEqual([]);
    await worker.stop();
    await server.stop();
  });

  it("Redis killed: SIGTERM exits; after Redis and the server restart nothing acknowledged is lost", async () => {
    const queue = uniqueQueue("shutdown-redis-down");
    const server = await stack.startServer();
    const client = stack.client(server);
    const ledger = new TaskLedger();
    const worker = await stack.startWorker(server, { queues: [queue], concurrency: 2 });
    await ledger.submitBatch(client, [sleepTask(queue, 4_000), sleepTask(queue, 4_000)]);
    await ledger.submitBatch(client, Array.from({ length: 10 }, () => echoTask(queue)));
    await waitForRunning(queue, 2);

    await redis.kill("SIGKILL");
    const exit = await terminate(server);
    expect(exit.signal).toBeNull();

    // Redis comes back empty: the restarted server rebuilds the dispatch state from Postgres.
    await redis.restart();
    await server.restart();
    await stack.waitAllDone([queue], ledger.expected.size, 30_000);
    const report = await checkInvariants(stack.pool, ledger);
    console.log(`redis killed at SIGTERM: ${formatReport(report)}`);
    expect(report.violations).toEqual([]);
    await worker.stop();
    await server.stop();
  });
});
