import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { createTaskClient, type TaskClient } from "../clients/ts/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { TaskService } from "../gen/taskqueue/v1/task_service_pb.js";
import { ScheduleService } from "../gen/taskqueue/v1/schedule_service_pb.js";
import { OtlpReceiver, type ReceivedSpan } from "./support/otlp-receiver.js";
import { ServerProcess, WorkerProcess } from "./support/processes.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { createTestDatabase, uniqueQueue } from "./support/test-server.js";

/*
 * One trace from producer to worker, through real processes and a real OTLP/HTTP receiver:
 * the producer's span (this process, exported as OTLP protobuf), the server's RPC span
 * (`npm run server`'s register module: instrumentation-grpc on the gRPC port, the tracing
 * interceptor on the Connect gateway; exported as OTLP protobuf) and the example worker's
 * attempt spans (exported as OTLP JSON), correctly parented.
 */

const queue = uniqueQueue("traced");
let receiver: OtlpReceiver;
let server: ServerProcess;
let worker: WorkerProcess;
let producer: NodeTracerProvider;
let client: TaskClient;
let grpc: Client<typeof TaskService>;
let connect: Client<typeof TaskService>;

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: "100" };
  server = await ServerProcess.start({
    databaseUrl: await createTestDatabase(),
    redisUrl: inject("redisUrl"),
    redisPrefix: `${queue}:`,
    // Debug: the server's lines per task lifecycle event are checked below.
    logLevel: "debug",
    env: { ...otel, OTEL_SERVICE_NAME: "taskqueue-server", DEFAULT_BACKOFF_MS: "50", DEFAULT_MAX_BACKOFF_MS: "100" },
  });
  worker = await WorkerProcess.start({
    server: server.grpcAddress,
    queues: [queue],
    logLevel: "debug",
    env: { ...otel, OTEL_SERVICE_NAME: "taskqueue-worker", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" },
  });
  producer = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": "test-producer" }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${receiver.endpoint}/v1/traces` }))],
  });
  // This process as a producer with OpenTelemetry set up: the TS client sends the active context.
  producer.register();
  client = createTaskClient({ address: server.grpcAddress });
  grpc = createClient(TaskService, createGrpcTransport({ baseUrl: `http://${server.grpcAddress}` }));
  connect = createClient(TaskService, createConnectTransport({ baseUrl: `http://127.0.0.1:${server.httpPort}`, httpVersion: "1.1" }));
}, 60_000);

afterAll(async () => {
  client?.close();
  await worker?.stop();
  await server?.stop();
  await producer?.shutdown();
  await receiver?.stop();
});

/** Submits `payload` of `type` inside a producer span; returns the task id and the span's ids. */
async function submitTraced(client: Client<typeof TaskService>, type: string, payload: Record<string, number>) {
  const span = producer.getTracer("test-producer").startSpan(`produce ${type}`);
  const { traceId, spanId } = span.spanContext();
  const { task } = await client.submitTask({ queue, type, payloadData: jsonPayload(payload) }, { headers: { traceparent: `00-${traceId}-${spanId}-01` } });
  span.end();
  return { id: task!.id, traceId, spanId };
}

function trace(spans: ReceivedSpan[], traceId: string): ReceivedSpan[] {
  return spans.filter((s) => s.traceId === traceId);
}

describe("tracing from producer to worker", () => {
  it("puts the producer's span, the server's RPC span and the worker's attempt span in one trace (gRPC port)", async () => {
    const submitted = await submitTraced(grpc, "echo", { n: 1 });
    await waitForState(grpc, submitted.id, TaskState.SUCCEEDED);
    const spans = await receiver.waitFor(
      (all) => {
        const t = trace(all, submitted.traceId);
        const complete = ["run echo", `dispatch ${queue}`, "commit result", "grpc.taskqueue.v1.TaskService/SubmitTask"].every((name) =>
          t.some((s) => s.name === name),
        );
        return complete && t.some((s) => s.service === "test-producer") ? t : undefined;
      },
      "the producer's, the server's and the worker's spans",
    );
    const produced = spans.find((s) => s.spanId === submitted.spanId)!;
    const rpc = spans.find((s) => s.name === "grpc.taskqueue.v1.TaskService/SubmitTask" && s.service === "taskqueue-server")!;
    const attempt = spans.find((s) => s.name === "run echo")!;
    expect(produced.encoding).toBe("protobuf");
    expect(rpc.kind).toBe(2); // SERVER
    expect(rpc.parentSpanId).toBe(submitted.spanId);
    expect(rpc.encoding).toBe("protobuf");
    expect(rpc.events).toEqual(["committed", "enqueued"]);
    // The wait between the submit and the lease, as a span of the server's.
    expect(spans.find((s) => s.name === `dispatch ${queue}`)).toMatchObject({ service: "taskqueue-server", parentSpanId: rpc.spanId });
    expect(attempt).toMatchObject({ service: "taskqueue-worker", kind: 5, parentSpanId: rpc.spanId, encoding: "json" });
    // The commit of the attempt's result, with the moment Redis fenced it.
    expect(spans.find((s) => s.name === "commit result")).toMatchObject({
      service: "taskqueue-server",
      parentSpanId: rpc.spanId,
      events: ["fenced"],
      attributes: { "taskqueue.task.id": submitted.id, "taskqueue.outcome": "succeeded", "taskqueue.state": "SUCCEEDED", "taskqueue.batch.size": 1 },
    });
    expect(attempt.attributes).toMatchObject({
      "taskqueue.task.id": submitted.id,
      "taskqueue.queue": queue,
      "taskqueue.task.type": "echo",
      "taskqueue.attempt": 1,
      "taskqueue.outcome": "succeeded",
    });
    // The worker's lifecycle line of the attempt names its trace and span.
    const line = await worker.process.waitForLog(
      { msg: "task completed", where: (e) => e.fields.taskId === submitted.id },
      { timeoutMs: 5_000 },
    );
    expect(line.fields).toMatchObject({ trace_id: submitted.traceId, span_id: attempt.spanId });
    // The server's debug lines: one per lifecycle event of the task, each naming its trace (the
    // submit's line is written inside the RPC's span; the others name the span the task carries).
    const ofTask = (e: { fields: Record<string, unknown> }) => e.fields.taskId === submitted.id;
    await server.process.waitForLog({ msg: "task succeeded", where: ofTask }, { timeoutMs: 5_000 });
    const serverLines = server.process.find({ msg: /^task /, where: ofTask });
    // The submit's line is written once the call has enqueued the task, and the lease may go
    // out before that: those two lines come in either order.
    const firstTwo = (lines: unknown[][]) => [...lines.slice(0, 2)].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    const seen = serverLines.map((e) => [e.msg, e.level, e.fields.trace_id, e.fields.span_id]);
    expect([...firstTwo(seen), ...seen.slice(2)]).toEqual([
      ["task leased", 20, submitted.traceId, rpc.spanId],
      ["task submitted", 20, submitted.traceId, rpc.spanId],
      ["task succeeded", 20, submitted.traceId, rpc.spanId],
    ]);
  });

  it("continues the active span of a producer using the TypeScript client, with no code of its own", async () => {
    const tracer = producer.getTracer("test-producer");
    const submitted = await tracer.startActiveSpan("produce with the client", async (span) => {
      const { task } = await client.submitTask({ queue, type: "echo", payload: { n: 2 } });
      span.end();
      return { id: task.id, ...span.spanContext() };
    });
    await waitForState(grpc, submitted.id, TaskState.SUCCEEDED);
    const spans = await receiver.waitFor(
      (all) => {
        const t = trace(all, submitted.traceId);
        const parts = ["run echo", "grpc.taskqueue.v1.TaskService/SubmitTask"].every((name) => t.some((s) => s.name === name));
        return parts && t.some((s) => s.spanId === submitted.spanId) ? t : undefined;
      },
      "the client's trace to reach the worker",
    );
    const rpc = spans.find((s) => s.name === "grpc.taskqueue.v1.TaskService/SubmitTask")!;
    expect(rpc.parentSpanId).toBe(submitted.spanId);
    expect(spans.find((s) => s.name === "run echo")!.parentSpanId).toBe(rpc.spanId);
  });

  it("starts a trace of its own for each scheduled tick", async () => {
    const schedules = createClient(ScheduleService, createGrpcTransport({ baseUrl: `http://${server.grpcAddress}` }));
    const id = `traced-${queue}`;
    await schedules.createSchedule({
      schedule: { id, spec: { case: "interval", value: { seconds: 1n } }, task: { queue, type: "echo", payloadData: jsonPayload({ tick: true }) } },
    });
    try {
      const spans = await receiver.waitFor(
        (all) => {
          const tick = all.find((s) => s.name === `schedule ${id}`);
          const t = tick ? trace(all, tick.traceId) : [];
          return t.some((s) => s.name === "run echo") ? t : undefined;
        },
        "a tick's trace with its attempt",
      );
      const tick = spans.find((s) => s.name === `schedule ${id}`)!;
      expect(tick).toMatchObject({ parentSpanId: "", kind: 4, service: "taskqueue-server" });
      expect(spans.find((s) => s.name === "run echo")!.parentSpanId).toBe(tick.spanId);
    } finally {
      await schedules.deleteSchedule({ id });
    }
  });

  it("puts the task a TriggerSchedule call creates in the caller's trace (Connect gateway)", async () => {
    const schedules = createClient(ScheduleService, createConnectTransport({ baseUrl: `http://127.0.0.1:${server.httpPort}`, httpVersion: "1.1" }));
    const id = `triggered-${queue}`;
    // A schedule that will not tick during the test: only the trigger fires it.
    await schedules.createSchedule({
      schedule: { id, spec: { case: "interval", value: { seconds: 3600n } }, task: { queue, type: "echo", payloadData: jsonPayload({ triggered: true }) } },
    });
    try {
      const span = producer.getTracer("test-producer").startSpan("trigger the schedule");
      const { traceId, spanId } = span.spanContext();
      const { task } = await schedules.triggerSchedule({ id }, { headers: { traceparent: `00-${traceId}-${spanId}-01` } });
      span.end();
      const spans = await receiver.waitFor(
        (all) => {
          const t = trace(all, traceId);
          return t.some((s) => s.name === "run echo") && t.some((s) => s.name.endsWith("/TriggerSchedule")) ? t : undefined;
        },
        "the trigger's trace with the task's attempt",
      );
      const rpc = spans.find((s) => s.name === "grpc.taskqueue.v1.ScheduleService/TriggerSchedule")!;
      expect(rpc.parentSpanId).toBe(spanId);
      const attempt = spans.find((s) => s.name === "run echo")!;
      expect(attempt.parentSpanId).toBe(rpc.spanId);
      expect(attempt.attributes["taskqueue.task.id"]).toBe(task!.id);
    } finally {
      await schedules.deleteSchedule({ id });
    }
  });

  it("writes trace_id and span_id on the server's lines inside a traced call", () => {
    // The worker's stream is a traced call: its "worker connected" line names the call's span.
    const [line] = server.process.find({ msg: "worker connected" });
    expect(line?.fields.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(line?.fields.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(server.process.find({ msg: "taskqueue server listening" })[0]?.fields.trace_id).toBeUndefined();
  });

  it("gives a retried task one attempt span per attempt, both children of the submit (Connect gateway)", async () => {
    const submitted = await submitTraced(connect, "fail", { times: 1 });
    await waitForState(grpc, submitted.id, TaskState.SUCCEEDED);
    const spans = await receiver.waitFor(
      (all) => {
        const t = trace(all, submitted.traceId);
        return t.filter((s) => s.name === "run fail").length === 2 && t.some((s) => s.service === "test-producer") ? t : undefined;
      },
      "two attempt spans of the retried task",
    );
    const rpc = spans.find((s) => s.name === "grpc.taskqueue.v1.TaskService/SubmitTask" && s.service === "taskqueue-server")!;
    expect(rpc.parentSpanId).toBe(submitted.spanId);
    const attempts = spans.filter((s) => s.name === "run fail").sort((a, b) => Number(a.attributes["taskqueue.attempt"]) - Number(b.attributes["taskqueue.attempt"]));
    expect(attempts.map((s) => s.parentSpanId)).toEqual([rpc.spanId, rpc.spanId]);
    // Each attempt waited for its lease: one dispatch span per attempt (the second spans the back-off).
    await receiver.waitFor((all) => trace(all, submitted.traceId).filter((s) => s.name === `dispatch ${queue}`).length === 2, "a dispatch span per attempt");
    expect(attempts.map((s) => [s.attributes["taskqueue.attempt"], s.attributes["taskqueue.outcome"], s.status])).toEqual([
      [1, "failed", 2],
      [2, "succeeded", 0],
    ]);
  });
});
