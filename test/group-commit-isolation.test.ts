import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../server/db/migrate.js";
import { TaskInserter } from "../server/db/task-inserter.js";
import { TransitionWriter } from "../server/db/transition-writer.js";
import { DurableTransitions } from "../server/engine/durable-transitions.js";
import { bareTransition, type TaskTransition } from "../server/engine/task-records.js";
import { createLogger } from "../server/observability/logger.js";
import { newTask } from "./support/new-task.js";
import { createTestDatabase, uniqueQueue } from "./support/test-server.js";

/**
 * The group-commit writers against a real Postgres, fed items that bypassed the edge's
 * validation: one caller's item Postgres refuses fails that caller alone (or, for outcomes
 * that must be recorded, is recorded sanitised), and every other caller's items commit.
 */

const logger = createLogger({ level: "silent" });
let pool: pg.Pool;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await createTestDatabase(), max: 4 });
  await migrate(pool, logger);
});

afterAll(async () => {
  await pool?.end();
});

/** Settles `promise` within `ms`, or reports that it did not. */
function within<T>(promise: Promise<T>, ms: number): Promise<PromiseSettledResult<T> | "pending"> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"pending">((resolve) => (timer = setTimeout(() => resolve("pending"), ms)));
  const settled = promise.then(
    (value) => ({ status: "fulfilled", value }) as const,
    (reason: unknown) => ({ status: "rejected", reason }) as const,
  );
  return Promise.race([settled, deadline]).finally(() => clearTimeout(timer));
}

describe("TaskInserter", () => {
  it("fails only the caller whose task Postgres refuses; the callers batched with it commit", async () => {
    const queue = uniqueQueue("inserter");
    const inserter = new TaskInserter({ pool, windowMs: 0, maxBatch: 1000, idempotencyRetentionMs: 60_000 });
    const good = Array.from({ length: 60 }, (_, i) => inserter.insert([newTask(queue, i % 2 ? { idempotencyKey: `k${i}` } : {})]));
    const badLabel = inserter.insert([newTask(queue, { labels: { tenant: "a\u0000b" } })]);
    const badKey = inserter.insert([newTask(queue), newTask(queue, { idempotencyKey: "k\u0000" })]);
    const badDeadline = inserter.insert([newTask(queue, { startDeadline: new Date(Number.NaN) })]);
    const settled = await Promise.allSettled([...good, badLabel, badKey, badDeadline]);
    expect(settled.slice(0, 60).every((s) => s.status === "fulfilled")).toBe(true);
    for (const s of settled.slice(60)) {
      expect(s.status).toBe("rejected");
      expect((s as PromiseRejectedResult).reason).toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    const { rows } = await pool.query("select count(*)::int as n from tasks where queue = $1", [queue]);
    expect(rows[0].n).toBe(60);
  });
});

describe("DurableTransitions", () => {
  it("records the other transitions of a batch, and the refused one sanitised, instead of retrying forever", async () => {
    const queue = uniqueQueue("outcomes");
    const inserter = new TaskInserter({ pool, windowMs: 0, maxBatch: 1000, idempotencyRetentionMs: 60_000 });
    const tasks = Array.from({ length: 40 }, () => newTask(queue));
    await inserter.insert(tasks);
    const writer = new TransitionWriter({ pool, windowMs: 0, maxBatch: 1000 });
    const transitions = new DurableTransitions({ writer, logger, initialRetryMs: 10, maxRetryMs: 50 });
    const now = Date.now();
    const dead = (id: string, message: string, workerId = "w1"): TaskTransition => ({
      ...bareTransition(id, "DEAD", 1),
      workerId,
      startedAt: new Date(now - 100),
      finishedAt: new Date(now),
      error: { message, type: "Boom", attempt: 1 },
      attemptOutcome: "FAILED",
      attemptEndedAt: new Date(now),
    });
    // One write with a poisoned transition among good ones, beside other writers' batches.
    const mixed = transitions.write([
      ...tasks.slice(0, 15).map((t) => dead(t.id, "plain")),
      dead(tasks[15]!.id, "nul\u0000inside"),
      dead(tasks[16]!.id, "plain", "worker\u0000id"),
      // A value sanitising text cannot mend (a result format out of smallint's range).
      { ...dead(tasks[17]!.id, "plain"), resultFormat: 70_000 as 1 },
      ...tasks.slice(18, 30).map((t) => dead(t.id, "plain")),
    ]);
    const others = tasks.slice(30).map((t) => transitions.write([dead(t.id, "other")]));
    const outcome = await within(Promise.all([mixed, ...others]), 20_000);
    expect(outcome, "the writes should have settled").not.toBe("pending");
    expect(outcome).toMatchObject({ status: "fulfilled" });

    const { rows } = await pool.query<{ id: string; state: string; last_error: { message: string; type?: string }; worker_id: string | null }>(
      "select id, state, last_error, worker_id from tasks where queue = $1",
      [queue],
    );
    expect(rows).toHaveLength(40);
    expect(rows.every((r) => r.state === "DEAD")).toBe(true);
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(tasks[15]!.id)!.last_error.message).toBe("nul\uFFFDinside");
    expect(byId.get(tasks[16]!.id)!.worker_id).toBe("worker\uFFFDid");
    expect(byId.get(tasks[17]!.id)!.last_error).toMatchObject({ type: "OutcomeNotStored", attempt: 1 });
    expect(byId.get(tasks[17]!.id)!.last_error.message).toMatch(/^the outcome of attempt 1 could not be stored as reported: /);
    expect(byId.get(tasks[0]!.id)!.last_error.message).toBe("plain");
    expect(byId.get(tasks[39]!.id)!.last_error.message).toBe("other");
    transitions.stop();
  });
});
