import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgresProcess, type PostgresProcess } from "../../tools/local-services/postgres-process.js";
import { AttemptOutcome, TaskState } from "../../gen/taskqueue/v1/task_pb.js";
import { ResultStatus } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { FaultStack } from "../support/fault-stack.js";
import type { ServerProcess } from "../support/processes.js";
import { RawWorker } from "../support/raw-worker.js";
import { readAttempts } from "../support/task-db.js";
import { jsonPayload, waitForState } from "../support/tasks.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";

// A private Postgres: this file freezes it.
let postgres: PostgresProcess;
let stack: FaultStack;
const workers: RawWorker[] = [];

beforeAll(async () => {
  postgres = await startPostgresProcess({ fsync: false });
  stack = await FaultStack.create({ databaseUrl: postgres.url, serverEnv: { RECOVERY_INTERVAL_MS: "200" } });
});

afterAll(async () => {
  for (const w of workers) w.close();
  await postgres?.kill("SIGCONT").catch(() => undefined);
  await stack?.close();
  await postgres?.stop();
});

function rawWorker(server: ServerProcess): RawWorker {
  const w = new RawWorker(server.grpcAddress);
  workers.push(w);
  return w;
}

/** The attempts GetTask shows: [attempt, outcome, worker, has finished_at]. */
async function history(server: ServerProcess, id: string): Promise<Array<[number, AttemptOutcome, string, boolean]>> {
  const { attempts } = await stack.client(server).getTask({ id, includeAttempts: true });
  return attempts.map((a) => [a.attempt, a.outcome, a.workerId, a.finishedAt !== undefined]);
}

describe("a server killed after ending leases in Redis, before writing those ends to Postgres", () => {
  it("leaves no attempt open: the task that ran again elsewhere and the task cancelled meanwhile both get attempt 1 closed WORKER_LOST", async () => {
    const [rerun, cancelled] = [uniqueQueue("lost-end-rerun"), uniqueQueue("lost-end-cancel")];
    const [doomed, survivor] = [await stack.startServer(), await stack.startServer()];
    const client = stack.client(survivor);
    const first = rawWorker(doomed);
    await first.hello([rerun, cancelled], "first-worker");
    const ids: string[] = [];
    for (const queue of [rerun, cancelled]) ids.push((await client.submitTask({ queue, type: "echo", payloadData: jsonPayload(queue) })).task!.id);
    const [rerunId, cancelledId] = ids as [string, string];
    first.send({ case: "credit", value: { credits: 2 } });
    await first.tasks(2);
    for (const id of ids) {
      await waitFor(async () => (await readAttempts(stack.pool, id)).length === 1, { timeoutMs: 10_000, message: `attempt 1 of ${id} recorded running` });
    }

    // Postgres frozen: the worker leaves, the server ends both leases in Redis, and dies
    // while writing those ends.
    await postgres.kill("SIGSTOP");
    const since = doomed.process.nextSeq;
    first.close();
    await doomed.waitForLog({ msg: "released leases of closed session", where: (e) => e.fields.count === 2 }, { since, timeoutMs: 10_000 });
    await doomed.kill("SIGKILL");
    await postgres.kill("SIGCONT");

    // One task runs again on the other server and succeeds there.
    const second = rawWorker(survivor);
    await second.hello([rerun], "second-worker");
    second.send({ case: "credit", value: { credits: 1 } });
    const [again] = await second.tasks(1);
    expect(again).toMatchObject({ taskId: rerunId, attempt: 2 });
    second.send({ case: "results", value: { results: [{ taskId: rerunId, leaseToken: again!.leaseToken, outcome: { case: "success", value: {} } }] } });
    const ack = await second.next((m) => m.message.case === "acks", "ack");
    expect(ack.message.case === "acks" && ack.message.value.acks[0]!.status).toBe(ResultStatus.ACCEPTED);
    await waitForState(client, rerunId, TaskState.SUCCEEDED);
    await waitFor(async () => (await history(survivor, rerunId))[0]![1] !== AttemptOutcome.UNSPECIFIED, {
      timeoutMs: 15_000,
      message: "attempt 1 of the task that ran again to get an outcome",
    });
    expect(await history(survivor, rerunId)).toEqual([
      [1, AttemptOutcome.WORKER_LOST, "first-worker", true],
      [2, AttemptOutcome.SUCCEEDED, "second-worker", true],
    ]);

    // The other is cancelled while queued: no later attempt will close attempt 1, the cancel does.
    await client.cancelTask({ id: cancelledId, reason: "not needed any more" });
    await waitForState(client, cancelledId, TaskState.CANCELLED);
    await waitFor(async () => (await history(survivor, cancelledId))[0]![1] !== AttemptOutcome.UNSPECIFIED, {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: "attempt 1 of the cancelled task to get an outcome",
    });
    expect(await history(survivor, cancelledId)).toEqual([[1, AttemptOutcome.WORKER_LOST, "first-worker", true]]);
  });
});
