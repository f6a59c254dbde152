import { EventEmitter, once } from "node:events";
import { Writable } from "node:stream";
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type HandlerContext, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  status as GrpcStatus,
  type Client,
  type ClientDuplexStream,
  type ServiceError,
} from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../gen/grpc/health/v1/health_pb.js";
import { TaskService } from "../gen/taskqueue/v1/task_service_pb.js";
import { WorkerService, type ConnectResponse } from "../gen/taskqueue/v1/worker_service_pb.js";
import { grpcServiceDefinition } from "../server/transport/grpc-service-definition.js";
import { startGrpcServer, type GrpcServerHandle } from "../server/transport/grpc-server.js";
import { HealthStatus } from "../server/transport/health-status.js";
import { healthRegistration } from "../server/transport/health.js";
import { startHttpGateway, type HttpGatewayHandle } from "../server/transport/http-gateway.js";
import type { Readiness } from "../server/transport/http-probes.js";
import { registerService, type ServiceRegistration } from "../server/transport/service-registration.js";

// ---------------------------------------------------------------------------------------
// In-test services: no Redis, no Postgres.

/** Emits "open" with the HandlerContext of every WorkerService.Connect stream. */
const streams = new EventEmitter();

const taskService = registerService(TaskService, {
  getTask(request, context) {
    context.responseHeader.set("x-echo", request.id);
    const timeoutMs = context.timeoutMs();
    if (timeoutMs !== undefined) context.responseHeader.set("x-timeout-ms", String(timeoutMs));
    return { task: { id: request.id, queue: "q-test", type: "echo" } };
  },
  submitTask() {
    throw new ConnectError("queue: must not be empty", Code.InvalidArgument, { "x-field": "queue" });
  },
  listTasks() {
    throw new Error("db password is hunter2");
  },
});

const workerService = registerService(WorkerService, {
  async *connect(requests, context) {
    streams.emit("open", context);
    for await (const request of requests) {
      switch (request.message.case) {
        case "hello":
          yield {
            message: {
              case: "welcome",
              value: { sessionId: `session-${request.message.value.workerId}`, serverId: "test" },
            },
          };
          break;
        case "heartbeat":
          // One ack per task id: a long burst that must respect back-pressure.
          for (let i = 0; i < request.message.value.taskIds.length; i++) {
            yield { message: { case: "heartbeatAck", value: { leasesExtended: i } } };
          }
          break;
        case "draining":
          throw new ConnectError("draining: not accepted here", Code.FailedPrecondition);
        default:
          throw new Error("unexpected message in stream");
      }
    }
  },
});

// ---------------------------------------------------------------------------------------
// Fixtures.

const logLines: string[] = [];
const logger = pino(
  { level: "debug" },
  new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(chunk.toString());
      callback();
    },
  }),
);
const health = new HealthStatus();
let readiness: Readiness = { ok: true, checks: { postgres: "ok", redis: "ok" } };
let registrations: ServiceRegistration[];
let grpcServer: GrpcServerHandle;
let gateway: HttpGatewayHandle;
let grpcTarget: string;
let httpBase: string;

beforeAll(async () => {
  health.set("taskqueue.v1.TaskService", Serving.SERVING);
  registrations = [taskService, workerService, healthRegistration(health)];
  grpcServer = await startGrpcServer({ host: "127.0.0.1", port: 0, registrations, logger });
  gateway = await startHttpGateway({
    host: "127.0.0.1",
    port: 0,
    registrations,
    logger,
    ready: () => Promise.resolve(readiness),
  });
  grpcTarget = `127.0.0.1:${grpcServer.port}`;
  httpBase = `http://127.0.0.1:${gateway.port}`;
});

afterAll(async () => {
  await Promise.all([grpcServer?.shutdown(1000), gateway?.close(1000)]);
});

// ---------------------------------------------------------------------------------------
// Client helpers.

type GenericClient = Client & Record<string, (...args: unknown[]) => unknown>;

function grpcJsClient(service: typeof TaskService | typeof WorkerService, target = grpcTarget): GenericClient {
  const Ctor = makeGenericClientConstructor(grpcServiceDefinition(service), service.name);
  return new Ctor(target, credentials.createInsecure()) as unknown as GenericClient;
}

function unaryCall(client: GenericClient, method: string, request: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    client[method](request, (error: ServiceError | null, response: unknown) => {
      if (error !== null) reject(error);
      else resolve(response);
    });
  });
}

function expectServiceError(error: unknown, code: GrpcStatus, details: string): ServiceError {
  const serviceError = error as ServiceError;
  expect(serviceError.code).toBe(code);
  expect(serviceError.details).toBe(details);
  return serviceError;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Reads `count` messages from a grpc-js client stream. */
async function readMessages<T>(call: ClientDuplexStream<never, T>, count: number): Promise<T[]> {
  const messages: T[] = [];
  const iterator = call[Symbol.asyncIterator]();
  while (messages.length < count) {
    const next = await iterator.next();
    if (next.done === true) break;
    messages.push(next.value as T);
  }
  return messages;
}

// ---------------------------------------------------------------------------------------

describe("grpc-js server", () => {
  it("serves unary calls to a grpc-js client and passes response headers", async () => {
    const client = grpcJsClient(TaskService);
    const headers = new Promise<Metadata>((resolve) => {
      const deadline = Date.now() + 30_000;
      const call = client.GetTask({ id: "t-1" }, { deadline }, () => undefined) as EventEmitter;
      call.once("metadata", resolve);
    });
    const response = (await unaryCall(client, "GetTask", { id: "abc" })) as { task: { id: string } };
    expect(response.task.id).toBe("abc");
    expect((await headers).get("x-echo")).toEqual(["t-1"]);
    // The deadline reaches the handler as its context's timeout.
    const timeoutMs = Number((await headers).get("x-timeout-ms")[0]);
    expect(timeoutMs).toBeGreaterThan(25_000);
    expect(timeoutMs).toBeLessThanOrEqual(30_000);
    client.close();
  });

  it("serves unary calls to a Connect gRPC transport", async () => {
    const client = createClient(TaskService, createGrpcTransport({ baseUrl: `http://${grpcTarget}` }));
    const response = await client.getTask({ id: "xyz" });
    expect(response.task?.id).toBe("xyz");
    expect(response.task?.queue).toBe("q-test");
  });

  it("keeps a ConnectError's code, message and metadata", async () => {
    const client = grpcJsClient(TaskService);
    const error = expectServiceError(
      await rejection(unaryCall(client, "SubmitTask", { queue: "" })),
      GrpcStatus.INVALID_ARGUMENT,
      "queue: must not be empty",
    );
    expect(error.metadata.get("x-field")).toEqual(["queue"]);
    client.close();

    const connect = createClient(TaskService, createGrpcTransport({ baseUrl: `http://${grpcTarget}` }));
    const connectError = ConnectError.from(await rejection(connect.submitTask({})));
    expect(connectError.code).toBe(Code.InvalidArgument);
    expect(connectError.rawMessage).toBe("queue: must not be empty");
  });

  it("turns a plain error into INTERNAL, logs it, and keeps serving", async () => {
    const client = grpcJsClient(TaskService);
    const before = logLines.length;
    expectServiceError(await rejection(unaryCall(client, "ListTasks", {})), GrpcStatus.INTERNAL, "internal error");
    const logged = logLines.slice(before).join("");
    expect(logged).toContain("db password is hunter2");
    expect(logged).toContain("/taskqueue.v1.TaskService/ListTasks");
    expect(((await unaryCall(client, "GetTask", { id: "still-up" })) as { task: { id: string } }).task.id).toBe(
      "still-up",
    );
    client.close();
  });

  it("fails a call whose request cannot be decoded, and keeps serving", async () => {
    const definition = grpcServiceDefinition(TaskService);
    const Ctor = makeGenericClientConstructor(
      { GetTask: { ...definition.GetTask, requestSerialize: () => Buffer.from([0xff, 0xff, 0xff, 0xff]) } },
      "Garbage",
    );
    const garbage = new Ctor(grpcTarget, credentials.createInsecure()) as unknown as GenericClient;
    const error = (await rejection(unaryCall(garbage, "GetTask", {}))) as ServiceError;
    expect([GrpcStatus.INTERNAL, GrpcStatus.INVALID_ARGUMENT]).toContain(error.code);
    garbage.close();
    const client = grpcJsClient(TaskService);
    expect(await unaryCall(client, "GetTask", { id: "ok" })).toBeTruthy();
    client.close();
  });

  it("answers UNIMPLEMENTED for a method the implementation leaves out", async () => {
    const client = grpcJsClient(TaskService);
    expect(((await rejection(unaryCall(client, "CancelTask", { id: "x" }))) as ServiceError).code).toBe(
      GrpcStatus.UNIMPLEMENTED,
    );
    client.close();
  });

  it("streams both ways on a bidi call and ends with OK", async () => {
    const client = grpcJsClient(WorkerService);
    const call = client.Connect() as ClientDuplexStream<unknown, ConnectResponse>;
    const ended = once(call, "status");
    call.write({ message: { case: "hello", value: { workerId: "w1" } } });
    call.write({ message: { case: "hello", value: { workerId: "w2" } } });
    const welcomes = await readMessages(call, 2);
    expect(welcomes.map((m) => m.message.case === "welcome" && m.message.value.sessionId)).toEqual([
      "session-w1",
      "session-w2",
    ]);
    call.end();
    const [status] = (await ended) as [{ code: number }];
    expect(status.code).toBe(GrpcStatus.OK);
    client.close();
  });

  it("writes a long burst on a bidi stream respecting back-pressure, in order", async () => {
    const client = createClient(WorkerService, createGrpcTransport({ baseUrl: `http://${grpcTarget}` }));
    const count = 10_000;
    const taskIds = Array.from({ length: count }, (_, i) => `t${i}`);
    async function* requests() {
      yield { message: { case: "heartbeat" as const, value: { taskIds } } };
    }
    let expected = 0;
    for await (const response of client.connect(requests())) {
      expect(response.message.case === "heartbeatAck" && response.message.value.leasesExtended).toBe(expected);
      expected++;
    }
    expect(expected).toBe(count);
  });

  it("ends a bidi stream with the handler's error status", async () => {
    const client = createClient(WorkerService, createGrpcTransport({ baseUrl: `http://${grpcTarget}` }));
    async function* requests() {
      yield { message: { case: "hello" as const, value: { workerId: "w" } } };
      yield { message: { case: "draining" as const, value: { reason: "test" } } };
    }
    const received: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const response of client.connect(requests())) received.push(response.message.case ?? "");
      })(),
    );
    expect(received).toEqual(["welcome"]);
    expect(ConnectError.from(error).code).toBe(Code.FailedPrecondition);
    expect(ConnectError.from(error).rawMessage).toBe("draining: not accepted here");
  });

  it("ends a bidi stream with INTERNAL when the handler throws a plain error", async () => {
    const client = createClient(WorkerService, createGrpcTransport({ baseUrl: `http://${grpcTarget}` }));
    async function* requests() {
      yield { message: { case: "progress" as const, value: { taskId: "t", percent: 50 } } };
    }
    const error = ConnectError.from(
      await rejection(
        (async () => {
          for await (const response of client.connect(requests())) expect(response).toBeUndefined();
        })(),
      ),
    );
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).toBe("internal error");
  });

  it("aborts the handler's signal when the client cancels a stream", async () => {
    const client = grpcJsClient(WorkerService);
    const opened = once(streams, "open") as Promise<[HandlerContext]>;
    const call = client.Connect() as ClientDuplexStream<unknown, ConnectResponse>;
    call.on("error", () => undefined);
    call.write({ message: { case: "hello", value: { workerId: "w-cancel" } } });
    const [context] = await opened;
    await readMessages(call, 1);
    expect(context.protocolName).toBe("grpc");
    const aborted = once(context.signal, "abort");
    call.cancel();
    await aborted;
    expect(context.signal.aborted).toBe(true);
    client.close();
  });
});

describe("health", () => {
  const healthClient = () => createClient(Health, createGrpcTransport({ baseUrl: `http://${grpcTarget}` }));

  it("answers Check for the server, a known service, and NOT_FOUND otherwise", async () => {
    expect((await healthClient().check({ service: "" })).status).toBe(Serving.SERVING);
    expect((await healthClient().check({ service: "taskqueue.v1.TaskService" })).status).toBe(Serving.SERVING);
    const error = ConnectError.from(await rejection(healthClient().check({ service: "nope.Service" })));
    expect(error.code).toBe(Code.NotFound);
  });

  it("streams changes on Watch, and SERVICE_UNKNOWN for an unknown service", async () => {
    const service = "taskqueue.v1.WorkerService";
    health.set(service, Serving.SERVING);
    const seen = await watchUntil(service, 2, () => health.set(service, Serving.NOT_SERVING));
    expect(seen).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
    expect(await watchUntil("nope.Service", 1)).toEqual([Serving.SERVICE_UNKNOWN]);
  });

  /** Watches until `count` statuses arrived, calling `afterFirst` once the first is in. */
  async function watchUntil(service: string, count: number, afterFirst?: () => void): Promise<Serving[]> {
    const abort = new AbortController();
    const seen: Serving[] = [];
    try {
      for await (const response of healthClient().watch({ service }, { signal: abort.signal })) {
        seen.push(response.status);
        if (seen.length === 1) afterFirst?.();
        if (seen.length === count) abort.abort();
      }
    } catch (error) {
      expect(ConnectError.from(error).code).toBe(Code.Canceled);
    }
    return seen;
  }
});

// ---------------------------------------------------------------------------------------
// Reflection, spoken with hand-encoded messages so no reflection client is needed.

type ReflectionAnswer = { services: string[]; files: Uint8Array[]; error?: string };

function reflectionRequest(field: number, value: string): Buffer {
  return Buffer.from(new BinaryWriter().tag(field, WireType.LengthDelimited).string(value).finish());
}

function decodeReflectionResponse(bytes: Uint8Array): ReflectionAnswer {
  const answer: ReflectionAnswer = { services: [], files: [] };
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 6) {
      const list = new BinaryReader(reader.bytes());
      while (list.pos < list.len) {
        list.tag();
        const service = new BinaryReader(list.bytes());
        service.tag();
        answer.services.push(service.string());
      }
    } else if (field === 4) {
      const files = new BinaryReader(reader.bytes());
      while (files.pos < files.len) {
        files.tag();
        answer.files.push(files.bytes());
      }
    } else if (field === 7) {
      answer.error = new TextDecoder().decode(reader.bytes());
    } else {
      reader.skip(wireType);
    }
  }
  return answer;
}

async function reflect(version: "v1" | "v1alpha", field: number, value: string): Promise<ReflectionAnswer> {
  const identity = (b: Buffer) => b;
  const Ctor = makeGenericClientConstructor(
    {
      ServerReflectionInfo: {
        path: `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`,
        requestStream: true,
        responseStream: true,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    "Reflection",
  );
  const client = new Ctor(grpcTarget, credentials.createInsecure()) as unknown as GenericClient;
  const call = client.ServerReflectionInfo() as ClientDuplexStream<Buffer, Buffer>;
  call.write(reflectionRequest(field, value));
  call.end();
  const [response] = await readMessages(call, 1);
  client.close();
  return decodeReflectionResponse(response);
}

describe("reflection", () => {
  for (const version of ["v1", "v1alpha"] as const) {
    it(`${version} lists the services`, async () => {
      const { services } = await reflect(version, 7, "*");
      expect(services).toEqual(
        expect.arrayContaining(["taskqueue.v1.TaskService", "taskqueue.v1.WorkerService", "grpc.health.v1.Health"]),
      );
    });

    it(`${version} returns descriptors with comments for a symbol`, async () => {
      const { files, error } = await reflect(version, 4, "taskqueue.v1.TaskService");
      expect(error).toBeUndefined();
      const decoded = files.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
      const main = decoded.find((file) => file.name === "taskqueue/v1/task_service.proto");
      expect(main?.service.map((s) => s.name)).toContain("TaskService");
      const comments = main?.sourceCodeInfo?.location.map((l) => l.leadingComments).join("\n") ?? "";
      expect(comments).toContain("TaskService is the producer API");
      // Imports come along so a client can resolve every type.
      expect(decoded.map((file) => file.name)).toEqual(
        expect.arrayContaining(["taskqueue/v1/task.proto", "google/protobuf/struct.proto"]),
      );
    });
  }
});

// ---------------------------------------------------------------------------------------

describe("http gateway", () => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${httpBase}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });

  it("serves Connect JSON to plain fetch", async () => {
    const response = await post("/taskqueue.v1.TaskService/GetTask", JSON.stringify({ id: "json-1" }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ task: { id: "json-1", queue: "q-test", type: "echo" } });
  });

  it("answers malformed JSON with a Connect invalid_argument error", async () => {
    const response = await post("/taskqueue.v1.TaskService/GetTask", '{"id": ');
    expect(response.status).toBe(400);
    const body = (await response.json()) as { code: string; message: string };
    expect(body.code).toBe("invalid_argument");
    expect(typeof body.message).toBe("string");
    const after = await post("/taskqueue.v1.TaskService/GetTask", "{}");
    expect(after.status).toBe(200);
  });

  it("maps errors like the grpc-js server does", async () => {
    const invalid = await post("/taskqueue.v1.TaskService/SubmitTask", "{}");
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ code: "invalid_argument", message: "queue: must not be empty" });
    const internal = await post("/taskqueue.v1.TaskService/ListTasks", "{}");
    expect(internal.status).toBe(500);
    const body = await internal.text();
    expect(JSON.parse(body)).toEqual({ code: "internal", message: "internal error" });
    expect(body).not.toContain("hunter2");
  });

  it("serves gRPC-Web over HTTP/1.1", async () => {
    const transport: Transport = createGrpcWebTransport({ baseUrl: httpBase, httpVersion: "1.1" });
    const client = createClient(TaskService, transport);
    expect((await client.getTask({ id: "web-1" })).task?.id).toBe("web-1");
    const error = ConnectError.from(await rejection(client.submitTask({})));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe("queue: must not be empty");
  });

  it("serves gRPC over h2c on the same port, bidi included", async () => {
    const client = createClient(WorkerService, createGrpcTransport({ baseUrl: httpBase }));
    async function* requests() {
      yield { message: { case: "hello" as const, value: { workerId: "h2c" } } };
    }
    const received: string[] = [];
    for await (const response of client.connect(requests())) {
      if (response.message.case === "welcome") received.push(response.message.value.sessionId);
    }
    expect(received).toEqual(["session-h2c"]);
    const grpcJs = grpcJsClient(TaskService, `127.0.0.1:${gateway.port}`);
    expect(((await unaryCall(grpcJs, "GetTask", { id: "gw" })) as { task: { id: string } }).task.id).toBe("gw");
    grpcJs.close();
  });

  it("answers /healthz and /readyz", async () => {
    const live = await fetch(`${httpBase}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: "ok" });

    readiness = { ok: true, checks: { postgres: "ok", redis: "ok" } };
    const ready = await fetch(`${httpBase}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ok", checks: { postgres: "ok", redis: "ok" } });

    const before = logLines.length;
    readiness = {
      ok: false,
      checks: { postgres: "ok", redis: "unavailable" },
      errors: { redis: new Error("connect ECONNREFUSED 10.1.2.3:6379") },
    };
    const notReady = await fetch(`${httpBase}/readyz`);
    expect(notReady.status).toBe(503);
    const body = await notReady.text();
    expect(JSON.parse(body)).toEqual({ status: "unavailable", checks: { postgres: "ok", redis: "unavailable" } });
    // The detail (an internal address) goes to the log only.
    expect(body).not.toContain("10.1.2.3");
    expect(logLines.slice(before).join("")).toContain("connect ECONNREFUSED 10.1.2.3:6379");
  });

  it("answers CORS preflights and exposes the protocol headers", async () => {
    const preflight = await fetch(`${httpBase}/taskqueue.v1.TaskService/GetTask`, {
      method: "OPTIONS",
      headers: {
        origin: "https://dashboard.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://dashboard.example");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    expect(preflight.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "connect-protocol-version",
    );

    const actual = await post("/taskqueue.v1.TaskService/GetTask", "{}", { origin: "https://dashboard.example" });
    expect(actual.headers.get("access-control-allow-origin")).toBe("https://dashboard.example");
    expect(actual.headers.get("access-control-expose-headers")?.toLowerCase()).toContain("grpc-status");
  });
});

describe("limits", () => {
  it("refuses requests above maxReceiveMessageBytes on both servers", async () => {
    const regs = [taskService];
    const grpc = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      registrations: regs,
      logger,
      reflection: false,
      maxReceiveMessageBytes: 1024,
    });
    const http = await startHttpGateway({ host: "127.0.0.1", port: 0, registrations: regs, logger, maxReceiveMessageBytes: 1024 });
    try {
      const client = grpcJsClient(TaskService, `127.0.0.1:${grpc.port}`);
      const big = "x".repeat(4096);
      expect(((await rejection(unaryCall(client, "GetTask", { id: big }))) as ServiceError).code).toBe(
        GrpcStatus.RESOURCE_EXHAUSTED,
      );
      expect(await unaryCall(client, "GetTask", { id: "small" })).toBeTruthy();
      client.close();

      const response = await fetch(`http://127.0.0.1:${http.port}/taskqueue.v1.TaskService/GetTask`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: big }),
      });
      expect(((await response.json()) as { code: string }).code).toBe("resource_exhausted");
    } finally {
      await Promise.all([grpc.shutdown(100), http.close(100)]);
    }
  });
});

describe("shutdown", () => {
  it("ends open streams after the grace period on both servers", async () => {
    const regs = [workerService];
    const grpc = await startGrpcServer({ host: "127.0.0.1", port: 0, registrations: regs, logger, reflection: false });
    const http = await startHttpGateway({ host: "127.0.0.1", port: 0, registrations: regs, logger });
    const contexts: HandlerContext[] = [];
    const onOpen = (context: HandlerContext) => contexts.push(context);
    streams.on("open", onOpen);
    try {
      const calls = [`127.0.0.1:${grpc.port}`, `127.0.0.1:${http.port}`].map((target) => {
        const client = grpcJsClient(WorkerService, target);
        const call = client.Connect() as ClientDuplexStream<unknown, ConnectResponse>;
        call.on("error", () => undefined);
        call.write({ message: { case: "hello", value: { workerId: "stay" } } });
        const status = new Promise<{ code: number }>((resolve) => call.once("status", resolve));
        return { client, call, status };
      });
      await Promise.all(calls.map(({ call }) => readMessages(call, 1)));
      await Promise.all([grpc.shutdown(100), http.close(100)]);
      const statuses = await Promise.all(calls.map(({ status }) => status));
      expect(statuses.every(({ code }) => code !== GrpcStatus.OK)).toBe(true);
      expect(contexts.every((context) => context.signal.aborted)).toBe(true);
      for (const { client } of calls) client.close();
    } finally {
      streams.off("open", onOpen);
    }
  });
});
