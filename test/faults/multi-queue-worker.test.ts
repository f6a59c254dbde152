import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultStack } from "../support/fault-stack.js";
import { checkInvariants } from "../support/invariants.js";
import { echoTask, TaskLedger } from "../support/ledger.js";
import type { ServerProcess } from "../support/processes.js";
import { uniqueQueue } from "../support/test-server.js";

// Found by the Postgres restart test, whose workers first served one queue per variant.
let stack: FaultStack;
let server: ServerProcess;

beforeAll(async () => {
  stack = await FaultStack.create();
  server = await stack.startServer();
});

afterAll(async () => {
  await stack?.close();
});

describe("a worker process serving two queues, the first of them empty", () => {
  // Was a bug: the empty queue's lease pass held all of the session's credit during its
  // Redis round trip, so the second queue's pass, started in the same tick, found none and
  // ended, and the backstop poll woke them in the same order: the second queue starved.
  it("gets every task of the second queue", async () => {
    const idle = uniqueQueue("idle");
    const busy = uniqueQueue("busy");
    await stack.startWorker(server, { queues: [idle, busy], concurrency: 4 });
    const ledger = new TaskLedger();
    await ledger.submitBatch(stack.client(server), Array.from({ length: 40 }, () => echoTask(busy)));
    await stack.waitAllDone([busy], 40, 5_000);
    const report = await checkInvariants(stack.pool, ledger);
    expect(report.violations).toEqual([]);
    expect(report.extraExecutions).toBe(0);
  });
});
