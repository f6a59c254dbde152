import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultStack } from "./support/fault-stack.js";
import { checkInvariants, formatReport } from "./support/invariants.js";
import { echoTask, failTask, TaskLedger, type PlannedTask } from "./support/ledger.js";
import { pidOfWorkerId, type ServerProcess, type WorkerProcess } from "./support/processes.js";
import { readAttemptsOfQueues, stateCounts, TERMINAL_STATES } from "./support/task-db.js";
import { uniqueQueue } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

const TASKS = 10_000;
const BATCH = 500;
const FAILING_SHARE = 0.2;
/** Tasks submitted but unfinished before the next batch goes in (keeps the run spread out). */
const MAX_UNFINISHED = 1_500;
const WORKER_KILLS = 4;
const CONCURRENCY = 20;
/** The whole soak, start-up included, must finish within this. */
const BUDGET_MS = 180_000;

let stack: FaultStack;
let servers: ServerProcess[];
let workers: WorkerProcess[];
const queue = uniqueQueue("soak");
const startedAt = Date.now();

beforeAll(async () => {
  stack = await FaultStack.create({ serverEnv: { LEASE_DURATION_MS: "5000" } });
  servers = await Promise.all([stack.startServer(), stack.startServer()]);
  // Two workers per server: dispatch crosses servers through Redis pub/sub.
  workers = await Promise.all(
    [0, 1, 0, 1].map((s) => stack.startWorker(servers[s]!, { queues: [queue], concurrency: CONCURRENCY })),
  );
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

/** A random 20% of the tasks fail once and are retried after a short back-off. */
function plan(count: number): PlannedTask[] {
  return Array.from({ length: count }, () =>
    Math.random() < FAILING_SHARE ? failTask(queue, 1, { initialBackoffMs: 50, maxBackoffMs: 200 }) : echoTask(queue),
  );
}

async function unfinished(): Promise<number> {
  const counts = await stateCounts(stack.pool, [queue]);
  return Object.entries(counts).reduce((n, [state, c]) => n + ((TERMINAL_STATES as readonly string[]).includes(state) ? 0 : c), 0);
}

/**
 * Kills `victim` (right after a batch went in, so it is likely busy) and starts it again in
 * the background; `restarted` resolves with the restart's error, if any.
 */
async function killAndRestart(victim: WorkerProcess): Promise<{ pid: number; restarted: Promise<unknown> }> {
  const pid = victim.pid;
  await victim.kill("SIGKILL");
  return { pid, restarted: victim.restart().then(() => undefined, (error: unknown) => error ?? new Error("restart failed")) };
}

describe("soak", () => {
  it(
    `${TASKS} tasks, ${FAILING_SHARE * 100}% failing once, ${WORKER_KILLS} worker kills, two servers`,
    async () => {
      const ledger = new TaskLedger();
      const batches = TASKS / BATCH;
      // Kill moments: after random batches, spread over the run.
      const killAfter = new Set<number>();
      while (killAfter.size < WORKER_KILLS) killAfter.add(2 + Math.floor(Math.random() * (batches - 4)));
      const victims = [...workers].sort(() => Math.random() - 0.5);
      const kills: Array<{ batch: number; worker: string; pid: number; lost?: number }> = [];
      const restarts: Promise<unknown>[] = [];

      for (let b = 0; b < batches; b++) {
        await waitFor(async () => (await unfinished()) < MAX_UNFINISHED, {
          timeoutMs: 60_000,
          intervalMs: 50,
          message: "the backlog to shrink",
        });
        await ledger.submitBatch(stack.client(servers[b % 2]!), plan(BATCH));
        if (killAfter.has(b)) {
          const victim = victims[kills.length % victims.length]!;
          const { pid, restarted } = await killAndRestart(victim);
          kills.push({ batch: b, worker: victim.process.name, pid });
          restarts.push(restarted);
        }
      }
      const submittedAt = Date.now();
      const restartError = (await Promise.all(restarts)).find((e) => e !== undefined);
      if (restartError) throw restartError;
      const final = await stack.waitAllDone([queue], TASKS, Math.max(10_000, startedAt + BUDGET_MS - Date.now()));
      const doneAt = Date.now();

      const report = await checkInvariants(stack.pool, ledger);
      // Attempts each kill cut short.
      const lost = (await readAttemptsOfQueues(stack.pool, [queue])).filter((a) => a.outcome === "WORKER_LOST");
      for (const kill of kills) kill.lost = lost.filter((a) => pidOfWorkerId(a.worker_id) === kill.pid).length;
      const deadlocks = stack.servers.flatMap((srv) => srv.process.logs()).filter((e) => /deadlock/.test(e.raw)).length;
      console.log(
        `soak: ${TASKS} tasks in ${((doneAt - startedAt) / 1000).toFixed(1)} s (submitted after ${((submittedAt - startedAt) / 1000).toFixed(1)} s); ` +
          `succeeded=${final.SUCCEEDED ?? 0} dead=${final.DEAD ?? 0}; Postgres deadlocks retried=${deadlocks}; ` +
          `kills (attempts each cut short)=${JSON.stringify(kills)}\nsoak: ${formatReport(report)}`,
      );
      expect(doneAt - startedAt).toBeLessThan(BUDGET_MS);
      expect(kills.length).toBe(WORKER_KILLS);
      expect(report.violations).toEqual([]);
      expect(final).toEqual({ SUCCEEDED: TASKS });
      // A task runs again only for an attempt a killed worker held, at most its concurrency
      // per kill (see test/faults/postgres-stall.test.ts).
      expect(report.extraExecutions).toBeLessThanOrEqual(lost.length);
      for (const kill of kills) expect(kill.lost).toBeLessThanOrEqual(CONCURRENCY);
      expect(report.maxExtraExecutions).toBeLessThanOrEqual(WORKER_KILLS);
      expect(workers.every((w) => w.process.exitStatus === undefined)).toBe(true);
    },
    BUDGET_MS + 20_000,
  );
});
