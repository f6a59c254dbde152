import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { repoRoot } from "./support/client-toolchains.js";
import { ExampleProcess } from "./support/example-process.js";
import { GrpcJsWorkerStream } from "./support/grpc-js-worker-stream.js";
import { RawWorker } from "./support/raw-worker.js";
import { readAttempts, readTask } from "./support/task-db.js";
import { jsonPayload } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/**
 * How a server drain ends the worker streams, as three client stacks see it: grpc-js, Connect
 * for Node (its own HTTP/2 client) and Python's grpcio (gRPC's C core).
 */

const DRAIN_TIMEOUT_MS = 1_500;
const DRAINED = "server drained; reconnect to another server";

const opened: Array<{ close(): void } | ExampleProcess> = [];
let ts: TestServer | undefined;

afterEach(async () => {
  for (const o of opened.splice(0)) {
    if (o instanceof ExampleProcess) await o.stop(5_000);
    else o.close();
  }
  await ts?.stop();
  ts = undefined;
});

/** The Python raw stream (test/support/raw-worker-stream.py) on `queue`, granting `credits`. */
function pythonStream(address: string, queue: string, credits: number): ExampleProcess {
  const env = { ...process.env, PYTHONPATH: join(repoRoot, "clients/python/src"), PYTHONUNBUFFERED: "1" };
  const script = join(repoRoot, "test/support/raw-worker-stream.py");
  const proc = new ExampleProcess("python raw stream", "python3", [script, "--server", address, "--queue", queue, "--credits", String(credits)], { cwd: repoRoot, env });
  opened.push(proc);
  return proc;
}

async function threeStreams(queues: [string, string, string], credits: number) {
  const server = ts!;
  const grpcJs = new GrpcJsWorkerStream(server.grpcAddress);
  const connect = new RawWorker(server.grpcAddress);
  opened.push(grpcJs, connect);
  const welcome = await grpcJs.hello([queues[0]]);
  await connect.hello([queues[1]]);
  const python = pythonStream(server.grpcAddress, queues[2], credits);
  const pythonWelcome = await python.waitForEvent((e) => e.event === "welcome", "its welcome", 30_000);
  if (credits > 0) {
    grpcJs.send({ case: "credit", value: { credits } });
    connect.send({ case: "credit", value: { credits } });
  }
  return { grpcJs, connect, python, welcome, pythonWelcome };
}

describe("a server drain ends worker streams with a status every client stack sees", () => {
  it("ends a stream that holds nothing with OK as soon as the drain is done", async () => {
    ts = await startTestServer({ drainTimeoutMs: DRAIN_TIMEOUT_MS });
    const q = uniqueQueue("drain-ok");
    const { grpcJs, connect, python, pythonWelcome } = await threeStreams([`${q}-a`, `${q}-b`, `${q}-c`], 0);
    // The welcome always states both timings (here the defaults), whatever the client stack.
    expect(pythonWelcome).toMatchObject({ has_heartbeat_interval: true, heartbeat_interval_ms: 5_000, has_lease_duration: true, lease_duration_ms: 15_000 });

    const report = await ts.server.stop();
    expect(report).toMatchObject({ complete: true, unfinished: [] });

    const status = await grpcJs.end();
    expect(grpcJs.received.some((m) => m.message.case === "drain")).toBe(true);
    expect(status.code).toBe(GrpcStatus.OK);
    expect(await connect.end()).toBeNull();
    expect(connect.received.some((m) => m.message.case === "drain")).toBe(true);
    await python.waitForEvent((e) => e.event === "drain", "the drain");
    expect(await python.waitForEvent((e) => e.event === "end", "the end of its stream")).toMatchObject({ code: "OK" });
  });

  it("ends a stream still holding a task at the drain deadline with UNAVAILABLE, and records the attempt WORKER_LOST", async () => {
    ts = await startTestServer({ drainTimeoutMs: DRAIN_TIMEOUT_MS });
    const q = uniqueQueue("drain-cut");
    const queues: [string, string, string] = [`${q}-a`, `${q}-b`, `${q}-c`];
    const { grpcJs, connect, python } = await threeStreams(queues, 1);
    const ids: string[] = [];
    for (const queue of queues) ids.push((await ts.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload(queue) })).task!.id);
    await grpcJs.tasks(1);
    await connect.tasks(1);
    await python.waitForEvent((e) => e.event === "assignment", "its task");

    const report = await ts.server.stop();
    expect(report).toMatchObject({ complete: true, unfinished: [] });

    const status = await grpcJs.end();
    expect({ code: status.code, details: status.details }).toEqual({ code: GrpcStatus.UNAVAILABLE, details: DRAINED });
    const connectEnd = await connect.end();
    expect({ code: connectEnd?.code, message: connectEnd?.rawMessage }).toEqual({ code: Code.Unavailable, message: DRAINED });
    expect(await python.waitForEvent((e) => e.event === "end", "the end of its stream")).toMatchObject({ code: "UNAVAILABLE", details: DRAINED });

    // The server committed each lease's end before stop() resolved.
    for (const id of ids) {
      expect(await readTask(ts.pool, id)).toMatchObject({ state: "QUEUED", attempt: 1 });
      const [attempt] = await readAttempts(ts.pool, id);
      expect(attempt).toMatchObject({ attempt: 1, outcome: "WORKER_LOST" });
      expect(attempt!.finished_at).not.toBeNull();
    }
  });
});
