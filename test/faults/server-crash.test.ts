import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgresProcess, type PostgresProcess } from "../../tools/local-services/postgres-process.js";
import { connectDispatchRedis } from "../support/dispatch-state.js";
import { FaultStack } from "../support/fault-stack.js";
import { checkInvariants, formatReport } from "../support/invariants.js";
import { echoTask, failTask, sleepTask, TaskLedger } from "../support/ledger.js";
import type { ServerProcess, WorkerProcess } from "../support/processes.js";
import { readTasks, stateCounts } from "../support/task-db.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { readTaskState } from "../../server/redis/task-key.js";

/**
 * Leases of the dead server's streams are ended by the restarted server's reaper when they
 * expire (nobody is left to release them at once), so the lease is short.
 */
const LEASE_MS = 2_000;

// A private Postgres: one test freezes it.
let postgres: PostgresProcess;
let stack: FaultStack;
let server: ServerProcess;
let workers: WorkerProcess[];
const queue = uniqueQueue("server-kill");

beforeAll(async () => {
  postgres = await startPostgresProcess({ fsync: false });
  stack = await FaultStack.create({
    databaseUrl: postgres.url,
    serverEnv: { LEASE_DURATION_MS: String(LEASE_MS), REAPER_INTERVAL_MS: "200", RECOVERY_INTERVAL_MS: "500" },
  });
  server = await stack.startServer();
  workers = await Promise.all([1, 2].map(() => stack.startWorker(server, { queues: [queue], concurrency: 4 })));
});

afterAll(async () => {
  await stack?.close();
  await postgres?.stop();
});

/** Kills the server, restarts it on the same ports and waits for every worker's next session. */
async function crashAndRestart(): Promise<{ restartMs: number; reconnectMs: number }> {
  const sessionsBefore = workers.map((w) => w.sessionsOpened());
  const killedAt = Date.now();
  await server.kill("SIGKILL");
  await server.restart();
  const listeningAt = Date.now();
  await Promise.all(
    workers.map((w, i) =>
      waitFor(() => w.sessionsOpened() > sessionsBefore[i]!, {
        timeoutMs: 15_000,
        intervalMs: 20,
        message: `worker ${i + 1} to reconnect by itself`,
      }),
    ),
  );
  return { restartMs: listeningAt - killedAt, reconnectMs: Date.now() - listeningAt };
}

describe("the server process killed (SIGKILL)", () => {
  it("with tasks queued and running: restarts on the same ports, the same workers reconnect, every task finishes", async () => {
    const client = stack.client(server);
    const ledger = new TaskLedger();
    const pids = workers.map((w) => w.pid);
    // Eight long sleeps fill both workers' slots; the rest waits queued behind them.
    await ledger.submitBatch(client, Array.from({ length: 8 }, () => sleepTask(queue, 3_000)));
    await ledger.submitBatch(client, [
      ...Array.from({ length: 60 }, () => echoTask(queue)),
      ...Array.from({ length: 16 }, () => failTask(queue, 1)),
    ]);
    const before = await waitFor(
      async () => {
        const counts = await stateCounts(stack.pool, [queue]);
        return counts.RUNNING === 8 && counts.QUEUED === 76 ? counts : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 10, message: "8 sleeps running, 76 tasks queued" },
    );

    const killedAt = Date.now();
    const { restartMs, reconnectMs } = await crashAndRestart();
    // Submitted after the restart: served by the reconnected workers too.
    await ledger.submitBatch(client, Array.from({ length: 20 }, () => echoTask(queue)));

    const final = await stack.waitAllDone([queue], ledger.expected.size, 30_000);
    console.log(
      `server SIGKILL: before ${JSON.stringify(before)}; restart ${restartMs} ms, workers back ${reconnectMs} ms ` +
        `after it listened, all done ${Date.now() - killedAt} ms after the kill`,
    );
    expect(workers.map((w) => w.pid)).toEqual(pids);
    expect(workers.every((w) => w.process.pids.length === 1)).toBe(true);
    expect(final).toEqual({ SUCCEEDED: ledger.expected.size });
    const report = await checkInvariants(stack.pool, ledger);
    console.log(`server SIGKILL: ${formatReport(report)}`);
    expect(report.violations).toEqual([]);
    // Only the eight sleeps lost an attempt with the server.
    expect(report.extraExecutions).toBe(8);
    expect(report.maxExtraExecutions).toBe(1);
  });

  // A result fenced in Redis (task hash "done") whose Postgres write had not committed when
  // the server died: the hash names the server writing it; once that server's liveness key
  // expires, recovery runs the task again (at-least-once), rather than leaving it unfinished.
  it("with results fenced in Redis but not yet in Postgres: those tasks still finish", async () => {
    const client = stack.client(server);
    const ledger = new TaskLedger();
    const ids = await ledger.submitBatch(client, Array.from({ length: 4 }, () => sleepTask(queue, 500)));
    await waitFor(async () => (await readTasks(stack.pool, [queue])).filter((t) => ids.includes(t.id) && t.state === "RUNNING").length === 4, {
      timeoutMs: 10_000,
      intervalMs: 10,
      message: "the four sleeps to run",
    });
    // Postgres stalls: the results are fenced in Redis, their commit waits.
    await postgres.kill("SIGSTOP");
    const redis = connectDispatchRedis(stack);
    try {
      await waitFor(
        async () => (await Promise.all(ids.map((id) => readTaskState(redis, stack.redisPrefix, queue, id)))).every((st) => st === "done"),
        { timeoutMs: 10_000, intervalMs: 20, message: "Redis to record the four results" },
      );
    } finally {
      redis.disconnect();
    }
    await server.kill("SIGKILL");
    await postgres.kill("SIGCONT");
    await crashAndRestart();
    await stack.waitAllDone([queue], 4, 10_000);
    const report = await checkInvariants(stack.pool, ledger);
    expect(report.violations).toEqual([]);
  });
});
