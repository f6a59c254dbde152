import { randomBytes } from "node:crypto";
import type http2 from "node:http2";
import { deflateSync, gzipSync } from "node:zlib";
import type { DescService } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { DeadLetterService } from "../gen/taskqueue/v1/dead_letter_service_pb.js";
import { TaskService } from "../gen/taskqueue/v1/task_service_pb.js";
import { ResultStatus, WorkerService } from "../gen/taskqueue/v1/worker_service_pb.js";
import { FaultStack } from "./support/fault-stack.js";
import type { ServerProcess } from "./support/processes.js";
import {
  connectHttp2,
  connectTcp,
  EMPTY_SETTINGS_FRAME,
  grpcFrame,
  HTTP2_MAGIC,
  openGrpcCall,
  readGrpcOutcome,
  waitForClose,
} from "./support/raw-http2.js";
import { RawWorker } from "./support/raw-worker.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { uniqueQueue } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/*
 * Requests a hostile or careless client can send, against a server in its own process (a
 * crash would otherwise take the test run with it): after each batch the process must still
 * run and serve a whole submit → worker → result roundtrip.
 */

let stack: FaultStack;
let server: ServerProcess;

beforeAll(async () => {
  stack = await FaultStack.create();
  // Short handshake and idle timeouts: a connection left mid-frame is closed in seconds.
  server = await stack.startServer({ HANDSHAKE_TIMEOUT_MS: "1000", CONNECTION_IDLE_TIMEOUT_MS: "2000", HEADERS_TIMEOUT_MS: "2000" });
});

afterAll(async () => {
  await stack?.close();
});

/** Submits a task, has a hand-driven worker run it, and checks it SUCCEEDED. */
async function roundtrip(label: string): Promise<void> {
  expect(server.process.running, "the server process still runs").toBe(true);
  const queue = uniqueQueue(label);
  const client = stack.client(server);
  const worker = new RawWorker(server.grpcAddress);
  try {
    await worker.hello([queue], `${label}-worker`);
    const { task } = await client.submitTask({ queue, type: "echo", payloadData: jsonPayload({ label }) });
    worker.send({ case: "credit", value: { credits: 1 } });
    const [leased] = await worker.tasks(1);
    expect(leased!.taskId).toBe(task!.id);
    worker.send({
      case: "results",
      value: {
        results: [
          {
            taskId: leased!.taskId,
            leaseToken: leased!.leaseToken,
            outcome: { case: "success", value: { resultData: { case: "result", value: { kind: { case: "stringValue", value: "ok" } } } } },
          },
        ],
      },
    });
    const ack = await worker.next((m) => m.message.case === "acks", "the result's ack");
    expect(ack.message.case === "acks" && ack.message.value.acks[0]!.status).toBe(ResultStatus.ACCEPTED);
    await waitForState(client, task!.id, TaskState.SUCCEEDED);
  } finally {
    worker.close();
  }
}

/** Sends one unary request body on `path` with `headers`, and waits for the server to end the call. */
async function rawCall(
  session: http2.ClientHttp2Session,
  path: string,
  body: Buffer,
  headers: http2.OutgoingHttpHeaders = {},
): Promise<Awaited<ReturnType<typeof readGrpcOutcome>>> {
  const stream = openGrpcCall(session, path, headers);
  const outcome = readGrpcOutcome(stream, 15_000);
  stream.end(body);
  return outcome;
}

describe("a message marked compressed whose bytes are not", () => {
  for (const encoding of ["gzip", "deflate"]) {
    it(`${encoding}: the call fails, the server keeps serving`, async () => {
      for (const port of [server.grpcPort, server.httpPort]) {
        const session = await connectHttp2(port);
        try {
          const outcome = await rawCall(session, "/taskqueue.v1.TaskService/GetTask", grpcFrame(randomBytes(32), true), {
            "grpc-encoding": encoding,
          });
          // grpc-js answers INTERNAL, the Connect gateway INVALID_ARGUMENT or INTERNAL.
          expect(outcome.status, `port ${port}`).toBeGreaterThan(0);
        } finally {
          session.destroy();
        }
      }
      await roundtrip(`bad-${encoding}`);
    });
  }
});

/** A small deterministic generator (mulberry32), so that a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every RPC path the gRPC port serves. */
function rpcPaths(): string[] {
  const services: DescService[] = [TaskService, WorkerService, DeadLetterService, Health];
  const paths = services.flatMap((s) => s.methods.map((m) => `/${s.typeName}/${m.name}`));
  return [
    ...paths,
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    "/taskqueue.v1.NoSuchService/Nothing",
  ];
}

/** One malformed gRPC request: its body and extra headers. */
interface MalformedCall {
  kind: string;
  body: Buffer;
  headers: http2.OutgoingHttpHeaders;
}

function malformedCall(next: () => number): MalformedCall {
  const bytes = (max: number) => randomBytesFrom(next, Math.floor(next() * max));
  const cases: Array<() => MalformedCall> = [
    () => ({ kind: "unframed random bytes", body: bytes(64), headers: {} }),
    () => {
      const frame = grpcFrame(bytes(16));
      frame.writeUInt32BE(1_000 + Math.floor(next() * 100_000), 1);
      return { kind: "length longer than the body", body: frame, headers: {} };
    },
    () => {
      const frame = grpcFrame(bytes(8));
      frame.writeUInt32BE(0xffffffff, 1);
      return { kind: "length of 4 GiB", body: frame, headers: {} };
    },
    () => {
      const encodings = ["gzip", "deflate", "identity", "snappy", ""];
      const encoding = encodings[Math.floor(next() * encodings.length)]!;
      return { kind: `compressed flag, encoding "${encoding}"`, body: grpcFrame(bytes(64), true), headers: encoding ? { "grpc-encoding": encoding } : {} };
    },
    () => ({ kind: "gzip of garbage", body: grpcFrame(gzipSync(bytes(256)), true), headers: { "grpc-encoding": "gzip" } }),
    () => ({ kind: "deflate bomb (16 MiB of zeros)", body: grpcFrame(deflateSync(Buffer.alloc(16 * 1024 * 1024)), true), headers: { "grpc-encoding": "deflate" } }),
    () => {
      const frame = grpcFrame(bytes(32));
      frame[0] = 2 + Math.floor(next() * 250);
      return { kind: "bad flag byte", body: frame, headers: {} };
    },
    () => ({ kind: "random protobuf bytes", body: grpcFrame(bytes(200)), headers: {} }),
    () => ({ kind: "truncated frame header", body: grpcFrame(bytes(8)).subarray(0, 1 + Math.floor(next() * 4)), headers: {} }),
    () => ({ kind: "truncated frame", body: grpcFrame(bytes(64)).subarray(0, 7), headers: {} }),
    () => ({ kind: "valid frame then garbage", body: Buffer.concat([grpcFrame(Buffer.alloc(0)), bytes(40)]), headers: {} }),
    () => ({ kind: "many empty frames", body: Buffer.concat(Array.from({ length: 500 }, () => grpcFrame(Buffer.alloc(0)))), headers: {} }),
    () => ({ kind: "wrong content-type", body: grpcFrame(bytes(16)), headers: { "content-type": "application/json" } }),
    () => ({ kind: "bad grpc-timeout", body: grpcFrame(Buffer.alloc(0)), headers: { "grpc-timeout": "soon" } }),
    () => ({ kind: "huge metadata value", body: grpcFrame(Buffer.alloc(0)), headers: { "x-junk": "j".repeat(8_000) } }),
  ];
  return cases[Math.floor(next() * cases.length)]!();
}

function randomBytesFrom(next: () => number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  for (let i = 0; i < length; i++) buffer[i] = Math.floor(next() * 256);
  return buffer;
}

/** Malformed Connect, gRPC-Web and JSON requests for the gateway's HTTP/1.1 side. */
function malformedHttpRequest(next: () => number): { body: Uint8Array<ArrayBuffer> | string; contentType: string } {
  const deep = "[".repeat(100_000);
  const bytes = (length: number) => new Uint8Array(randomBytesFrom(next, length));
  const bodies: Array<{ body: Uint8Array<ArrayBuffer> | string; contentType: string }> = [
    { body: "{", contentType: "application/json" },
    { body: "[]", contentType: "application/json" },
    { body: "null", contentType: "application/json" },
    { body: '{"queue": 5, "payload": {"a": [1, {"b": null}]}}', contentType: "application/json" },
    { body: deep, contentType: "application/json" },
    { body: `{"payload": "${"\\u0000".repeat(1000)}"}`, contentType: "application/json" },
    { body: bytes(128), contentType: "application/json" },
    { body: bytes(128), contentType: "application/proto" },
    { body: bytes(128), contentType: "application/connect+json" },
    { body: bytes(128), contentType: "application/connect+proto" },
    { body: bytes(128), contentType: "application/grpc-web+proto" },
    { body: new Uint8Array(grpcFrame(randomBytesFrom(next, 64), true)), contentType: "application/grpc-web+proto" },
    { body: "x".repeat(100), contentType: "text/plain" },
  ];
  return bodies[Math.floor(next() * bodies.length)]!;
}

/** The value of series `series` (name and labels, as /metrics writes them), or 0 when absent. */
async function metricValue(series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe("malformed requests to every service on both ports", () => {
  it("answers or resets each one, and the server keeps serving", { timeout: 180_000 }, async () => {
    const next = random(20_240_611);
    await roundtrip("before-fuzz");
    const heapBefore = await metricValue("taskqueue_nodejs_heap_size_used_bytes");
    const paths = rpcPaths();
    const kinds = new Map<string, number>();

    // gRPC framing, on the gRPC port and the gateway's h2c side.
    for (const port of [server.grpcPort, server.httpPort]) {
      for (let batch = 0; batch < 8; batch++) {
        const session = await connectHttp2(port);
        try {
          const calls = Array.from({ length: 20 }, () => {
            const path = paths[Math.floor(next() * paths.length)]!;
            const call = malformedCall(next);
            kinds.set(call.kind, (kinds.get(call.kind) ?? 0) + 1);
            // A deadline ends server-streaming calls (Health.Watch) that a request happens to start.
            const deadline = call.headers["grpc-timeout"] === undefined ? { "grpc-timeout": "3S" } : {};
            return rawCall(session, path, call.body, { ...deadline, ...call.headers }).catch((error: Error) => {
              throw new Error(`${call.kind} on ${path} (port ${port}): ${error.message}`);
            });
          });
          await Promise.all(calls);
        } finally {
          session.destroy();
        }
      }
    }
    expect(kinds.size).toBeGreaterThan(10);
    await roundtrip("after-grpc-fuzz");

    // HTTP/2 framing itself: garbage after the preface, and no preface at all. A connection
    // left mid-frame is closed by the idle timeout.
    for (const port of [server.grpcPort, server.httpPort]) {
      const garbage = Array.from({ length: 20 }, (_, i) => {
        const bytes = randomBytesFrom(next, 1 + Math.floor(next() * 512));
        return i % 2 === 0 ? Buffer.concat([HTTP2_MAGIC, EMPTY_SETTINGS_FRAME, bytes]) : bytes;
      });
      await Promise.all(
        garbage.map(async (bytes) => {
          const socket = await connectTcp(port);
          socket.write(bytes);
          await waitForClose(socket, `a connection sending garbage frames to port ${port}`, 15_000);
        }),
      );
    }
    await roundtrip("after-frame-fuzz");

    // Connect, gRPC-Web and JSON bodies on the gateway (HTTP/1.1).
    const requests = Array.from({ length: 80 }, () => ({ path: paths[Math.floor(next() * paths.length)]!, ...malformedHttpRequest(next) }));
    for (let i = 0; i < requests.length; i += 20) {
      await Promise.all(
        requests.slice(i, i + 20).map(async ({ path, body, contentType }) => {
          const response = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
            method: "POST",
            headers: { "content-type": contentType, "connect-protocol-version": "1" },
            body,
            signal: AbortSignal.timeout(15_000),
          });
          await response.arrayBuffer();
          expect(response.status, `${contentType} on ${path}`).toBeGreaterThanOrEqual(200);
        }),
      );
    }
    // A request line no parser accepts, and headers past the size limit.
    for (const raw of ["GARBAGE\r\n\r\n", `GET / HTTP/1.1\r\nX-Big: ${"b".repeat(64 * 1024)}\r\n\r\n`]) {
      const socket = await connectTcp(server.httpPort);
      socket.write(raw);
      await waitForClose(socket, "a connection sending a malformed HTTP/1.1 request", 15_000);
    }
    await roundtrip("after-http-fuzz");

    // Nothing of the fuzz stays behind: its connections are closed (the idle timeout is 2 s;
    // what is left is this test's own client and the keep-alive connections that its /metrics
    // requests reuse, where the fuzz opened dozens), no response waits in
    // a stream buffer, and the heap holds no more than noise.
    await waitFor(
      async () =>
        (await metricValue('taskqueue_open_connections{listener="grpc"}')) <= 1 &&
        (await metricValue('taskqueue_open_connections{listener="http"}')) <= 2,
      { timeoutMs: 15_000, message: "the fuzz's connections to close" },
    ).catch(async (error: Error) => {
      const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
      throw new Error(`${error.message}: ${text.split("\n").filter((l) => l.startsWith("taskqueue_open_conn")).join("; ")}`);
    });
    expect(await metricValue("taskqueue_worker_stream_buffered_bytes")).toBe(0);
    const heapAfter = await metricValue("taskqueue_nodejs_heap_size_used_bytes");
    expect(heapBefore).toBeGreaterThan(0);
    expect(heapAfter - heapBefore, `heap ${heapBefore} -> ${heapAfter} bytes`).toBeLessThan(64 * 1024 * 1024);
  });
});
