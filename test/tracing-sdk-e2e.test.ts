import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildGoExamples, clientToolchains } from "./support/client-toolchains.js";
import { runProducer, startExampleWorker, type ClientPrograms, type ProducerLanguage, type WorkerLanguage } from "./support/client-programs.js";
import type { ExampleProcess } from "./support/example-process.js";
import { JaegerProcess } from "./support/jaeger.js";
import type { TraceSpan } from "./support/otlp-receiver.js";
import { ServerProcess } from "./support/processes.js";
import { createTestDatabase, uniqueQueue } from "./support/test-server.js";
import { launchChromium } from "./support/browser.js";
import { renderTraceTimeline, spanTree } from "./support/trace-timeline.js";

/*
 * The Go and Python SDKs in one trace with the server, through real processes and a real
 * trace backend: Jaeger v2 (scripts/install-jaeger.sh), receiving OTLP/HTTP protobuf from all
 * three and keeping the spans in memory; the test reads each trace back from Jaeger's query
 * API, as a user's tools would. The example producer of one language submits inside its own
 * span ("producer submit"), the server records its RPC span and the dispatch, the example
 * worker of the other language runs the attempt in a "run <type>" span, and the server records
 * the commit of its result ("commit result"), or, when the worker dies holding the task, the
 * end of the lease it ended itself ("end lease"): all with no tracing code of their own,
 * turned on by the OTEL_* variables only.
 */

let jaeger: JaegerProcess;
let server: ServerProcess;
let programs: ClientPrograms;
let buildDir: string;
const workers: ExampleProcess[] = [];
const queues = { python: uniqueQueue("py-traced"), go: uniqueQueue("go-traced"), killed: uniqueQueue("py-killed") };

/** OTEL_* variables of an example program named `service`. */
function otel(service: string): NodeJS.ProcessEnv {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.endpoint, OTEL_SERVICE_NAME: service, OTEL_BSP_SCHEDULE_DELAY: "100" };
}

beforeAll(async () => {
  jaeger = await JaegerProcess.start();
  const toolchains = await clientToolchains();
  buildDir = await mkdtemp(join(tmpdir(), "tq-go-examples-"));
  const [go, started] = await Promise.all([
    buildGoExamples(toolchains, buildDir),
    ServerProcess.start({
      databaseUrl: await createTestDatabase(),
      redisUrl: inject("redisUrl"),
      redisPrefix: `${queues.python}:`,
      env: { ...otel("taskqueue-server"), DEFAULT_BACKOFF_MS: "50", DEFAULT_MAX_BACKOFF_MS: "100" },
    }),
  ]);
  server = started;
  programs = { toolchains, go };
  for (const language of ["python", "go"] as const) {
    const proc = startExampleWorker(programs, language, {
      server: server.grpcAddress,
      queue: queues[language],
      workerId: `${language}-${randomBytes(3).toString("hex")}`,
      env: otel(`${language}-worker`),
    });
    workers.push(proc);
    await proc.waitForEvent((e) => e.event === "connected", `the ${language} worker's welcome`, 30_000);
  }
}, 300_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop(10_000)));
  await server?.stop();
  await jaeger?.stop();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

/** Submits with the example producer of `producer` to the queue the `worker` language serves (or `queue`); returns the task id. */
async function submit(producer: ProducerLanguage, worker: WorkerLanguage, type: string, payload: object, queue = queues[worker as "go" | "python"]): Promise<string> {
  const run = await runProducer(
    programs,
    producer,
    "submit",
    { server: server.grpcAddress, queue, type, payload: JSON.stringify(payload), "max-attempts": 3 },
    30_000,
    otel(`${producer}-producer`),
  );
  expect(run.code, run.stderr).toBe(0);
  return String(run.lines[0]!.id);
}

/** Task `id`'s trace as Jaeger's query API returns it, once `complete` holds of it. */
function traceOf(id: string, complete: (spans: TraceSpan[]) => boolean, what: string): Promise<TraceSpan[]> {
  return jaeger.waitForTrace({ service: "taskqueue-server", key: "taskqueue.task.id", value: id }, complete, what);
}

/** Checks the parents: producer span → SubmitTask RPC span → dispatch span(s) and attempt span(s). */
function expectParented(spans: TraceSpan[], producer: ProducerLanguage, worker: WorkerLanguage, id: string, type: string) {
  const produced = spans.find((s) => s.service === `${producer}-producer`)!;
  expect(produced).toMatchObject({ name: "producer submit", parentSpanId: "" });
  expect(produced.attributes["taskqueue.task.id"]).toBe(id);
  const rpc = spans.find((s) => s.name === "grpc.taskqueue.v1.TaskService/SubmitTask" && s.service === "taskqueue-server")!;
  expect(rpc).toMatchObject({ kind: 2, parentSpanId: produced.spanId });
  expect(rpc.events).toEqual(["committed", "enqueued"]);
  const queue = queues[worker as "go" | "python"];
  const dispatches = spans.filter((s) => s.name === `dispatch ${queue}`);
  expect(dispatches.length).toBeGreaterThan(0);
  for (const d of dispatches) expect(d).toMatchObject({ service: "taskqueue-server", parentSpanId: rpc.spanId });
  const attempts = spans
    .filter((s) => s.name === `run ${type}`)
    .sort((a, b) => Number(a.attributes["taskqueue.attempt"]) - Number(b.attributes["taskqueue.attempt"]));
  for (const a of attempts) {
    expect(a).toMatchObject({ service: `${worker}-worker`, kind: 5, parentSpanId: rpc.spanId });
    expect(a.attributes).toMatchObject({ "taskqueue.task.id": id, "taskqueue.queue": queue, "taskqueue.task.type": type, "messaging.system": "taskqueue" });
  }
  // Each attempt's result commit: a short server span beside the attempt, with its fencing.
  const commits = spans.filter((s) => s.name === "commit result").sort((a, b) => Number(a.attributes["taskqueue.attempt"]) - Number(b.attributes["taskqueue.attempt"]));
  expect(commits.map((c) => c.attributes["taskqueue.attempt"])).toEqual(attempts.map((a) => a.attributes["taskqueue.attempt"]));
  for (const c of commits) expect(c).toMatchObject({ service: "taskqueue-server", parentSpanId: rpc.spanId, events: ["fenced"] });
  return { produced, rpc, dispatches, attempts, commits };
}

/**
 * Draws the trace as a waterfall (checked to hold every span); with TQ_TRACE_IMAGES=<folder>
 * set, also screenshots it there as `<name>.png` with headless Chromium, and writes the spans
 * as `<name>.json` beside it: how the README's pictures of traces are made.
 */
async function picture(spans: TraceSpan[], title: string, name: string): Promise<void> {
  const html = renderTraceTimeline(spans, title);
  expect(spanTree(spans)).toHaveLength(spans.length);
  for (const s of spans) expect(html).toContain(s.name);
  const folder = process.env.TQ_TRACE_IMAGES;
  if (!folder) return;
  await writeFile(join(folder, `${name}.json`), JSON.stringify(spans, null, 2) + "\n");
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 300 } });
    await page.setContent(html);
    await page.screenshot({ path: join(folder, `${name}.png`), fullPage: true });
  } finally {
    await browser.close();
  }
}

describe("tracing through the Go and Python SDKs", () => {
  it("puts a Go producer's span, the server's RPC span, the dispatch and a Python worker's attempt span in one trace", async () => {
    const id = await submit("go", "python", "echo", { hello: "trace" });
    const spans = await traceOf(
      id,
      (t) => t.some((s) => s.service === "go-producer") && t.some((s) => s.name.startsWith("dispatch ")) && t.some((s) => s.name === "run echo") && t.some((s) => s.name === "commit result"),
      "the Go producer's trace to reach the Python worker",
    );
    const { attempts, commits } = expectParented(spans, "go", "python", id, "echo");
    expect(attempts.map((a) => [a.attributes["taskqueue.attempt"], a.attributes["taskqueue.outcome"], a.status])).toEqual([[1, "succeeded", 0]]);
    expect(commits[0]!.attributes).toMatchObject({ "taskqueue.task.id": id, "taskqueue.outcome": "succeeded", "taskqueue.state": "SUCCEEDED" });
  });

  it("gives a retried task two attempt spans of the Python worker in the Go producer's trace", async () => {
    const id = await submit("go", "python", "fail", { times: 1 });
    const spans = await traceOf(
      id,
      (t) =>
        t.filter((s) => s.name === "run fail").length === 2 &&
        t.filter((s) => s.name.startsWith("dispatch ")).length === 2 &&
        t.filter((s) => s.name === "commit result").length === 2 &&
        t.some((s) => s.service === "go-producer"),
      "two attempt spans and two dispatch spans",
    );
    const { attempts, commits } = expectParented(spans, "go", "python", id, "fail");
    expect(attempts.map((a) => [a.attributes["taskqueue.attempt"], a.attributes["taskqueue.outcome"], a.status])).toEqual([
      [1, "failed", 2],
      [2, "succeeded", 0],
    ]);
    expect(commits.map((c) => [c.attributes["taskqueue.outcome"], c.attributes["taskqueue.state"]])).toEqual([
      ["failed", "FAILED"],
      ["succeeded", "SUCCEEDED"],
    ]);
    // The spans' times tell the story in order: submit, first attempt, its commit, second attempt.
    const rpc = spans.find((s) => s.name === "grpc.taskqueue.v1.TaskService/SubmitTask")!;
    expect(attempts[0]!.startMs).toBeGreaterThanOrEqual(rpc.startMs);
    expect(commits[0]!.endMs).toBeLessThanOrEqual(attempts[1]!.startMs);
    await picture(spans, "A Go producer's task, retried once on a Python worker (read back from Jaeger's query API)", "trace-go-to-python");
  });

  it("does the same from a Python producer to a Go worker, retry included", async () => {
    const id = await submit("python", "go", "fail", { times: 1 });
    const spans = await traceOf(
      id,
      (t) => t.filter((s) => s.name === "run fail").length === 2 && t.filter((s) => s.name === "commit result").length === 2 && t.some((s) => s.service === "python-producer"),
      "the Python producer's trace to reach the Go worker twice",
    );
    const { attempts } = expectParented(spans, "python", "go", id, "fail");
    expect(attempts.map((a) => [a.attributes["taskqueue.attempt"], a.attributes["taskqueue.outcome"], a.status])).toEqual([
      [1, "failed", 2],
      [2, "succeeded", 0],
    ]);
  });

  it("shows the attempt of a worker killed while it held the task as the server's end lease span (lost)", async () => {
    const doomed = startExampleWorker(programs, "python", {
      server: server.grpcAddress,
      queue: queues.killed,
      workerId: `doomed-${randomBytes(3).toString("hex")}`,
      env: otel("python-worker"),
    });
    workers.push(doomed);
    await doomed.waitForEvent((e) => e.event === "connected", "the doomed worker's welcome", 30_000);
    const id = await submit("go", "python", "sleep", { ms: 120_000 }, queues.killed);
    await doomed.waitForEvent((e) => e.event === "started" && e.task_id === id, "the sleep task to start", 30_000);
    doomed.kill("SIGKILL");
    const spans = await traceOf(
      id,
      (t) => t.some((s) => s.name === "end lease") && t.some((s) => s.service === "go-producer") && t.some((s) => s.name.startsWith("dispatch ")),
      "the server's end lease span of the killed worker's attempt",
    );
    const rpc = spans.find((s) => s.name === "grpc.taskqueue.v1.TaskService/SubmitTask" && s.service === "taskqueue-server")!;
    const ended = spans.filter((s) => s.name === "end lease");
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({
      service: "taskqueue-server",
      parentSpanId: rpc.spanId,
      status: 2,
      attributes: { "taskqueue.task.id": id, "taskqueue.queue": queues.killed, "taskqueue.attempt": 1, "taskqueue.outcome": "lost", "taskqueue.state": "QUEUED" },
    });
    // The killed worker exported no attempt span and no result was committed: the server's span is what shows the attempt.
    expect(spans.filter((s) => s.name === "run sleep" || s.name === "commit result")).toEqual([]);
    expect(ended[0]!.endMs - ended[0]!.startMs).toBeGreaterThan(0);
    await picture(spans, "A Go producer's task whose Python worker was killed with SIGKILL while running it (from Jaeger)", "trace-worker-lost");
  });

  it("writes no line per task at the info level", () => {
    // The server runs at LOG_LEVEL=info: its lines name no task (lifecycle lines are debug).
    expect(server.process.logs().filter((e) => e.fields.taskId !== undefined).map((e) => e.raw)).toEqual([]);
  });
});
