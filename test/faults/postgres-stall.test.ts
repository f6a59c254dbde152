import { DispatchKeys } from "../../server/redis/keys.js";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgresProcess, type PostgresProcess } from "../../tools/local-services/postgres-process.js";
import { FaultStack } from "../support/fault-stack.js";
import { checkInvariants, formatReport } from "../support/invariants.js";
import { echoTask, TaskLedger } from "../support/ledger.js";
import type { ServerProcess } from "../support/processes.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { RECORDING_BATCHES_IN_FLIGHT } from "../../server/engine/result-recorder.js";
import { readTaskState } from "../../server/redis/task-key.js";

const CONCURRENCY = 4;
const RECORDING_BATCHES = RECORDING_BATCHES_IN_FLIGHT;

// A private Postgres: this file freezes it.
let postgres: PostgresProcess;
let stack: FaultStack;
let server: ServerProcess;

beforeAll(async () => {
  postgres = await startPostgresProcess({ fsync: false });
  stack = await FaultStack.create({ databaseUrl: postgres.url });
  server = await stack.startServer();
});

afterAll(async () => {
  await postgres?.kill("SIGCONT").catch(() => undefined);
  await stack?.close();
  await postgres?.stop();
});

describe("Postgres frozen (SIGSTOP) while a worker runs tasks, then the worker killed", () => {
  // Was a bug: the worker returns a slot's credit as soon as its handler returns, not when
  // the result is acknowledged, and the server granted leases on that credit while the
  // results waited to be recorded. With recording stalled (here Postgres; in the soak, lock
  // waits of concurrent group commits) a worker of concurrency 4 ended up holding every
  // queued task (184 of 200), and a crash then re-ran all of them. Now a task counts
  // against the capacity until Redis has ended its lease: a fenced result frees its slot
  // (the worker no longer runs the task), but at most RECORDING_BATCHES batches wait on
  // Postgres at once and nothing more is fenced meanwhile, so the worker never runs more
  // than its capacity at a time nor drains the queue.
  it(`keeps the worker within its capacity (${CONCURRENCY}) while results wait; a crash re-runs at most that many`, async () => {
    const queue = uniqueQueue("pg-stall");
    const client = stack.client(server);
    const ledger = new TaskLedger();
    // Queued first, then Postgres frozen, then the worker: all its work happens during the stall.
    const ids = await ledger.submitBatch(client, Array.from({ length: 200 }, () => echoTask(queue)));
    await postgres.kill("SIGSTOP");
    const worker = await stack.startWorker(server, { queues: [queue], concurrency: CONCURRENCY });

    const redis = new Redis(stack.redisUrl);
    let held: number;
    let running: number;
    let waiting: number;
    try {
      // The worker's results are fenced in Redis; their commit waits for Postgres.
      const states = async () => Promise.all(ids.map((id) => readTaskState(redis, stack.redisPrefix, queue, id)));
      // More than CONCURRENCY fenced results: fenced ones freed their room for new tasks.
      await waitFor(async () => (await states()).filter((st) => st === "done").length > CONCURRENCY, {
        timeoutMs: 10_000,
        intervalMs: 20,
        message: `more than ${CONCURRENCY} results to be fenced while Postgres is frozen`,
      });
      const now = await states();
      running = now.filter((st) => st === "running").length;
      held = running + now.filter((st) => st === "done").length;
      waiting = await redis.zcard(new DispatchKeys(stack.redisPrefix).queue(queue).ready("echo"));
    } finally {
      redis.disconnect();
    }
    await worker.kill("SIGKILL");
    await postgres.kill("SIGCONT");
    await stack.startWorker(server, { queues: [queue], concurrency: CONCURRENCY });
    await stack.waitAllDone([queue], ledger.expected.size, 20_000);
    const report = await checkInvariants(stack.pool, ledger);
    console.log(
      `postgres SIGSTOP: worker of concurrency ${CONCURRENCY} held ${held} tasks (${running} running, the rest answered, unrecorded), ` +
        `${waiting} still queued; ${formatReport(report)}`,
    );
    expect(report.violations).toEqual([]);
    expect(running).toBeLessThanOrEqual(CONCURRENCY);
    expect(held).toBeLessThanOrEqual(CONCURRENCY * (RECORDING_BATCHES + 1));
    expect(waiting).toBeGreaterThanOrEqual(200 - CONCURRENCY * (RECORDING_BATCHES + 1));
    expect(report.extraExecutions).toBeLessThanOrEqual(CONCURRENCY);
  });
});
