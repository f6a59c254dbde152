import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultStack } from "../support/fault-stack.js";
import { checkInvariants, formatReport } from "../support/invariants.js";
import { echoTask, sleepTask, TaskLedger } from "../support/ledger.js";
import { WORKER_RESULT_NOT_ACCEPTED, type ServerProcess } from "../support/processes.js";
import { readAttemptsOfQueues, readTasks, stateCounts } from "../support/task-db.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";

const DRAIN_TIMEOUT_MS = 10_000;
const SLEEP_MS = 1_500;

let stack: FaultStack;
let server: ServerProcess;

beforeAll(async () => {
  stack = await FaultStack.create({ serverEnv: { DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS) } });
  server = await stack.startServer();
});

afterAll(async () => {
  await stack?.close();
});

/** Waits until `running` tasks run and `queued` wait in `queue`. */
async function waitForRunningAndQueued(queue: string, running: number, queued: number): Promise<void> {
  await waitFor(
    async () => {
      const counts = await stateCounts(stack.pool, [queue]);
      return (counts.RUNNING ?? 0) === running && (counts.QUEUED ?? 0) === queued;
    },
    { timeoutMs: 10_000, intervalMs: 10, message: `${running} running and ${queued} queued tasks` },
  );
}

describe("graceful drain", () => {
  it("server SIGTERM: running tasks finish and are recorded before it exits 0; nothing runs twice", async () => {
    const queue = uniqueQueue("server-drain");
    const client = stack.client(server);
    const ledger = new TaskLedger();
    const workers = await Promise.all([1, 2].map(() => stack.startWorker(server, { queues: [queue], concurrency: 4 })));
    const running = await ledger.submitBatch(client, Array.from({ length: 8 }, () => sleepTask(queue, SLEEP_MS)));
    const waiting = await ledger.submitBatch(client, Array.from({ length: 20 }, () => echoTask(queue)));
    await waitForRunningAndQueued(queue, 8, 20);

    const since = workers.map((w) => w.process.nextSeq);
    const sentAt = Date.now();
    await server.kill("SIGTERM", DRAIN_TIMEOUT_MS + 5_000);
    const exit = server.process.exitStatus;
    const drainMs = Date.now() - sentAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(drainMs).toBeLessThan(SLEEP_MS + 4_000);

    // Everything that ran was recorded before the exit; nothing new was handed out.
    const rows = new Map((await readTasks(stack.pool, [queue])).map((t) => [t.id, t]));
    for (const id of running) {
      expect(rows.get(id)).toMatchObject({ state: "SUCCEEDED", attempt: 1 });
    }
    for (const id of waiting) expect(rows.get(id)).toMatchObject({ state: "QUEUED", attempt: 0 });
    for (const [i, w] of workers.entries()) {
      await w.waitForLog({ msg: "server draining" }, { since: since[i], timeoutMs: 1_000 });
      expect(w.process.find({ msg: WORKER_RESULT_NOT_ACCEPTED }, since[i])).toEqual([]);
    }

    // The same workers come back once the server is up again, and run the rest once.
    await server.restart();
    await stack.waitAllDone([queue], ledger.expected.size, 20_000);
    const report = await checkInvariants(stack.pool, ledger);
    console.log(`server SIGTERM: drained and exited in ${drainMs} ms; ${formatReport(report)}`);
    expect(report.violations).toEqual([]);
    expect(report.states).toEqual({ SUCCEEDED: 28 });
    expect(report.attempts).toBe(28);
    expect(report.extraExecutions).toBe(0);
    expect(workers.every((w) => w.process.pids.length === 1 && w.process.exitStatus === undefined)).toBe(true);
    await Promise.all(workers.map((w) => w.stop()));
  });

  it("worker SIGTERM: it finishes what it holds, exits 0, and those tasks succeed with one attempt", async () => {
    const queue = uniqueQueue("worker-drain");
    const client = stack.client(server);
    const ledger = new TaskLedger();
    const worker = await stack.startWorker(server, { queues: [queue], concurrency: 3 });
    const held = await ledger.submitBatch(client, Array.from({ length: 3 }, () => sleepTask(queue, SLEEP_MS)));
    const waiting = await ledger.submitBatch(client, Array.from({ length: 5 }, () => echoTask(queue)));
    await waitForRunningAndQueued(queue, 3, 5);

    const sentAt = Date.now();
    await worker.kill("SIGTERM", 15_000);
    const stopMs = Date.now() - sentAt;
    expect(worker.process.exitStatus).toEqual({ code: 0, signal: null });
    const rows = new Map((await readTasks(stack.pool, [queue])).map((t) => [t.id, t]));
    for (const id of held) {
      expect(rows.get(id)).toMatchObject({ state: "SUCCEEDED", attempt: 1 });
      expect(worker.owns(rows.get(id)!.worker_id)).toBe(true);
    }
    for (const id of waiting) expect(rows.get(id)).toMatchObject({ state: "QUEUED", attempt: 0 });
    expect(worker.process.find({ msg: WORKER_RESULT_NOT_ACCEPTED })).toEqual([]);

    await stack.startWorker(server, { queues: [queue], concurrency: 3 });
    await stack.waitAllDone([queue], ledger.expected.size, 10_000);
    const report = await checkInvariants(stack.pool, ledger);
    console.log(`worker SIGTERM: stopped in ${stopMs} ms; ${formatReport(report)}`);
    expect(report.violations).toEqual([]);
    expect(report.extraExecutions).toBe(0);
    const attempts = await readAttemptsOfQueues(stack.pool, [queue]);
    expect(attempts.filter((a) => held.includes(a.task_id)).map((a) => a.outcome)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
  });
});
