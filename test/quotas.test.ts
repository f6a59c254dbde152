import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService, Role } from "../gen/taskqueue/v1/auth_service_pb.js";
import { QueueService } from "../gen/taskqueue/v1/queue_service_pb.js";
import { TaskService } from "../gen/taskqueue/v1/task_service_pb.js";
import { createTaskClient } from "../clients/ts/index.js";
import { waitFor } from "./support/wait-for.js";
import { openWorkerStream } from "./support/worker-stream-client.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

const ADMIN_TOKEN = "test-admin-token-quotas-0123456789";
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function failure(call: Promise<unknown>): Promise<ConnectError | undefined> {
  return call.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );
}

let ts: TestServer;
let admin: Client<typeof AuthService>;
let grpc: Transport;
let json: Transport;

async function producerToken(quota: { submitRate?: number; submitBurst?: number } = {}): Promise<string> {
  const { secret } = await admin.createToken({ name: uniqueQueue("producer"), role: Role.PRODUCER, ...quota }, bearer(ADMIN_TOKEN));
  return secret;
}

beforeAll(async () => {
  // Server-wide defaults small enough to reach in a test: 50 tasks/s (burst 100), 3 worker streams.
  ts = await startTestServer({ adminToken: ADMIN_TOKEN, quotaSubmitRate: 50, quotaWorkerStreams: 3 });
  grpc = createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` });
  json = createConnectTransport({ baseUrl: ts.httpBaseUrl, httpVersion: "1.1" });
  admin = createClient(AuthService, grpc);
});

afterAll(async () => {
  await ts?.stop();
});

describe("the submit quota", () => {
  it("refuses a token over its rate with RESOURCE_EXHAUSTED and the delay; another token is unaffected", async () => {
    const queue = uniqueQueue("quota");
    const slow = await producerToken({ submitRate: 2, submitBurst: 5 });
    const other = await producerToken();
    const tasks = createClient(TaskService, grpc);
    const batch = Array.from({ length: 5 }, () => ({ queue, type: "t" }));
    await tasks.submitTasks({ tasks: batch }, bearer(slow));
    const refused = await failure(tasks.submitTask({ queue, type: "t" }, bearer(slow)));
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.rawMessage).toMatch(/is over its submit quota of 2 tasks\/s \(burst 5\): retry in \d+ ms/);
    const delayMs = Number(refused?.metadata.get("grpc-retry-pushback-ms"));
    expect(delayMs).toBeGreaterThan(0);
    expect(delayMs).toBeLessThanOrEqual(500);
    expect(refused?.metadata.get("retry-after")).toBe("1");

    // The other token submits its whole burst (100, the server's default) at once meanwhile.
    const results = await tasks.submitTasks({ tasks: Array.from({ length: 100 }, () => ({ queue, type: "t" })) }, bearer(other));
    expect(results.results.filter((r) => r.outcome.case === "task")).toHaveLength(100);

    // Through the gateway as Connect JSON: the same refusal, the delay in the response headers.
    const viaJson = await failure(createClient(TaskService, json).submitTask({ queue, type: "t" }, bearer(slow)));
    expect(viaJson?.code).toBe(Code.ResourceExhausted);
    expect(Number(viaJson?.metadata.get("grpc-retry-pushback-ms"))).toBeGreaterThan(0);
    const { rows } = await ts.pool.query<{ n: string }>("SELECT count(*) AS n FROM tasks WHERE queue = $1", [queue]);
    expect(Number(rows[0]!.n)).toBe(105);

    // Plain HTTP (curl): 429 with Retry-After.
    const response = await fetch(`${ts.httpBaseUrl}/taskqueue.v1.TaskService/SubmitTask`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${slow}` },
      body: JSON.stringify({ queue, type: "t" }),
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(response.headers.get("grpc-retry-pushback-ms"))).toBeGreaterThan(0);
    if (process.env.SHOW_CLI_OUTPUT) console.log(response.status, [...response.headers].map((h) => h.join(": ")).join("\n"), await response.text());
  });

  it("does not limit the bootstrap admin token", async () => {
    const queue = uniqueQueue("admin");
    const tasks = createClient(TaskService, grpc);
    for (let i = 0; i < 3; i++) {
      const results = await tasks.submitTasks({ tasks: Array.from({ length: 100 }, () => ({ queue, type: "t" })) }, bearer(ADMIN_TOKEN));
      expect(results.results).toHaveLength(100);
    }
  });

  it("is honoured by the TypeScript client, which waits the delay and retries", async () => {
    const queue = uniqueQueue("client");
    const secret = await producerToken({ submitRate: 5, submitBurst: 1 });
    const waits: number[] = [];
    const client = createTaskClient({ address: ts.grpcAddress, token: secret, onQuotaWait: (delayMs) => waits.push(delayMs) });
    const impatient = createTaskClient({ address: ts.grpcAddress, token: secret, quotaRetryMaxWaitMs: 0 });
    try {
      await client.submitTask({ queue, type: "t" });
      const started = performance.now();
      const { task } = await client.submitTask({ queue, type: "t" });
      expect(task.queue).toBe(queue);
      expect(waits.length).toBeGreaterThan(0);
      expect(performance.now() - started).toBeGreaterThanOrEqual(waits[0]! - 5);
      const items = await client.submitTasks([{ queue, type: "t" }], { view: "basic" });
      expect(items[0]!.error).toBeUndefined();
      const refused = await failure(impatient.submitTask({ queue, type: "t" }));
      expect(refused?.code).toBe(Code.ResourceExhausted);
    } finally {
      client.close();
      impatient.close();
    }
  });

  it("refuses quota values out of range at CreateToken, naming the field", async () => {
    const error = await failure(admin.createToken({ name: "x", role: Role.PRODUCER, submitRate: 2_000_000_000 }, bearer(ADMIN_TOKEN)));
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toMatch(/^submit_rate: must be between 1 and/);
    const { token } = await admin.createToken({ name: "q", role: Role.WORKER, maxWorkerStreams: 7, submitRate: 9 }, bearer(ADMIN_TOKEN));
    expect([token!.maxWorkerStreams, token!.submitRate, token!.submitBurst]).toEqual([7, 9, 0]);
  });
});

describe("the worker stream quota", () => {
  it("refuses a stream beyond the token's quota with RESOURCE_EXHAUSTED, and counts closed streams out", async () => {
    const queue = uniqueQueue("streams");
    const { secret } = await admin.createToken({ name: "two-streams", role: Role.WORKER, maxWorkerStreams: 2 }, bearer(ADMIN_TOKEN));
    const { secret: other } = await admin.createToken({ name: "default-streams", role: Role.WORKER }, bearer(ADMIN_TOKEN));
    const h2c = createGrpcTransport({ baseUrl: ts.httpBaseUrl });
    const first = openWorkerStream(h2c, secret, [queue]);
    const second = openWorkerStream(grpc, secret, [queue]);
    await Promise.all([first.welcome, second.welcome]);
    const third = await openWorkerStream(grpc, secret, [queue]).ended;
    expect(third?.code).toBe(Code.ResourceExhausted);
    expect(third?.rawMessage).toMatch(/already holds 2 worker streams on this server, its quota \(max_worker_streams 2\)/);
    // Another token is not affected; it has the server's default of 3.
    const others = [0, 1, 2].map(() => openWorkerStream(grpc, other, [queue]));
    await Promise.all(others.map((s) => s.welcome));
    expect((await openWorkerStream(grpc, other, [queue]).ended)?.code).toBe(Code.ResourceExhausted);
    // A closed stream frees its place.
    first.close();
    expect(await first.ended).toBeUndefined();
    const again = openWorkerStream(grpc, secret, [queue]);
    await again.welcome;
    // So does a stream the client abandons (cancelled: no half-close, the call is reset).
    second.abort();
    await second.ended;
    const last = await waitFor(
      async () => {
        const attempt = openWorkerStream(grpc, secret, [queue]);
        const outcome = await Promise.race([attempt.welcome.then(() => "welcomed"), attempt.ended.then(() => "ended")]);
        return outcome === "welcomed" ? attempt : undefined;
      },
      { timeoutMs: 10_000, message: "the aborted stream's place to be free" },
    );
    for (const s of [again, last, ...others]) s.close();
    await Promise.all([again, last, ...others].map((s) => s.ended));
  });
});

describe("the payload limit of a queue", () => {
  it("is set with UpdateQueue and refuses a larger payload through gRPC and Connect JSON, naming the field", async () => {
    const queue = uniqueQueue("payload");
    const queues = createClient(QueueService, grpc);
    const { queue: info } = await queues.updateQueue(
      { name: queue, settings: { maxPayloadBytes: 64 }, updateMask: { paths: ["max_payload_bytes"] } },
      bearer(ADMIN_TOKEN),
    );
    expect(info?.settings?.maxPayloadBytes).toBe(64);
    const tooBig = { queue, type: "t", payloadData: { case: "payloadBytes" as const, value: new Uint8Array(65) } };
    for (const transport of [grpc, json]) {
      const tasks = createClient(TaskService, transport);
      const error = await failure(tasks.submitTask(tooBig, bearer(ADMIN_TOKEN)));
      expect(error?.code).toBe(Code.ResourceExhausted);
      expect(error?.rawMessage).toBe(`payload_bytes: 65 bytes exceeds the limit of queue "${queue}" (max_payload_bytes 64)`);
      const json = await failure(
        tasks.submitTask({ queue, type: "t", payloadData: { case: "payload", value: { kind: { case: "stringValue", value: "x".repeat(80) } } } }, bearer(ADMIN_TOKEN)),
      );
      expect(json?.rawMessage).toMatch(/^payload: 82 bytes exceeds the limit of queue/);
      const batch = await tasks.submitTasks({ tasks: [tooBig, { ...tooBig, payloadData: { case: "payloadBytes", value: new Uint8Array(64) } }] }, bearer(ADMIN_TOKEN));
      expect(batch.results.map((r) => r.outcome.case)).toEqual(["error", "task"]);
      const itemError = batch.results[0]!.outcome.value as { code: string; field: string };
      expect([itemError.code, itemError.field]).toEqual(["RESOURCE_EXHAUSTED", "tasks[0].payload_bytes"]);
    }
    const { rows } = await ts.pool.query<{ n: string }>("SELECT count(*) AS n FROM tasks WHERE queue = $1", [queue]);
    expect(Number(rows[0]!.n)).toBe(2);
    const outOfRange = await failure(
      queues.updateQueue({ name: queue, settings: { maxPayloadBytes: 5_000_000 }, updateMask: { paths: ["max_payload_bytes"] } }, bearer(ADMIN_TOKEN)),
    );
    expect(outOfRange?.code).toBe(Code.InvalidArgument);
    expect(outOfRange?.rawMessage).toMatch(/^settings\.max_payload_bytes: must be between 1 and 4128768/);
    const { queue: cleared } = await queues.updateQueue({ name: queue, updateMask: { paths: ["max_payload_bytes"] } }, bearer(ADMIN_TOKEN));
    expect(cleared?.settings?.maxPayloadBytes).toBe(1024 * 1024);
  });
});
