import http2 from "node:http2";
import type net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgresProcess } from "../tools/local-services/postgres-process.js";
import {
  connectHttp2,
  connectTcp,
  EMPTY_SETTINGS_FRAME,
  HTTP2_MAGIC,
  openGrpcCall,
  readGrpcOutcome,
  waitForClose,
  workerRequestFrame,
} from "./support/raw-http2.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/*
 * What bounds the server's connections and worker streams against careless and hostile
 * clients: handshake, header, idle and hello timeouts, the connection cap, the worker
 * stream's response buffer, and what /readyz tells. Everything runs against the real
 * server (Redis, Postgres) with short limits.
 */

const PAUSE_BYTES = 16 * 1024;
const MAX_BYTES = 1024 * 1024;
const HELLO_TIMEOUT_MS = 300;

let ts: TestServer;

beforeAll(async () => {
  ts = await startTestServer({
    handshakeTimeoutMs: 300,
    headersTimeoutMs: 300,
    connectionIdleTimeoutMs: 500,
    helloTimeoutMs: HELLO_TIMEOUT_MS,
    streamBufferBytes: PAUSE_BYTES,
    streamBufferMaxBytes: MAX_BYTES,
    streamStallTimeoutMs: 500,
  });
});

afterAll(async () => {
  await ts?.stop();
});

const WORKER_CONNECT = "/taskqueue.v1.WorkerService/Connect";

/** The value of one series in the server's /metrics, 0 when absent. */
async function metric(httpBaseUrl: string, series: string): Promise<number> {
  const text = await (await fetch(`${httpBaseUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

function ports(server: TestServer): Array<["grpc" | "http", number]> {
  return [
    ["grpc", server.server.grpcPort],
    ["http", server.server.httpPort],
  ];
}

describe("connection timeouts", () => {
  it("closes a connection that sends half an HTTP/2 preface, on both ports", async () => {
    for (const [listener, port] of ports(ts)) {
      const socket = await connectTcp(port);
      socket.write(HTTP2_MAGIC.subarray(0, 16));
      await waitForClose(socket, `a half preface on the ${listener} port`, 10_000);
      expect(await metric(ts.httpBaseUrl, `taskqueue_connections_closed_total{listener="${listener}",reason="handshake_timeout"}`)).toBeGreaterThanOrEqual(1);
    }
  });

  it("answers 408 and closes an HTTP/1.1 request whose headers drip in", async () => {
    const socket = await connectTcp(ts.server.httpPort);
    let received = "";
    socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n");
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write("X-Drip: 1\r\n");
    }, 50);
    try {
      await waitForClose(socket, "an HTTP/1.1 request dripping headers", 10_000);
    } finally {
      clearInterval(drip);
    }
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(await metric(ts.httpBaseUrl, 'taskqueue_connections_closed_total{listener="http",reason="request_timeout"}')).toBeGreaterThanOrEqual(1);
  });

  it("closes an HTTP/2 connection with no call open, on both ports", async () => {
    for (const [listener, port] of ports(ts)) {
      const session = await connectHttp2(port);
      await waitForClose(session, `an idle HTTP/2 connection to the ${listener} port`, 10_000);
    }
    expect(await metric(ts.httpBaseUrl, 'taskqueue_connections_closed_total{listener="http",reason="idle"}')).toBeGreaterThanOrEqual(1);
  });

  it("ends worker streams that send no hello with FAILED_PRECONDITION, on both ports", async () => {
    const before = await metric(ts.httpBaseUrl, 'taskqueue_worker_streams_ended_total{reason="hello_timeout"}');
    const streamsPerPort = 20;
    for (const [listener, port] of ports(ts)) {
      const session = await connectHttp2(port);
      try {
        const outcomes = await Promise.all(
          Array.from({ length: streamsPerPort }, () => readGrpcOutcome(openGrpcCall(session, WORKER_CONNECT), 10_000)),
        );
        for (const outcome of outcomes) {
          expect(outcome, listener).toMatchObject({
            status: 9,
            message: `no hello within ${HELLO_TIMEOUT_MS} ms: the first message must be hello`,
          });
        }
      } finally {
        session.destroy();
      }
    }
    expect(await metric(ts.httpBaseUrl, 'taskqueue_worker_streams_ended_total{reason="hello_timeout"}')).toBe(before + 2 * streamsPerPort);
  });
});

describe("a worker stream whose client sends but never reads", () => {
  /**
   * Opens a worker stream that says hello, then sends heartbeats without reading a single
   * response, and follows the server's buffer gauge meanwhile. Returns the stream and the
   * largest buffer seen, once the server ended the stream for not reading.
   */
  async function floodWithoutReading(port: number): Promise<{ stream: http2.ClientHttp2Stream; session: http2.ClientHttp2Session; largest: number }> {
    const ended = 'taskqueue_worker_streams_ended_total{reason="not_reading"}';
    const before = await metric(ts.httpBaseUrl, ended);
    const session = await connectHttp2(port);
    const stream = openGrpcCall(session, WORKER_CONNECT);
    // No "data" listener: the stream stays paused and HTTP/2 flow control stops the server's writes.
    stream.write(workerRequestFrame({ case: "hello", value: { workerId: "deaf-worker", queues: [uniqueQueue("deaf")], capacity: 1 } }));
    const heartbeat = workerRequestFrame({ case: "heartbeat", value: { taskIds: [] } });
    // Far more than the flow-control windows and the server's buffer hold together.
    for (let i = 0; i < 20_000; i++) stream.write(heartbeat);
    let largest = 0;
    const buffered = async () => {
      const bytes = await metric(ts.httpBaseUrl, "taskqueue_worker_stream_buffered_bytes");
      largest = Math.max(largest, bytes);
      return bytes;
    };
    // The server stops reading once its buffer passes the bound ...
    await waitFor(async () => (await buffered()) >= PAUSE_BYTES, { timeoutMs: 20_000, message: "the stream's buffer to fill" });
    // ... and, the client reading nothing for the stall timeout, ends the stream.
    await waitFor(async () => (await buffered(), (await metric(ts.httpBaseUrl, ended)) === before + 1), {
      timeoutMs: 20_000,
      message: "the server to end the stream for not reading",
    });
    expect(await buffered()).toBe(0);
    return { stream, session, largest };
  }

  it("gRPC port: stops reading past the buffer bound, ends the stream, closes the connection", async () => {
    const closedBefore = await metric(ts.httpBaseUrl, 'taskqueue_connections_closed_total{listener="grpc",reason="not_reading"}');
    const { session, largest } = await floodWithoutReading(ts.server.grpcPort);
    try {
      // Memory stayed bounded: the buffer never exceeded its hard bound (it pauses at PAUSE_BYTES).
      expect(largest).toBeGreaterThanOrEqual(PAUSE_BYTES);
      expect(largest).toBeLessThanOrEqual(MAX_BYTES);
      // The status waits behind responses the client does not read: after a grace period the
      // server closes the connection (grpc-js cannot reset one stream).
      await waitForClose(session, "the deaf client's connection", 20_000);
      expect(await metric(ts.httpBaseUrl, 'taskqueue_connections_closed_total{listener="grpc",reason="not_reading"}')).toBe(closedBefore + 1);
    } finally {
      session.destroy();
    }
  });

  it("gateway: stops reading past the buffer bound and resets the stream as RESOURCE_EXHAUSTED", async () => {
    const { stream, session, largest } = await floodWithoutReading(ts.server.httpPort);
    try {
      expect(largest).toBeGreaterThanOrEqual(PAUSE_BYTES);
      expect(largest).toBeLessThanOrEqual(MAX_BYTES);
      await waitForClose(stream, "the deaf client's stream", 10_000);
      // ENHANCE_YOUR_CALM: gRPC and Connect clients report RESOURCE_EXHAUSTED.
      expect(stream.rstCode).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    } finally {
      session.destroy();
    }
  });
});

describe("connection cap", () => {
  it("closes connections past MAX_CONNECTIONS on arrival, on both ports, and counts them", async () => {
    const capped = await startTestServer({ maxConnections: 3, handshakeTimeoutMs: 60_000, connectionIdleTimeoutMs: 60_000 });
    const held: net.Socket[] = [];
    try {
      for (const [listener, port] of ports(capped)) {
        for (let i = 0; i < 3; i++) {
          const socket = await connectTcp(port);
          socket.write(Buffer.concat([HTTP2_MAGIC, EMPTY_SETTINGS_FRAME]));
          held.push(socket);
        }
        const extra = await connectTcp(port);
        await waitForClose(extra, `a 4th connection to the ${listener} port`, 10_000);
      }
      for (const socket of held.splice(0)) socket.destroy();
      // Room again: calls are served.
      await waitFor(() => capped.grpc.getTask({ id: "00000000-0000-0000-0000-000000000000" }).then(() => true, (e: Error) => !/unavailable|refused|reset|closed/i.test(e.message)), {
        timeoutMs: 10_000,
        message: "a call to be served after the held connections closed",
      });
      // At least the two refused above (calls racing the held connections' close may add some).
      expect(await metric(capped.httpBaseUrl, 'taskqueue_connections_refused_total{listener="grpc"}')).toBeGreaterThanOrEqual(1);
      expect(await metric(capped.httpBaseUrl, 'taskqueue_connections_refused_total{listener="http"}')).toBeGreaterThanOrEqual(1);
    } finally {
      for (const socket of held) socket.destroy();
      await capped.stop();
    }
  });
});

describe("/readyz", () => {
  it("names each dependency's state, never its address or error", async () => {
    const postgres = await startPostgresProcess({ fsync: false });
    const server = await startTestServer({ databaseUrl: postgres.url });
    try {
      await postgres.kill("SIGKILL");
      const response = await fetch(`${server.httpBaseUrl}/readyz`);
      const body = await response.text();
      expect(response.status).toBe(503);
      expect(JSON.parse(body)).toEqual({ status: "unavailable", checks: { postgres: "unavailable", redis: "ok" } });
      expect(body).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|:\d{4,5}/);
      await postgres.restart();
      await waitFor(async () => (await fetch(`${server.httpBaseUrl}/readyz`)).status === 200, {
        timeoutMs: 20_000,
        message: "/readyz to answer 200 once Postgres is back",
      });
    } finally {
      await server.stop();
      await postgres.stop();
    }
  });
});
