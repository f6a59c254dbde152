import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../server/db/migrate.js";
import { TaskInserter } from "../server/db/task-inserter.js";
import { TransitionWriter } from "../server/db/transition-writer.js";
import { bareTransition, type TaskTransition } from "../server/engine/task-records.js";
import { createLogger } from "../server/observability/logger.js";
import { newTask } from "./support/new-task.js";
import { readAttempts, readTask } from "./support/task-db.js";
import { createTestDatabase, uniqueQueue } from "./support/test-server.js";

/**
 * The attempt history against a real Postgres, written the way the engine writes it (the
 * transition function of the group-commit writer): an execution of a task that Postgres had
 * already finished (Redis lost the writes that ended it, as in a Redis Cluster failover)
 * stays out of the task's record, while a late outcome of an attempt in the record still lands.
 */

let pool: pg.Pool;
let inserter: TaskInserter;
let writer: TransitionWriter;
const queue = uniqueQueue("attempt-record");

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await createTestDatabase(), max: 4 });
  await migrate(pool, createLogger({ level: "silent" }));
  inserter = new TaskInserter({ pool, windowMs: 0, maxBatch: 1000, idempotencyRetentionMs: 60_000 });
  writer = new TransitionWriter({ pool, windowMs: 0, maxBatch: 1000 });
});

afterAll(async () => {
  await pool?.end();
});

const at = (offsetMs: number) => new Date(Date.now() - 60_000 + offsetMs);

function started(id: string, attempt: number, workerId: string): TaskTransition {
  return { ...bareTransition(id, "RUNNING", attempt), workerId, startedAt: at(attempt * 1000) };
}

function succeeded(id: string, attempt: number, workerId: string): TaskTransition {
  return {
    ...bareTransition(id, "SUCCEEDED", attempt),
    workerId,
    startedAt: at(attempt * 1000),
    finishedAt: at(attempt * 1000 + 100),
    result: Buffer.from(`"run ${attempt}"`),
    resultFormat: 1,
    attemptOutcome: "SUCCEEDED",
    attemptEndedAt: at(attempt * 1000 + 100),
  };
}

function failed(id: string, attempt: number, workerId: string): TaskTransition {
  return {
    ...bareTransition(id, "FAILED", attempt),
    workerId,
    startedAt: at(attempt * 1000),
    scheduledAt: at(attempt * 1000 + 500),
    error: { message: `attempt ${attempt} failed`, type: "Boom", attempt },
    attemptOutcome: "FAILED",
    attemptEndedAt: at(attempt * 1000 + 100),
  };
}

async function submitted(): Promise<string> {
  const task = newTask(queue);
  await inserter.insert([task]);
  return task.id;
}

/** The task's history as (attempt, outcome) pairs, with whether each attempt is closed. */
async function history(id: string) {
  return (await readAttempts(pool, id)).map((a) => ({ attempt: a.attempt, outcome: a.outcome, closed: a.finished_at !== null }));
}

describe("the attempt record", () => {
  it("keeps an execution after the task succeeded out of the history: no open row past its last attempt", async () => {
    const id = await submitted();
    for (const t of [started(id, 1, "w1"), failed(id, 1, "w1"), started(id, 2, "w2"), succeeded(id, 2, "w2")]) await writer.write([t]);
    // Redis lost the end of attempt 2 and leased the task again: attempt 3 runs and succeeds.
    await writer.write([started(id, 3, "w3")]);
    await writer.write([succeeded(id, 3, "w3")]);

    const task = await readTask(pool, id);
    expect(task).toMatchObject({ state: "SUCCEEDED", attempt: 2, worker_id: "w2" });
    expect(task!.result!.toString()).toBe('"run 2"');
    expect(await history(id)).toEqual([
      { attempt: 1, outcome: "FAILED", closed: true },
      { attempt: 2, outcome: "SUCCEEDED", closed: true },
    ]);
    const { rows } = await pool.query("select attempt from task_attempts where task_id = $1 and attempt > 2", [id]);
    expect(rows).toEqual([]);
  });

  it("adds no rows for the earlier attempts of a task that succeeded at its first, when it runs again and fails", async () => {
    const id = await submitted();
    await writer.write([started(id, 1, "w1")]);
    await writer.write([succeeded(id, 1, "w1")]);
    await writer.write([started(id, 2, "w2")]);
    await writer.write([failed(id, 2, "w2")]);

    expect(await readTask(pool, id)).toMatchObject({ state: "SUCCEEDED", attempt: 1 });
    expect(await history(id)).toEqual([{ attempt: 1, outcome: "SUCCEEDED", closed: true }]);
    const { rows } = await pool.query<{ attempt: number; outcome: string | null }>(
      "select attempt, outcome from task_attempts where task_id = $1 order by attempt",
      [id],
    );
    // The RUNNING mark of attempt 1 stays as written (the task row holds its success).
    expect(rows).toEqual([{ attempt: 1, outcome: null }]);
  });

  it("still takes the late outcome of the attempt that ended a task otherwise than by success", async () => {
    const id = await submitted();
    await writer.write([started(id, 1, "w1")]);
    // Cancelled while it ran: the attempt is closed as lost until its worker's report arrives.
    await writer.write([{ ...bareTransition(id, "CANCELLED", 1), finishedAt: at(1_200) }]);
    expect(await history(id)).toEqual([{ attempt: 1, outcome: "WORKER_LOST", closed: true }]);
    await writer.write([failed(id, 1, "w1")]);

    expect(await readTask(pool, id)).toMatchObject({ state: "CANCELLED", attempt: 1 });
    expect(await history(id)).toEqual([{ attempt: 1, outcome: "FAILED", closed: true }]);
  });

  it("still closes the earlier attempts a stopped server left open when a retry starts", async () => {
    const id = await submitted();
    await writer.write([started(id, 1, "w1")]);
    // Attempt 1's end was never written (its server died); attempt 3 starts with no row for 2.
    await writer.write([started(id, 3, "w3")]);

    expect(await history(id)).toEqual([
      { attempt: 1, outcome: "WORKER_LOST", closed: true },
      { attempt: 2, outcome: "WORKER_LOST", closed: true },
      { attempt: 3, outcome: null, closed: false },
    ]);
  });
});
