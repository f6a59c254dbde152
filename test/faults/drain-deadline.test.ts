import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState } from "../../gen/taskqueue/v1/task_pb.js";
import { ResultStatus } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { FaultStack } from "../support/fault-stack.js";
import type { ServerProcess } from "../support/processes.js";
import { RawWorker } from "../support/raw-worker.js";
import { readAttempts, readTask } from "../support/task-db.js";
import { jsonPayload, waitForState } from "../support/tasks.js";
import { uniqueQueue } from "../support/test-server.js";
import { waitFor } from "../support/wait-for.js";

const DRAIN_TIMEOUT_MS = 1_000;
/** Generous: the assertion is that the server exits by itself, not how fast. */
const EXIT_WITHIN_MS = DRAIN_TIMEOUT_MS + 10_000;

let stack: FaultStack;
let server: ServerProcess;
const workers: RawWorker[] = [];

beforeAll(async () => {
  stack = await FaultStack.create({ serverEnv: { DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS) } });
  server = await stack.startServer();
});

afterAll(async () => {
  for (const w of workers) w.close();
  await stack?.close();
});

function rawWorker(): RawWorker {
  const w = new RawWorker(server.grpcAddress);
  workers.push(w);
  return w;
}

describe("server SIGTERM while a worker holds a task past the drain deadline", () => {
  it("ends the stream UNAVAILABLE, records attempt 1 WORKER_LOST before exiting 0, and the task succeeds on attempt 2", async () => {
    const queue = uniqueQueue("drain-deadline");
    const client = stack.client(server);
    const holder = rawWorker();
    await holder.hello([queue], "holding-worker");
    const { task } = await client.submitTask({ queue, type: "echo", payloadData: jsonPayload("held") });
    const id = task!.id;
    holder.send({ case: "credit", value: { credits: 1 } });
    const [leased] = await holder.tasks(1);
    expect(leased!.taskId).toBe(id);
    // Postgres shows the attempt running (its row is open) before the shutdown starts.
    await waitFor(async () => (await readAttempts(stack.pool, id)).length === 1, { timeoutMs: 10_000, message: "attempt 1 to be recorded running" });

    const exit = await server.kill("SIGTERM", EXIT_WITHIN_MS);
    // Exit 1 means a shutdown step overran its deadline: name it.
    const cut = server.process.find({ msg: "shutdown step cut short at its deadline" }).map((e) => [e.fields.step, e.fields.afterMs]);
    expect({ exit, cut }).toEqual({ exit: { code: 0, signal: null }, cut: [] });
    expect(holder.received.some((m) => m.message.case === "drain")).toBe(true);
    const end = await holder.end();
    expect(end?.code).toBe(Code.Unavailable);
    expect(end?.rawMessage).toBe("server drained; reconnect to another server");

    // The lease end was committed before the process exited: nothing waits for a restart.
    const [attempt] = await readAttempts(stack.pool, id);
    expect(attempt).toMatchObject({ attempt: 1, worker_id: "holding-worker", outcome: "WORKER_LOST" });
    expect(attempt!.finished_at).not.toBeNull();
    expect(await readTask(stack.pool, id)).toMatchObject({ state: "QUEUED", attempt: 1 });

    await server.restart();
    const finisher = rawWorker();
    await finisher.hello([queue], "finishing-worker");
    finisher.send({ case: "credit", value: { credits: 1 } });
    const [again] = await finisher.tasks(1);
    expect(again).toMatchObject({ taskId: id, attempt: 2 });
    finisher.send({
      case: "results",
      value: { results: [{ taskId: id, leaseToken: again!.leaseToken, outcome: { case: "success", value: {} } }] },
    });
    const ack = await finisher.next((m) => m.message.case === "acks", "ack");
    expect(ack.message.case === "acks" && ack.message.value.acks[0]!.status).toBe(ResultStatus.ACCEPTED);
    await waitForState(client, id, TaskState.SUCCEEDED);
    const { attempts } = await client.getTask({ id, includeAttempts: true });
    expect(attempts.map((a) => [a.attempt, a.outcome, a.workerId])).toEqual([
      [1, AttemptOutcome.WORKER_LOST, "holding-worker"],
      [2, AttemptOutcome.SUCCEEDED, "finishing-worker"],
    ]);
    expect(attempts.every((a) => a.finishedAt !== undefined)).toBe(true);
  });
});
