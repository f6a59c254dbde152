import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultStack } from "../support/fault-stack.js";
import { checkInvariants, formatReport } from "../support/invariants.js";
import { echoTask, failTask, sleepTask, TaskLedger, type PlannedTask } from "../support/ledger.js";
import { WORKER_RESULT_NOT_ACCEPTED, type ServerProcess, type WorkerProcess } from "../support/processes.js";
import { readAttempts, readTask, type TaskRecord } from "../support/task-db.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";

/**
 * Timings: a frozen worker's lease must expire (LEASE_MS after its last heartbeat, plus up to
 * one reaper interval) and the task must finish elsewhere before the worker is thawed. The
 * thawed worker must still consider its stream alive (the SDK gives up after three silent
 * heartbeat intervals), or it would drop its result instead of sending it late: so the
 * heartbeat interval is set to 2/3 of the lease (3 intervals = 6 s > the ~4 s freeze), which
 * still leaves a healthy worker one second of slack per heartbeat.
 */
const LEASE_MS = 3_000;
const HEARTBEAT_MS = 2_000;
const REAPER_MS = 100;
/** Keeps the other worker busy while the frozen one is handed the task, then frees it before the lease ends. */
const BLOCKER_MS = 2_000;

let stack: FaultStack;
let server: ServerProcess;

beforeAll(async () => {
  stack = await FaultStack.create({
    serverEnv: {
      LEASE_DURATION_MS: String(LEASE_MS),
      HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
      REAPER_INTERVAL_MS: String(REAPER_MS),
    },
  });
  server = await stack.startServer();
});

afterAll(async () => {
  await stack?.close();
});

interface FrozenOutcome {
  ledger: TaskLedger;
  frozen: WorkerProcess;
  other: WorkerProcess;
  taskId: string;
  done: TaskRecord;
  redispatchMs: number;
}

/**
 * Two workers of concurrency 1: one is kept busy by a sleep task, so `planned` goes to the
 * other, which is frozen (SIGSTOP) before (`when: "before-delivery"`) or just after
 * (`"while-running"`) it receives the task. Resolves once the task SUCCEEDED elsewhere, then
 * thaws the frozen worker and waits for its late result to be refused as STALE.
 */
async function freezeScenario(when: "before-delivery" | "while-running", plan: (queue: string) => PlannedTask): Promise<FrozenOutcome> {
  const queue = uniqueQueue(`freeze-${when}`);
  const client = stack.client(server);
  const ledger = new TaskLedger();
  const workers = await Promise.all([1, 2].map(() => stack.startWorker(server, { queues: [queue], concurrency: 1 })));
  const blockerId = await ledger.submit(client, sleepTask(queue, BLOCKER_MS));
  const blocker = await waitFor(
    async () => {
      const row = await readTask(stack.pool, blockerId);
      return row?.state === "RUNNING" ? row : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 10, message: "the blocker to run" },
  );
  const other = workers.find((w) => w.owns(blocker.worker_id))!;
  const frozen = workers.find((w) => w !== other)!;

  // A task through the idle worker: it then has credit and has just heard from the server.
  const warmId = await ledger.submit(client, echoTask(queue));
  await waitFor(async () => (await readTask(stack.pool, warmId))?.state === "SUCCEEDED", {
    timeoutMs: 10_000,
    intervalMs: 10,
    message: "the warm-up task",
  });

  if (when === "before-delivery") await frozen.kill("SIGSTOP");
  const taskId = await ledger.submit(client, plan(queue));
  await waitFor(
    async () => {
      const row = await readTask(stack.pool, taskId);
      return row?.state === "RUNNING" && row.attempt === 1 && frozen.owns(row.worker_id);
    },
    { timeoutMs: 5_000, intervalMs: 10, message: "the task to be leased to the worker that is frozen" },
  );
  if (when === "while-running") await frozen.kill("SIGSTOP");

  const done = await waitFor(
    async () => {
      const row = await readTask(stack.pool, taskId);
      return row?.state === "SUCCEEDED" ? row : undefined;
    },
    { timeoutMs: LEASE_MS + 5_000, intervalMs: 20, message: "the task to succeed on the other worker" },
  );
  const attempts = await readAttempts(stack.pool, taskId);
  const redispatchMs = attempts[1]!.started_at.getTime() - attempts[0]!.started_at.getTime();

  const since = frozen.process.nextSeq;
  await frozen.kill("SIGCONT");
  await frozen.waitForLog(
    { msg: WORKER_RESULT_NOT_ACCEPTED, where: (e) => e.fields.taskId === taskId && e.fields.status === "stale" },
    { since, timeoutMs: 5_000 },
  );
  return { ledger, frozen, other, taskId, done, redispatchMs };
}

/** What both scenarios must show once the late result was refused. */
async function expectSecondAttemptKept(outcome: FrozenOutcome): Promise<void> {
  const { ledger, frozen, other, taskId, done } = outcome;
  expect(done.attempt).toBe(2);
  expect(other.owns(done.worker_id)).toBe(true);
  const attempts = await readAttempts(stack.pool, taskId);
  expect(attempts.map((a) => a.outcome)).toEqual(["LEASE_EXPIRED", "SUCCEEDED"]);
  expect(frozen.owns(attempts[0]!.worker_id)).toBe(true);
  expect(other.owns(attempts[1]!.worker_id)).toBe(true);
  // The stale result changed nothing.
  const after = await readTask(stack.pool, taskId);
  expect(after!.result?.toString()).toBe(done.result?.toString());
  expect(after!.attempt).toBe(2);
  expect(after!.worker_id).toBe(done.worker_id);
  expect(outcome.redispatchMs).toBeLessThan(LEASE_MS + 1_500);
  const report = await checkInvariants(stack.pool, ledger);
  console.log(`worker SIGSTOP: re-dispatched ${outcome.redispatchMs} ms after the first lease; ${formatReport(report)}`);
  expect(report.violations).toEqual([]);
  expect(report.states).toEqual({ SUCCEEDED: 3 });
  expect(report.extraExecutions).toBe(1);
}

describe("a worker process frozen (SIGSTOP) while holding a task", () => {
  it("loses the lease when it expires; the task runs elsewhere; its late result is STALE", async () => {
    const outcome = await freezeScenario("before-delivery", (queue) => failTask(queue, 0));
    // `fail` returns the attempt that produced the result: the second worker's.
    expect(JSON.parse(outcome.done.result!.toString())).toEqual({ attempt: 2 });
    await expectSecondAttemptKept(outcome);
  });

  it("frozen mid-handler: thawed, it reports the finished sleep late and is refused", async () => {
    const outcome = await freezeScenario("while-running", (queue) => sleepTask(queue, 600));
    expect(JSON.parse(outcome.done.result!.toString())).toEqual({ slept: 600 });
    await expectSecondAttemptKept(outcome);
  });
});
