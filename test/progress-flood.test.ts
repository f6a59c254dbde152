import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { ResultStatus, type ConnectResponse } from "../gen/taskqueue/v1/worker_service_pb.js";
import { RawWorker } from "./support/raw-worker.js";
import { waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/**
 * Progress is coalesced per task (the latest report wins) and written apart from results:
 * a worker flooding progress for one task neither holds back anyone's results nor turns
 * each report into a Postgres write.
 */

let ts: TestServer;
const workers: RawWorker[] = [];

beforeAll(async () => {
  ts = await startTestServer();
});

afterEach(() => {
  for (const w of workers.splice(0)) w.close();
});

afterAll(async () => {
  await ts?.stop();
});

function rawWorker(): RawWorker {
  const w = new RawWorker(ts.grpcAddress);
  workers.push(w);
  return w;
}

const isAck = (m: ConnectResponse) => m.message.case === "acks";

/** The value of one un-labelled counter on `/metrics`. */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${ts.httpBaseUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`metric ${name} not exposed`);
  return Number(line.slice(name.length + 1));
}

describe("progress", () => {
  it("keeps a report sent the moment a task arrives, before its RUNNING mark has committed", async () => {
    // The RUNNING mark is written ~100 ms after the lease, so a report sent at once can meet a
    // row that is not RUNNING yet. Ten tasks, each reported once at arrival: every report must
    // be stored.
    const queue = uniqueQueue("early-progress");
    // Flushes every 5 ms: the report reaches Postgres well before the task's RUNNING mark.
    const eager = await startTestServer({ progressFlushIntervalMs: 5 });
    try {
      const w = new RawWorker(eager.grpcAddress);
      workers.push(w);
      await w.hello([queue], "eager");
      await eager.grpc.submitTasks({ tasks: Array.from({ length: 10 }, () => ({ queue, type: "echo" })) });
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        w.send({ case: "credit", value: { credits: 1 } });
        const leased = (await w.tasks(i + 1))[i];
        ids.push(leased!.taskId);
        w.send({ case: "progress", value: { taskId: leased!.taskId, leaseToken: leased!.leaseToken, percent: 10 + i, message: `started ${i}` } });
      }
      for (const [i, id] of ids.entries()) {
        const progress = await waitFor(
          async () => {
            const progress = (await eager.grpc.getTask({ id })).task?.progress;
            return progress?.message ? progress : undefined;
          },
          { timeoutMs: 10_000, message: `the progress of task ${i} to be stored` },
        );
        expect(progress).toMatchObject({ percent: 10 + i, message: `started ${i}` });
      }
    } finally {
      for (const w of workers.splice(0)) w.close();
      await eager.stop();
    }
  });

  it("a stream flooding progress for one task holds back no one, and its reports are coalesced", async () => {
    const floodQueue = uniqueQueue("flood");
    const otherQueue = uniqueQueue("roundtrip");
    const { task: held } = await ts.grpc.submitTask({ queue: floodQueue, type: "echo" });
    const flooder = rawWorker();
    await flooder.hello([floodQueue], "flooder");
    flooder.send({ case: "credit", value: { credits: 1 } });
    const [leased] = await flooder.tasks(1);
    const writesBefore = await metric("taskqueue_progress_writes_total");

    const reports = 5_000;
    for (let i = 0; i < reports; i++) {
      const message = i === reports - 1 ? "last\u0000report" : `step ${i}`;
      flooder.send({ case: "progress", value: { taskId: leased!.taskId, leaseToken: leased!.leaseToken, percent: (i * 100) / reports, message } });
    }

    // Meanwhile another task makes its whole round trip on another stream.
    const { task: other } = await ts.grpc.submitTask({ queue: otherQueue, type: "echo" });
    const worker = rawWorker();
    await worker.hello([otherQueue], "bystander");
    worker.send({ case: "credit", value: { credits: 1 } });
    const [lease] = await worker.tasks(1);
    worker.send({ case: "results", value: { results: [{ taskId: lease!.taskId, leaseToken: lease!.leaseToken, outcome: { case: "success", value: {} } }] } });
    const ack = await worker.next(isAck, "the bystander's ack");
    expect(ack.message.case === "acks" && ack.message.value.acks[0]!.status).toBe(ResultStatus.ACCEPTED);
    await waitForState(ts.grpc, other!.id, TaskState.SUCCEEDED);

    // The last report wins (its NUL stored as U+FFFD), written by far fewer statements than reports.
    const progress = await waitFor(
      async () => {
        const { task } = await ts.grpc.getTask({ id: held!.id });
        return task?.progress?.message === "last\uFFFDreport" ? task.progress : undefined;
      },
      { timeoutMs: 10_000, message: "the last progress report to be stored" },
    );
    expect(progress.percent).toBeCloseTo(((reports - 1) * 100) / reports, 3);
    expect(await metric("taskqueue_progress_reports_total")).toBeGreaterThanOrEqual(reports);
    const writes = (await metric("taskqueue_progress_writes_total")) - writesBefore;
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThan(reports / 10);
  });
});
