import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultStack } from "../support/fault-stack.js";
import { checkInvariants, formatReport } from "../support/invariants.js";
import { echoTask, sleepTask, TaskLedger } from "../support/ledger.js";
import type { ServerProcess } from "../support/processes.js";
import { readAttempts, readTasks, waitUntilAllTerminal } from "../support/task-db.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";

/** Far longer than the detection asserted below: only the closed stream can explain a fast requeue. */
const LEASE_MS = 15_000;

let stack: FaultStack;
let server: ServerProcess;

beforeAll(async () => {
  stack = await FaultStack.create({ serverEnv: { LEASE_DURATION_MS: String(LEASE_MS) } });
  server = await stack.startServer();
});

afterAll(async () => {
  await stack?.close();
});

describe("a worker process killed (SIGKILL) mid-task", () => {
  it("has its leases released at once; another worker finishes its tasks", async () => {
    const queue = uniqueQueue("worker-kill");
    const client = stack.client(server);
    const ledger = new TaskLedger();
    const victim = await stack.startWorker(server, { queues: [queue], concurrency: 3 });
    const held = await ledger.submitBatch(client, [1, 2, 3].map(() => sleepTask(queue, 2_000)));
    await waitFor(
      async () => (await readTasks(stack.pool, [queue])).filter((t) => t.state === "RUNNING" && victim.owns(t.worker_id)).length === 3,
      { timeoutMs: 10_000, intervalMs: 20, message: "the victim to run all three sleep tasks" },
    );
    const rescuer = await stack.startWorker(server, { queues: [queue], concurrency: 4 });

    const killedAt = Date.now();
    await victim.kill("SIGKILL");
    // Work submitted after the crash goes to the survivor too.
    await ledger.submitBatch(client, Array.from({ length: 20 }, () => echoTask(queue)));

    const retried = await waitFor(
      async () => {
        const seconds = await Promise.all(held.map(async (id) => (await readAttempts(stack.pool, id)).find((a) => a.attempt === 2)));
        return seconds.every((a) => a !== undefined) ? seconds : undefined;
      },
      // Well inside the lease: the closed stream released them, not the lease's expiry.
      { timeoutMs: LEASE_MS / 2, intervalMs: 20, message: "the killed worker's tasks to start again" },
    );
    const detectionMs = Math.max(...retried.map((a) => a!.started_at.getTime())) - killedAt;
    console.log(`worker SIGKILL: tasks re-dispatched ${detectionMs} ms after the kill (lease ${LEASE_MS} ms)`);
    expect(detectionMs).toBeLessThan(LEASE_MS / 2);

    await waitUntilAllTerminal(stack.pool, [queue], { expected: ledger.expected.size, timeoutMs: 15_000 });
    for (const id of held) {
      const attempts = await readAttempts(stack.pool, id);
      expect(attempts.map((a) => a.outcome)).toEqual(["WORKER_LOST", "SUCCEEDED"]);
      expect(victim.owns(attempts[0]!.worker_id)).toBe(true);
      expect(rescuer.owns(attempts[1]!.worker_id)).toBe(true);
    }
    const report = await checkInvariants(stack.pool, ledger);
    console.log(`worker SIGKILL: ${formatReport(report)}`);
    expect(report.violations).toEqual([]);
    expect(report.states).toEqual({ SUCCEEDED: 23 });
    expect(report.extraExecutions).toBe(3);
  });
});
