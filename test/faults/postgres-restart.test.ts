import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgresProcess, type PostgresProcess } from "../../tools/local-services/postgres-process.js";
import { FaultStack } from "../support/fault-stack.js";
import { checkInvariants, formatReport } from "../support/invariants.js";
import { echoTask, failTask, sleepTask, TaskLedger } from "../support/ledger.js";
import type { ServerProcess } from "../support/processes.js";
import { stateCounts } from "../support/task-db.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { readTaskState } from "../../server/redis/task-key.js";

/** A refused submit must come back at least this fast while Postgres is down. */
const UNAVAILABLE_WITHIN_MS = 3_000;

// A private Postgres: this file kills and restarts it.
let postgres: PostgresProcess;
let stack: FaultStack;
let server: ServerProcess;

beforeAll(async () => {
  postgres = await startPostgresProcess({ fsync: false });
  stack = await FaultStack.create({ databaseUrl: postgres.url, serverEnv: { LEASE_DURATION_MS: "3000" } });
  server = await stack.startServer();
});

afterAll(async () => {
  await stack?.close();
  await postgres?.stop();
});

/** Submits one task and returns how it was refused and how long that took. */
async function refusedSubmit(queue: string): Promise<{ code: Code | undefined; ms: number }> {
  const started = Date.now();
  try {
    await stack.client(server).submitTask(echoTask(queue).request);
    return { code: undefined, ms: Date.now() - started };
  } catch (error) {
    return { code: ConnectError.from(error).code, ms: Date.now() - started };
  }
}

describe.each(["SIGKILL", "SIGINT"] as const)("Postgres stopped with %s, then restarted", (signal) => {
  it("refuses submits with UNAVAILABLE while down; every task acknowledged before or after finishes", async () => {
    const queue = uniqueQueue(`pg-${signal}`);
    const workers = await Promise.all([1, 2].map(() => stack.startWorker(server, { queues: [queue], concurrency: 4 })));
    const client = stack.client(server);
    const ledger = new TaskLedger();
    const sleeps = await ledger.submitBatch(client, Array.from({ length: 8 }, () => sleepTask(queue, 1_000)));
    await ledger.submitBatch(client, [
      ...Array.from({ length: 40 }, () => echoTask(queue)),
      ...Array.from({ length: 8 }, () => failTask(queue, 1)),
    ]);
    await waitFor(async () => ((await stateCounts(stack.pool, [queue])).RUNNING ?? 0) >= 4, {
      timeoutMs: 10_000,
      intervalMs: 10,
      message: "sleeps to run",
    });

    await postgres.kill(signal);
    const downAt = Date.now();
    const refusals = [await refusedSubmit(queue), await refusedSubmit(queue), await refusedSubmit(queue)];
    const batchRefusal = await client
      .submitTasks({ tasks: [echoTask(queue).request, echoTask(queue).request] })
      .then(() => undefined, (error: unknown) => ConnectError.from(error).code);
    // Meanwhile results are still fenced in Redis; their commit waits for Postgres.
    const redis = new Redis(stack.redisUrl);
    try {
      await waitFor(
        async () => (await Promise.all(sleeps.map((id) => readTaskState(redis, stack.redisPrefix, queue, id)))).some((st) => st === "done"),
        { timeoutMs: 10_000, intervalMs: 20, message: "sleep results to be fenced while Postgres is down" },
      );
    } finally {
      redis.disconnect();
    }
    await postgres.restart();
    const upAt = Date.now();
    await ledger.submitBatch(client, Array.from({ length: 20 }, () => echoTask(queue)));

    const final = await stack.waitAllDone([queue], ledger.expected.size, 30_000);
    console.log(
      `postgres ${signal}: submits refused in ${refusals.map((r) => r.ms).join("/")} ms; down ${upAt - downAt} ms; ` +
        `all done ${Date.now() - upAt} ms after the restart`,
    );
    for (const refusal of refusals) {
      expect(refusal.code).toBe(Code.Unavailable);
      expect(refusal.ms).toBeLessThan(UNAVAILABLE_WITHIN_MS);
    }
    expect(batchRefusal).toBe(Code.Unavailable);
    expect(final.SUCCEEDED).toBe(ledger.expected.size);
    const report = await checkInvariants(stack.pool, ledger);
    console.log(`postgres ${signal}: ${formatReport(report)}`);
    expect(report.violations).toEqual([]);
    // Refused submits wrote nothing.
    expect(report.unacknowledged).toBe(0);
    expect(report.extraExecutions).toBe(0);
    expect(workers.every((w) => w.process.exitStatus === undefined)).toBe(true);
    await Promise.all(workers.map((w) => w.stop()));
  });
});
