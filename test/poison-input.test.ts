import { fromJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeadLetterService } from "../gen/taskqueue/v1/dead_letter_service_pb.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { SubmitTaskRequestSchema, type SubmitTaskResponse, type SubmitTasksResponse } from "../gen/taskqueue/v1/task_service_pb.js";
import { ResultStatus, type ConnectResponse } from "../gen/taskqueue/v1/worker_service_pb.js";
import { RawWorker } from "./support/raw-worker.js";
import { concat, encode, lengthDelimited, nestedListJson, nestedListValue, RawTaskClient } from "./support/raw-proto.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/**
 * Input Postgres cannot store, or the server cannot read back, is refused at the edge with
 * INVALID_ARGUMENT naming the field, or sanitised where refusing is not an option (what a
 * worker reports); and nothing one caller sends stops the others' work.
 */

let ts: TestServer;
let raw: RawTaskClient;
const workers: RawWorker[] = [];

beforeAll(async () => {
  ts = await startTestServer();
  raw = new RawTaskClient(ts.grpcAddress);
});

afterEach(() => {
  for (const w of workers.splice(0)) w.close();
});

afterAll(async () => {
  raw?.close();
  await ts?.stop();
});

function rawWorker(): RawWorker {
  const w = new RawWorker(ts.grpcAddress);
  workers.push(w);
  return w;
}

const isAck = (m: ConnectResponse) => m.message.case === "acks";

async function countRows(queue: string): Promise<number> {
  const { rows } = await ts.pool.query("select count(*)::int as n from tasks where queue = $1", [queue]);
  return rows[0].n as number;
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the call should have failed").toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

async function expectInvalid(call: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await failure(call);
  expect(Code[error.code], error.rawMessage).toBe(Code[Code.InvalidArgument]);
  expect(error.rawMessage).toMatch(message);
}

async function expectRawInvalid(call: Promise<unknown>, message: RegExp): Promise<void> {
  const error = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as ServiceError | undefined;
  expect(error, "the call should have failed").toBeDefined();
  expect(GrpcStatus[error!.code], error!.details).toBe(GrpcStatus[GrpcStatus.INVALID_ARGUMENT]);
  expect(error!.details).toMatch(message);
}

/** Leases one task to a fresh raw worker on `queue`; returns the worker and the lease. */
async function leaseOne(queue: string) {
  const w = rawWorker();
  await w.hello([queue]);
  w.send({ case: "credit", value: { credits: 1 } });
  const [leased] = await w.tasks(1);
  return { w, leased: leased! };
}

/** A JSON POST to the gateway's Connect endpoint of `method`. */
async function postJson(method: string, body: string): Promise<{ status: number; body: { code?: string; message?: string } }> {
  const res = await fetch(`${ts.httpBaseUrl}/taskqueue.v1.TaskService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return { status: res.status, body: (await res.json()) as { code?: string; message?: string } };
}

/** A binary POST to the gateway's Connect endpoint of `method`. */
async function postBinary(method: string, body: Uint8Array): Promise<{ status: number; bytes: Uint8Array; json?: { code?: string; message?: string } }> {
  const res = await fetch(`${ts.httpBaseUrl}/taskqueue.v1.TaskService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/proto" },
    body: Buffer.from(body),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const json = res.headers.get("content-type")?.includes("json") ? (JSON.parse(Buffer.from(bytes).toString()) as { code?: string; message?: string }) : undefined;
  return { status: res.status, bytes, json };
}

describe("text a worker reports that Postgres cannot store", () => {
  it("is stored sanitised, and results on every other queue keep being recorded", async () => {
    const poisoned = uniqueQueue("nul-failure");
    const other = uniqueQueue("after-nul");
    const { task: a } = await ts.grpc.submitTask({ queue: poisoned, type: "echo", retryPolicy: { maxAttempts: 1 } });
    const { w, leased } = await leaseOne(poisoned);
    w.send({
      case: "results",
      value: {
        results: [
          {
            taskId: leased.taskId,
            leaseToken: leased.leaseToken,
            outcome: { case: "failure", value: { message: "bad\u0000text", type: "Nul\u0000Error", nonRetryable: true } },
          },
        ],
      },
    });
    const ack = await w.next(isAck, "ack of the failure");
    expect(ack.message.case === "acks" && ack.message.value.acks[0]!.status).toBe(ResultStatus.ACCEPTED);

    // A task on another queue still makes its whole round trip.
    const { task: b } = await ts.grpc.submitTask({ queue: other, type: "echo" });
    const second = await leaseOne(other);
    second.w.send({
      case: "results",
      value: { results: [{ taskId: second.leased.taskId, leaseToken: second.leased.leaseToken, outcome: { case: "success", value: {} } }] },
    });
    const okAck = await second.w.next(isAck, "ack of the success on the other queue");
    expect(okAck.message.case === "acks" && okAck.message.value.acks[0]!.status).toBe(ResultStatus.ACCEPTED);
    await waitForState(ts.grpc, b!.id, TaskState.SUCCEEDED);

    const dead = await waitForState(ts.grpc, a!.id, TaskState.DEAD);
    expect(dead.lastError?.message).toBe("bad\uFFFDtext");
    expect(dead.lastError?.type).toBe("Nul\uFFFDError");
  });

  it("a hello whose worker_id holds a NUL ends the stream with INVALID_ARGUMENT naming the field", async () => {
    const w = rawWorker();
    w.send({ case: "hello", value: { workerId: "worker\u0000one", queues: [uniqueQueue("hello")], capacity: 1 } });
    const end = await w.end();
    expect(end?.code).toBe(Code.InvalidArgument);
    expect(end?.rawMessage).toMatch(/^hello\.worker_id: /);
  });
});

describe("submits Postgres cannot store", () => {
  it("are refused alone: 400 concurrent submits, 10 poisoned, the other 390 committed", async () => {
    const queue = uniqueQueue("poisoned-batch");
    const maxDate = { seconds: 8_640_000_000_000n, nanos: 0 }; // the largest JS date
    const poison = (i: number) => {
      if (i % 3 === 0) return { labels: { tenant: `acme\u0000${i}` } };
      if (i % 3 === 1) return { idempotencyKey: `key\u0000${i}` };
      return { runAt: maxDate, startTimeout: { seconds: 1n } };
    };
    const calls = Array.from({ length: 400 }, (_, i) => {
      const bad = i % 40 === 7;
      const request = { queue, type: "echo", payloadData: jsonPayload({ i }), ...(bad ? poison(i) : { labels: { tenant: "acme" } }) };
      return ts.grpc.submitTask(request).then(
        (r) => ({ i, bad, ok: true as const, id: r.task!.id }),
        (e: unknown) => ({ i, bad, ok: false as const, error: ConnectError.from(e) }),
      );
    });
    const outcomes = await Promise.all(calls);
    const failed = outcomes.filter((o) => !o.ok);
    expect(outcomes.filter((o) => o.ok).length).toBe(390);
    expect(failed.map((o) => o.i).sort((x, y) => x - y)).toEqual(outcomes.filter((o) => o.bad).map((o) => o.i));
    for (const o of failed) {
      if (o.ok) continue;
      expect(Code[o.error.code], o.error.rawMessage).toBe(Code[Code.InvalidArgument]);
      expect(o.error.rawMessage).toMatch(/^(labels\.tenant|idempotency_key|run_at): /);
    }
    expect(await countRows(queue)).toBe(390);
  });

  it("are refused per item in SubmitTasks, over gRPC and Connect JSON, naming the field", async () => {
    for (const client of [ts.grpc, ts.connect]) {
      const queue = uniqueQueue("poisoned-items");
      // JSON cannot carry a time past year 9999 (the client refuses to write it): a NaN there.
      const fourth =
        client === ts.grpc
          ? { runAt: { seconds: 8_640_000_000_000n }, startTimeout: { seconds: 1n } }
          : { retryPolicy: { backoffMultiplier: Number.NaN } };
      const { results } = await client.submitTasks({
        tasks: [
          { queue, type: "echo", labels: { "ten\u0000ant": "x" } },
          { queue, type: "echo", labels: { tenant: "a\u0000b" } },
          { queue, type: "echo", idempotencyKey: "k\u0000" },
          { queue, type: "echo", ...fourth },
          { queue, type: "echo" },
        ],
      });
      expect(results.map((r) => r.outcome.case)).toEqual(["error", "error", "error", "error", "task"]);
      const fields = results.slice(0, 4).map((r) => (r.outcome.case === "error" ? r.outcome.value.field : ""));
      expect(fields[0]).toMatch(/^tasks\[0\]\.labels/);
      expect(fields.slice(1)).toEqual(["tasks[1].labels.tenant", "tasks[2].idempotency_key", client === ts.grpc ? "tasks[3].run_at" : "tasks[3].retry_policy.backoff_multiplier"]);
      for (const r of results.slice(0, 4)) expect(r.outcome.case === "error" && r.outcome.value.code).toBe("INVALID_ARGUMENT");
      expect(await countRows(queue)).toBe(1);
    }
  });
});

describe("payload nesting", () => {
  it("accepts 100 levels, which read back through GetTask and ListTasks", async () => {
    const queue = uniqueQueue("nest-100");
    const deep = fromJson(ValueSchema, JSON.parse(nestedListJson(100)));
    const { task } = await ts.grpc.submitTask({ queue, type: "echo", payloadData: { case: "payload", value: deep } });
    const { task: read } = await ts.grpc.getTask({ id: task!.id });
    expect(read!.payloadData.case).toBe("payload");
    const overJson = await ts.connect.listTasks({ queue });
    expect(overJson.tasks).toHaveLength(1);
  });

  it("refuses 101 levels and more on every path, naming the payload; reads keep working", async () => {
    const queue = uniqueQueue("nest-deep");
    const deep101 = fromJson(ValueSchema, JSON.parse(nestedListJson(101)));
    await expectInvalid(ts.grpc.submitTask({ queue, type: "echo", payloadData: { case: "payload", value: deep101 } }), /^payload: /);
    await expectInvalid(ts.connect.submitTask({ queue, type: "echo", payloadData: { case: "payload", value: deep101 } }), /^payload: /);

    // Deeper than a protobuf library can encode: hand-built bytes.
    const base = encode(SubmitTaskRequestSchema, { queue, type: "echo" });
    const deepTask = concat(base, lengthDelimited(3, nestedListValue(3_000)));
    await expectRawInvalid(raw.call<SubmitTaskResponse>("SubmitTask", deepTask), /^payload: /);
    const batch = concat(lengthDelimited(1, deepTask), lengthDelimited(1, base));
    const { results } = await raw.call<SubmitTasksResponse>("SubmitTasks", batch);
    expect(results.map((r) => r.outcome.case)).toEqual(["error", "task"]);
    expect(results[0]!.outcome.value).toMatchObject({ code: "INVALID_ARGUMENT", field: "tasks[0].payload" });

    const overJson = await postJson("SubmitTask", `{"queue":"${queue}","type":"echo","payload":${nestedListJson(1_000)}}`);
    expect(overJson.body.code).toBe("invalid_argument");
    expect(overJson.body.message).toMatch(/payload/);
    const overBinary = await postBinary("SubmitTask", concat(base, lengthDelimited(3, nestedListValue(150))));
    expect(overBinary.json?.code).toBe("invalid_argument");
    expect(overBinary.json?.message).toMatch(/^payload: /);

    // Only the shallow task of the batch was stored, and every task of the queue reads back.
    expect(await countRows(queue)).toBe(1);
    const page = await ts.grpc.listTasks({ queue });
    expect(page.tasks).toHaveLength(1);
    await ts.grpc.getTask({ id: page.tasks[0]!.id });
  });

  it("refuses a worker result nested deeper than 100 levels without touching the lease", async () => {
    const queue = uniqueQueue("nest-result");
    await ts.grpc.submitTask({ queue, type: "echo" });
    const { w, leased } = await leaseOne(queue);
    const deep = fromJson(ValueSchema, JSON.parse(nestedListJson(101)));
    w.send({
      case: "results",
      value: { results: [{ taskId: leased.taskId, leaseToken: leased.leaseToken, outcome: { case: "success", value: { resultData: { case: "result", value: deep } } } }] },
    });
    const ack = await w.next(isAck, "ack of the deep result");
    expect(ack.message.case === "acks" && ack.message.value.acks[0]!.status).toBe(ResultStatus.REJECTED);
    expect(ack.message.case === "acks" && ack.message.value.acks[0]!.message).toMatch(/^results\[0\]\.success\.result: /);
    // The lease still stands: the task is RUNNING (once its mark is written), not ended.
    await waitForState(ts.grpc, leased.taskId, TaskState.RUNNING);
    w.send({ case: "heartbeat", value: {} });
    const beat = await w.next((m) => m.message.case === "heartbeatAck", "heartbeat ack");
    expect(beat.message.case === "heartbeatAck" && beat.message.value.leasesExtended).toBe(1);
  });
});

describe("invalid UTF-8 in a string", () => {
  const key = (last: number) => new Uint8Array([0x6b, last]); // "k" and a byte that is never UTF-8

  it("is refused in SubmitTasks (hand-decoded), naming the field: two keys do not become one", async () => {
    const queue = uniqueQueue("utf8-batch");
    const base = encode(SubmitTaskRequestSchema, { queue, type: "echo" });
    const withKey = (last: number) => concat(base, lengthDelimited(7, key(last)));
    const withLabel = concat(base, lengthDelimited(8, concat(lengthDelimited(1, Buffer.from("tenant")), lengthDelimited(2, key(0xff)))));
    const batch = concat(lengthDelimited(1, withKey(0xff)), lengthDelimited(1, withKey(0xfe)), lengthDelimited(1, withLabel), lengthDelimited(1, base));
    const { results } = await raw.call<SubmitTasksResponse>("SubmitTasks", batch);
    expect(results.map((r) => r.outcome.case)).toEqual(["error", "error", "error", "task"]);
    expect(results.map((r) => (r.outcome.case === "error" ? r.outcome.value.field : ""))).toEqual([
      "tasks[0].idempotency_key",
      "tasks[1].idempotency_key",
      "tasks[2].labels.tenant",
      "",
    ]);
    expect(await countRows(queue)).toBe(1);
  });

  it("is refused in SubmitTask over gRPC and Connect binary, and as a lone surrogate over Connect JSON", async () => {
    const queue = uniqueQueue("utf8-one");
    const request = concat(encode(SubmitTaskRequestSchema, { queue, type: "echo" }), lengthDelimited(7, key(0xff)));
    await expectRawInvalid(raw.call<SubmitTaskResponse>("SubmitTask", request), /^idempotency_key: /);
    const binary = await postBinary("SubmitTask", request);
    expect(binary.json?.code).toBe("invalid_argument");
    expect(binary.json?.message).toMatch(/^idempotency_key: /);
    // protobuf-es itself refuses a lone surrogate in a JSON string field, naming the field its way.
    const json = await postJson("SubmitTask", `{"queue":"${queue}","type":"echo","idempotencyKey":"k\\udcff"}`);
    expect(json.body.code).toBe("invalid_argument");
    expect(json.body.message).toMatch(/idempotency_key/);
    const jsonPayloadText = await postJson("SubmitTask", `{"queue":"${queue}","type":"echo","payload":{"a":"\\ud800"}}`);
    expect(jsonPayloadText.body.code).toBe("invalid_argument");
    expect(jsonPayloadText.body.message).toMatch(/^payload: /);
    expect(await countRows(queue)).toBe(0);
  });
});

describe("values out of range", () => {
  it("refuses a NaN back-off multiplier instead of replacing it by the default", async () => {
    const queue = uniqueQueue("nan");
    await expectInvalid(
      ts.grpc.submitTask({ queue, type: "echo", retryPolicy: { backoffMultiplier: Number.NaN } }),
      /^retry_policy\.backoff_multiplier: /,
    );
    const json = await postJson("SubmitTask", `{"queue":"${queue}","type":"echo","retryPolicy":{"backoffMultiplier":"NaN"}}`);
    expect(json.body.code).toBe("invalid_argument");
    expect(await countRows(queue)).toBe(0);
  });

  it("refuses durations with nanos out of range or of the other sign, and times beyond year 9999", async () => {
    const queue = uniqueQueue("ranges");
    await expectInvalid(ts.grpc.submitTask({ queue, type: "echo", timeout: { seconds: 1n, nanos: 1_000_000_000 } }), /^timeout: /);
    await expectInvalid(ts.grpc.submitTask({ queue, type: "echo", timeout: { seconds: 5n, nanos: -1 } }), /^timeout: /);
    await expectInvalid(
      ts.grpc.submitTask({ queue, type: "echo", retryPolicy: { initialBackoff: { seconds: -1n, nanos: 500_000_000 } } }),
      /^retry_policy\.initial_backoff: /,
    );
    await expectInvalid(ts.grpc.submitTask({ queue, type: "echo", startTimeout: { seconds: 0n, nanos: -2_000_000_000 } }), /^start_timeout: /);
    await expectInvalid(ts.grpc.submitTask({ queue, type: "echo", runAt: { seconds: 8_639_999_999_999n } }), /^run_at: /);
    await expectInvalid(ts.grpc.submitTask({ queue, type: "echo", runAt: { seconds: 253_402_300_800n } }), /^run_at: /);
    await expectInvalid(ts.grpc.submitTask({ queue, type: "echo", runAt: { seconds: 1n, nanos: -1 } }), /^run_at: /);
    const { task } = await ts.grpc.submitTask({ queue, type: "echo", runAt: { seconds: 253_402_300_799n }, startTimeout: { seconds: 60n } });
    expect(task!.state).toBe(TaskState.SCHEDULED);
    expect(await countRows(queue)).toBe(1);
  });

  it("refuses PurgeDeadTasks with finished_before at int64 max", async () => {
    const deadLetters = createClient(DeadLetterService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
    await expectInvalid(
      deadLetters.purgeDeadTasks({ queue: uniqueQueue("purge"), finishedBefore: { seconds: 9_223_372_036_854_775_807n } }),
      /^finished_before: /,
    );
  });

  it("refuses text filters and reasons Postgres cannot take", async () => {
    await expectInvalid(ts.grpc.listTasks({ type: "echo\u0000" }), /^type: /);
    const { task } = await ts.grpc.submitTask({ queue: uniqueQueue("reason"), type: "echo" });
    await expectInvalid(ts.grpc.cancelTask({ id: task!.id, reason: "because\u0000" }), /^reason: /);
    expect((await ts.grpc.getTask({ id: task!.id })).task!.state).toBe(TaskState.QUEUED);
  });

  it("answers undecodable protobuf with INVALID_ARGUMENT, on SubmitTask and SubmitTasks", async () => {
    const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff]);
    await expectRawInvalid(raw.call("SubmitTask", garbage), /./);
    await expectRawInvalid(raw.call("SubmitTasks", garbage), /./);
    const { task } = await ts.grpc.submitTask({ queue: uniqueQueue("after-garbage"), type: "echo" });
    expect(task!.state).toBe(TaskState.QUEUED);
  });
});
