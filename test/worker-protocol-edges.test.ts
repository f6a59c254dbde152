import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { ResultStatus, type ConnectResponse, type ResultAck } from "../gen/taskqueue/v1/worker_service_pb.js";
import { RawWorker } from "./support/raw-worker.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/**
 * The edges of the worker protocol that a worker written from the spec alone has to know:
 * what "no payload" and "no result" look like on the wire, and which verdict a result gets
 * when its task or token is not the current lease's.
 */

let ts: TestServer;
const workers: RawWorker[] = [];

beforeAll(async () => {
  ts = await startTestServer({});
});

afterEach(() => {
  for (const w of workers.splice(0)) w.close();
});

afterAll(async () => {
  await ts?.stop();
});

async function connectedWorker(queue: string): Promise<RawWorker> {
  const w = new RawWorker(ts.grpcAddress);
  workers.push(w);
  await w.hello([queue]);
  return w;
}

/** The acks received so far, in order. */
function acks(w: RawWorker): ResultAck[] {
  return w.received.flatMap((m: ConnectResponse) => (m.message.case === "acks" ? m.message.value.acks : []));
}

async function ackOf(w: RawWorker, taskId: string, leaseToken: string): Promise<ResultAck> {
  const message = await w.next(
    (m) => m.message.case === "acks" && m.message.value.acks.some((a) => a.taskId === taskId && a.leaseToken === leaseToken),
    `the ack of ${taskId}/${leaseToken}`,
  );
  if (message.message.case !== "acks") throw new Error("unreachable");
  return message.message.value.acks.find((a) => a.taskId === taskId && a.leaseToken === leaseToken)!;
}

describe("worker protocol edges", () => {
  it("stores a task submitted without payload as JSON null and hands it over as a null `payload`", async () => {
    const queue = uniqueQueue("no-payload");
    const w = await connectedWorker(queue);
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    w.send({ case: "credit", value: { credits: 1 } });
    const [leased] = await w.tasks(1);
    expect(leased!.taskId).toBe(task!.id);
    expect(leased!.payloadData).toEqual({ case: "payload", value: expect.objectContaining({ kind: { case: "nullValue", value: 0 } }) });
    const stored = (await ts.grpc.getTask({ id: task!.id })).task!;
    expect(stored.payloadData).toEqual({ case: "payload", value: expect.objectContaining({ kind: { case: "nullValue", value: 0 } }) });
  });

  it("records a success that carries neither result field as SUCCEEDED with a JSON null result", async () => {
    const queue = uniqueQueue("no-result");
    const w = await connectedWorker(queue);
    const { task } = await ts.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload({ n: 1 }) });
    w.send({ case: "credit", value: { credits: 1 } });
    const [leased] = await w.tasks(1);
    w.send({
      case: "results",
      value: { results: [{ taskId: leased!.taskId, leaseToken: leased!.leaseToken, outcome: { case: "success", value: {} } }] },
    });
    expect((await ackOf(w, leased!.taskId, leased!.leaseToken)).status).toBe(ResultStatus.ACCEPTED);
    const done = await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
    expect(done.resultData).toEqual({ case: "result", value: expect.objectContaining({ kind: { case: "nullValue", value: 0 } }) });
  });

  it("answers STALE, changing nothing, for a wrong token of a current lease and for an unknown task", async () => {
    const queue = uniqueQueue("stale-kinds");
    const w = await connectedWorker(queue);
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    w.send({ case: "credit", value: { credits: 1 } });
    const [leased] = await w.tasks(1);
    const unknownId = "01890000-0000-7000-8000-000000000000";
    const failure = { case: "failure" as const, value: { message: "forged", type: "Forged", nonRetryable: true } };
    w.send({
      case: "results",
      value: {
        results: [
          { taskId: leased!.taskId, leaseToken: `${leased!.leaseToken}x`, outcome: failure },
          { taskId: unknownId, leaseToken: leased!.leaseToken, outcome: failure },
        ],
      },
    });
    expect((await ackOf(w, leased!.taskId, `${leased!.leaseToken}x`)).status).toBe(ResultStatus.STALE);
    expect((await ackOf(w, unknownId, leased!.leaseToken)).status).toBe(ResultStatus.STALE);
    // The lease still stands: its own token is accepted, and the task ends on attempt 1.
    w.send({
      case: "results",
      value: { results: [{ taskId: leased!.taskId, leaseToken: leased!.leaseToken, outcome: { case: "success", value: {} } }] },
    });
    expect((await ackOf(w, leased!.taskId, leased!.leaseToken)).status).toBe(ResultStatus.ACCEPTED);
    expect((await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED)).attempt).toBe(1);
  });

  it("rejects a failure without a lease token at once and keeps the lease, so a corrected failure is accepted", async () => {
    const queue = uniqueQueue("rejected-failure");
    const w = await connectedWorker(queue);
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    w.send({ case: "credit", value: { credits: 1 } });
    const [leased] = await w.tasks(1);
    const failure = { case: "failure" as const, value: { message: "boom", type: "Boom", nonRetryable: true } };
    w.send({ case: "results", value: { results: [{ taskId: leased!.taskId, leaseToken: "", outcome: failure }] } });
    const rejected = await ackOf(w, leased!.taskId, "");
    expect(rejected.status).toBe(ResultStatus.REJECTED);
    expect(rejected.message).toContain("lease_token");
    expect(acks(w)).toHaveLength(1);
    w.send({ case: "results", value: { results: [{ taskId: leased!.taskId, leaseToken: leased!.leaseToken, outcome: failure }] } });
    expect((await ackOf(w, leased!.taskId, leased!.leaseToken)).status).toBe(ResultStatus.ACCEPTED);
    const dead = await waitForState(ts.grpc, task!.id, TaskState.DEAD);
    expect(dead.lastError).toMatchObject({ message: "boom", type: "Boom" });
  });
});
