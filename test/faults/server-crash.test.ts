import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultStack } from "../support/fault-stack.js";
import { checkInvariants, formatReport } from "../support/invariants.js";
import { echoTask, failTask, sleepTask, TaskLedger } from "../support/ledger.js";
import type { ServerProcess } from "../support/processes.js";
import { stateCounts, waitUntilAllTerminal } from "../support/task-db.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";

/**
 * Leases of the dead server's streams are ended by the restarted server's reaper when they
 * expire (nobody is left to release them at once), so the lease is short.
 */
const LEASE_MS = 2_000;

let stack: FaultStack;
let server: ServerProcess;

beforeAll(async () => {
  stack = await FaultStack.create({ serverEnv: { LEASE_DURATION_MS: String(LEASE_MS), REAPER_INTERVAL_MS: "200" } });
  server = await stack.startServer();
});

afterAll(async () => {
  await stack?.close();
});

describe("the server process killed (SIGKILL) with tasks queued and running", () => {
  it("restarts on the same ports; the same worker processes reconnect and every task finishes", async () => {
    const queue = uniqueQueue("server-kill");
    const client = stack.client(server);
    const ledger = new TaskLedger();
    const workers = await Promise.all([1, 2].map(() => stack.startWorker(server, { queues: [queue], concurrency: 4 })));
    const pids = workers.map((w) => w.pid);

    await ledger.submitBatch(client, [
      ...Array.from({ length: 24 }, () => sleepTask(queue, 400)),
      ...Array.from({ length: 60 }, () => echoTask(queue)),
      ...Array.from({ length: 16 }, () => failTask(queue, 1)),
    ]);
    const before = await waitFor(
      async () => {
        const counts = await stateCounts(stack.pool, [queue]);
        return (counts.RUNNING ?? 0) >= 4 && (counts.QUEUED ?? 0) >= 10 ? counts : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 10, message: "tasks both running and queued" },
    );

    const sessionsBefore = workers.map((w) => w.sessionsOpened());
    await server.kill("SIGKILL");
    const killedAt = Date.now();
    await server.restart();
    const listeningAt = Date.now();
    await Promise.all(workers.map((w, i) => waitFor(() => w.sessionsOpened() > sessionsBefore[i]!, {
      timeoutMs: 15_000,
      intervalMs: 20,
      message: `worker ${i + 1} to reconnect by itself`,
    })));
    const reconnectedAt = Date.now();
    // Submitted after the restart: served by the reconnected workers too.
    await ledger.submitBatch(client, Array.from({ length: 20 }, () => echoTask(queue)));

    const final = await waitUntilAllTerminal(stack.pool, [queue], { expected: ledger.expected.size, timeoutMs: 20_000 });
    const doneAt = Date.now();
    console.log(
      `server SIGKILL: states before ${JSON.stringify(before)}; restart took ${listeningAt - killedAt} ms, ` +
        `workers back ${reconnectedAt - listeningAt} ms after it listened, all done ${doneAt - killedAt} ms after the kill`,
    );
    expect(workers.map((w) => w.pid)).toEqual(pids);
    expect(workers.every((w) => w.process.pids.length === 1)).toBe(true);
    expect(final).toEqual({ SUCCEEDED: ledger.expected.size });
    const report = await checkInvariants(stack.pool, ledger);
    console.log(`server SIGKILL: ${formatReport(report)}`);
    expect(report.violations).toEqual([]);
    expect(report.maxExtraExecutions).toBeLessThanOrEqual(1);
  });
});
