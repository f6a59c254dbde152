import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AttemptOutcome, TaskState, type Task } from "../gen/taskqueue/v1/task_pb.js";
import { buildGoExamples, clientToolchains } from "./support/client-toolchains.js";
import {
  runClientTests,
  runProducer,
  startExampleWorker,
  type ClientPrograms,
  type ProducerLanguage,
  type WorkerLanguage,
} from "./support/client-programs.js";
import type { ExampleProcess } from "./support/example-process.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/**
 * The Go and Python clients against a live server, together with the TypeScript SDK: each
 * language's producer feeds another language's worker, cancels reach workers across
 * languages, and a worker killed mid-task has its task finished by another language's.
 */

let ts: TestServer;
let programs: ClientPrograms;
let buildDir: string;
const started: ExampleProcess[] = [];

beforeAll(async () => {
  const toolchains = await clientToolchains();
  buildDir = await mkdtemp(join(tmpdir(), "tq-go-examples-"));
  const [go, server] = await Promise.all([
    buildGoExamples(toolchains, buildDir),
    startTestServer({ defaultInitialBackoffMs: 50, defaultMaxBackoffMs: 200 }),
  ]);
  ts = server;
  programs = { toolchains, go };
}, 300_000);

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop(5_000)));
});

afterAll(async () => {
  await ts?.stop();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

/** Starts the example worker of `language` on `queue`; waits for its welcome. */
async function startWorker(language: WorkerLanguage, queue: string): Promise<{ proc: ExampleProcess; workerId: string }> {
  const workerId = `${language}-worker-${randomBytes(3).toString("hex")}`;
  const proc = startExampleWorker(programs, language, { server: ts.grpcAddress, queue, workerId });
  started.push(proc);
  await proc.waitForEvent((e) => e.event === "connected", "its welcome", 30_000);
  return { proc, workerId };
}

function resultOf(task: Task): unknown {
  return task.resultData.case === "result" ? toJson(ValueSchema, task.resultData.value) : task.resultData.value;
}

async function outcomes(id: string): Promise<AttemptOutcome[]> {
  return (await ts.grpc.getTask({ id, includeAttempts: true })).attempts.map((a) => a.outcome);
}

/** Submits `sleep` for a long time and waits until `worker` runs it. */
async function sleepingTask(queue: string, worker: ExampleProcess, ms: number): Promise<string> {
  const { task } = await ts.grpc.submitTask({ queue, type: "sleep", payloadData: jsonPayload({ ms }) });
  await worker.waitForEvent((e) => e.event === "started" && e.task_id === task!.id, `task ${task!.id} to start`);
  return task!.id;
}

describe("clients in three languages against one server", () => {
  it("runs a TypeScript producer's tasks on a Python worker", async () => {
    const queue = uniqueQueue("ts-to-py");
    const { workerId } = await startWorker("python", queue);
    const echo = await ts.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload({ hello: "python", n: [1, 2.5] }) });
    const bytes = new Uint8Array([0, 1, 254, 255]);
    const batch = await ts.grpc.submitTasks({
      tasks: [
        { queue, type: "echo", payloadData: { case: "payloadBytes", value: bytes } },
        { queue, type: "fail", payloadData: jsonPayload({ times: 1 }) },
        { queue, type: "fail", payloadData: jsonPayload({ times: 3, retryable: false }) },
      ],
    });
    const [bytesId, flakyId, fatalId] = batch.results.map((r) => (r.outcome.case === "task" ? r.outcome.value.id : ""));

    const echoed = await waitForState(ts.grpc, echo.task!.id, TaskState.SUCCEEDED);
    expect(resultOf(echoed)).toEqual({ hello: "python", n: [1, 2.5] });
    expect(echoed.workerId).toBe(workerId);
    const bytesDone = await waitForState(ts.grpc, bytesId!, TaskState.SUCCEEDED);
    expect(bytesDone.resultData).toEqual({ case: "resultBytes", value: bytes });
    const flaky = await waitForState(ts.grpc, flakyId!, TaskState.SUCCEEDED);
    expect(flaky.attempt).toBe(2);
    expect(resultOf(flaky)).toEqual({ attempt: 2 });
    expect(flaky.lastError).toMatchObject({ message: "failing attempt 1 of 1 on purpose", type: "RuntimeError", attempt: 1 });
    expect(await outcomes(flakyId!)).toEqual([AttemptOutcome.FAILED, AttemptOutcome.SUCCEEDED]);
    const fatal = await waitForState(ts.grpc, fatalId!, TaskState.DEAD);
    expect(fatal.attempt).toBe(1);
    expect(fatal.lastError).toMatchObject({ type: "PlannedFailure", nonRetryable: true });
  }, 60_000);

  it("runs Python-submitted tasks on a Go worker", async () => {
    const queue = uniqueQueue("py-to-go");
    const { workerId } = await startWorker("go", queue);
    const server = ts.grpcAddress;
    const echo = await runProducer(programs, "python", "submit", { server, queue, type: "echo", payload: '{"from":"python"}', wait: true });
    expect(echo.code, echo.stderr).toBe(0);
    expect(echo.lines[0]).toMatchObject({ state: "SUCCEEDED", result: { from: "python" }, worker_id: workerId, attempt: 1 });

    const batch = await runProducer(programs, "python", "batch", { server, queue, type: "echo", payloads: '[1, "two", {"three": 3}]' });
    expect(batch.code, batch.stderr).toBe(0);
    expect(batch.lines).toHaveLength(3);
    const results = await Promise.all(batch.lines.map(async (line) => resultOf(await waitForState(ts.grpc, String(line.id), TaskState.SUCCEEDED))));
    expect(results).toEqual([1, "two", { three: 3 }]);

    const fatal = await runProducer(programs, "python", "submit", { server, queue, type: "fail", payload: '{"times": 1, "retryable": false}', wait: true });
    expect(fatal.lines[0]).toMatchObject({ state: "DEAD", last_error: { type: "PlannedFailure", non_retryable: true } });

    const missing = await runProducer(programs, "python", "get", { server, id: "01a205ec-8a0f-793c-8ef0-00536f20972a" });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NotFoundError/);
  }, 60_000);

  it("runs Go-submitted tasks on a TypeScript worker", async () => {
    const queue = uniqueQueue("go-to-ts");
    const { workerId } = await startWorker("ts", queue);
    const server = ts.grpcAddress;
    const echo = await runProducer(programs, "go", "submit", { server, queue, type: "echo", payload: '{"from":"go","list":[true,null]}', wait: true });
    expect(echo.code, echo.stderr).toBe(0);
    expect(echo.lines[0]).toMatchObject({ state: "SUCCEEDED", result: { from: "go", list: [true, null] }, worker_id: workerId });

    const flaky = await runProducer(programs, "go", "submit", { server, queue, type: "fail", payload: '{"times": 2}', wait: true });
    expect(flaky.lines[0]).toMatchObject({ state: "SUCCEEDED", attempt: 3, result: { attempt: 3 } });
    const history = await runProducer(programs, "go", "get", { server, id: String(flaky.lines[0]!.id), attempts: true });
    expect((history.lines[0]!.attempts as Array<{ outcome: string }>).map((a) => a.outcome)).toEqual(["FAILED", "FAILED", "SUCCEEDED"]);

    const finished = await runProducer(programs, "go", "cancel", { server, id: String(echo.lines[0]!.id) });
    expect(finished.code).toBe(1);
    expect(finished.stderr).toMatch(/FailedPrecondition/);
  }, 60_000);

  const cancels: Array<{ canceller: ProducerLanguage | "ts"; worker: WorkerLanguage }> = [
    { canceller: "go", worker: "python" },
    { canceller: "python", worker: "ts" },
    { canceller: "ts", worker: "go" },
  ];
  it.each(cancels)("delivers a cancel from $canceller to a $worker worker's running handler", async ({ canceller, worker }) => {
    const queue = uniqueQueue(`cancel-${canceller}-${worker}`);
    const { proc } = await startWorker(worker, queue);
    const id = await sleepingTask(queue, proc, 60_000);
    const reason = `stopped by ${canceller}`;
    if (canceller === "ts") {
      const { task } = await ts.grpc.cancelTask({ id, reason });
      expect(task!.state).toBe(TaskState.RUNNING);
    } else {
      const run = await runProducer(programs, canceller, "cancel", { server: ts.grpcAddress, id, reason });
      expect(run.code, run.stderr).toBe(0);
      expect(run.lines[0]).toMatchObject({ state: "RUNNING", cancel_reason: reason });
    }
    const aborted = await proc.waitForEvent((e) => e.event === "handler_aborted" && e.task_id === id, "the handler to see the cancel");
    expect(aborted.cause).toContain(reason);
    const done = await waitForState(ts.grpc, id, TaskState.CANCELLED);
    expect(done.cancelReason).toBe(reason);
    expect(await outcomes(id)).toEqual([AttemptOutcome.CANCELLED]);
    await proc.waitForEvent((e) => e.event === "ack" && e.task_id === id && e.status === "accepted", "the cancelled result's ack");
  }, 60_000);

  it.each(["go", "python", "ts"] as const)("hands a task without payload to a %s worker's handler as null", async (language) => {
    const queue = uniqueQueue(`no-payload-${language}`);
    const { workerId } = await startWorker(language, queue);
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    const done = await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
    expect(done.workerId).toBe(workerId);
    expect(done.resultData.case).toBe("result");
    expect(resultOf(done)).toBeNull();
  }, 60_000);

  // Five 1 MB tasks in one lease pass made one 5 MB assignment, over the 4 MiB that gRPC
  // clients accept by default: the stream failed on every reconnect until the tasks were DEAD.
  // Their echoed results, finishing together, likewise exceed the server's 4 MiB.
  it.each(["go", "python"] as const)("runs five 1 MB tasks leased at once on a %s worker at gRPC's default limits", async (language) => {
    const queue = uniqueQueue(`big-${language}`);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const payload = new Uint8Array(1_000_000).fill(i + 1);
      const { task } = await ts.grpc.submitTask({ queue, type: "echo", payloadData: { case: "payloadBytes", value: payload } });
      ids.push(task!.id);
    }
    // Queued first: the worker's first grant (its concurrency, 10) leases all five in one pass.
    const { workerId } = await startWorker(language, queue);
    for (const [i, id] of ids.entries()) {
      const done = await waitForState(ts.grpc, id, TaskState.SUCCEEDED, 30_000);
      expect(done.attempt).toBe(1);
      expect(done.workerId).toBe(workerId);
      const result = done.resultData.case === "resultBytes" ? done.resultData.value : new Uint8Array();
      expect([result.length, result[0]]).toEqual([1_000_000, i + 1]);
    }
  }, 60_000);

  // Each SDK declares its registered handlers' types in its hello: the server leases it those
  // types only, and a type it has no handler for waits instead of failing on it.
  it.each(["go", "python", "ts"] as const)("gives a %s worker only the task types it has handlers for", async (language) => {
    const queue = uniqueQueue(`types-${language}`);
    const { results } = await ts.grpc.submitTasks({
      tasks: [
        { queue, type: "resize_image", payloadData: jsonPayload({ n: 1 }) },
        { queue, type: "echo", payloadData: jsonPayload({ n: 2 }) },
        { queue, type: "resize_image", payloadData: jsonPayload({ n: 3 }) },
        { queue, type: "echo", payloadData: jsonPayload({ n: 4 }) },
      ],
    });
    const [other1, echo1, other2, echo2] = results.map((r) => (r.outcome.case === "task" ? r.outcome.value.id : ""));
    const { proc, workerId } = await startWorker(language, queue);
    for (const id of [echo1!, echo2!]) expect((await waitForState(ts.grpc, id, TaskState.SUCCEEDED)).workerId).toBe(workerId);
    for (const id of [other1!, other2!]) {
      expect((await ts.grpc.getTask({ id })).task).toMatchObject({ state: TaskState.QUEUED, attempt: 0 });
      expect(proc.events.filter((e) => e.task_id === id)).toEqual([]);
    }
  }, 60_000);

  const kills: Array<{ killed: WorkerLanguage; finisher: WorkerLanguage }> = [
    { killed: "go", finisher: "python" },
    { killed: "python", finisher: "ts" },
    { killed: "ts", finisher: "go" },
  ];
  it.each(kills)("finishes on a $finisher worker the task of a $killed worker killed mid-task", async ({ killed, finisher }) => {
    const queue = uniqueQueue(`kill-${killed}-${finisher}`);
    const first = await startWorker(killed, queue);
    const id = await sleepingTask(queue, first.proc, 1_000);
    first.proc.kill("SIGKILL");
    expect((await first.proc.exited).signal).toBe("SIGKILL");
    const second = await startWorker(finisher, queue);
    await second.proc.waitForEvent((e) => e.event === "finished" && e.task_id === id && e.attempt === 2, "the second attempt", 20_000);
    const done = await waitForState(ts.grpc, id, TaskState.SUCCEEDED, 15_000);
    expect(done.attempt).toBe(2);
    expect(done.workerId).toBe(second.workerId);
    expect(resultOf(done)).toEqual({ slept: 1000 });
    const { attempts } = await ts.grpc.getTask({ id, includeAttempts: true });
    expect(attempts.map((a) => [a.outcome, a.workerId])).toEqual([
      [AttemptOutcome.WORKER_LOST, first.workerId],
      [AttemptOutcome.SUCCEEDED, second.workerId],
    ]);
  }, 60_000);
});

describe("the Go and Python clients' own tests (scripted servers, pure units)", () => {
  it.each(["go", "python"] as const)("%s: pass", async (language) => {
    const run = await runClientTests(programs, language);
    expect(run.code, run.output).toBe(0);
  }, 240_000);
});
