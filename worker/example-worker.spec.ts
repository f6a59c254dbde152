import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readExampleConfig } from "./example/config.js";
import { fail, sleep } from "./example/handlers.js";
import type { TaskContext } from "./index.js";
import { withDeadline } from "./testing/deadline.js";
import { leasedTask, testLogger } from "./testing/fixtures.js";
import { collectResults, sendAcks, successOf } from "./testing/harness.js";
import { startScriptedServer, type ScriptedServer } from "./testing/scripted-server.js";

const root = fileURLToPath(new URL("..", import.meta.url));

function context<P>(payload: P, attempt = 1, signal = new AbortController().signal): TaskContext<P> {
  return {
    id: "t",
    queue: "q",
    type: "x",
    attempt,
    maxAttempts: 5,
    leaseToken: "l",
    payload,
    labels: {},
    createdAt: undefined,
    createdAtMs: undefined,
    timeoutMs: undefined,
    signal,
    logger: testLogger(),
    progress: () => {},
  };
}

describe("example handlers and config", () => {
  it("fail throws on the first attempts, non-retryably when asked, then succeeds", () => {
    expect(() => fail(context({ times: 2 }, 2))).toThrow(/attempt 2 of 2/);
    expect(() => fail(context({ times: 1, retryable: false }, 1))).toThrow(expect.objectContaining({ name: "NonRetryableError" }));
    expect(fail(context({ times: 2 }, 3))).toEqual({ attempt: 3 });
  });

  it("sleep stops when its signal aborts", async () => {
    const controller = new AbortController();
    const sleeping = sleep(context({ ms: 60_000 }, 1, controller.signal));
    controller.abort(new Error("stop"));
    await expect(sleeping).rejects.toThrow();
  });

  it("reads flags before the environment", () => {
    expect(readExampleConfig(["--server", "h:1", "--queues=a,b"], { TQ_SERVER: "e:2", TQ_CONCURRENCY: "3" })).toEqual({
      server: "h:1",
      queues: ["a", "b"],
      concurrency: 3,
      stopTimeoutMs: 30_000,
    });
    expect(readExampleConfig([], {})).toMatchObject({ server: "localhost:50051", queues: ["default"], concurrency: 10 });
    expect(() => readExampleConfig(["--concurrency", "zero"], {})).toThrow(/--concurrency/);
  });
});

describe("example worker process", () => {
  let server: ScriptedServer;
  let child: ChildProcess | undefined;

  beforeEach(async () => {
    server = await startScriptedServer();
  });

  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await server.close();
  });

  it("serves echo, sleep and fail, and stops gracefully on SIGTERM with exit code 0", async () => {
    child = spawn(
      process.execPath,
      ["--import", "tsx", "worker/example/main.ts", "--server", server.address, "--queues", "q-ex", "--concurrency", "4"],
      { cwd: root, env: { ...process.env, LOG_LEVEL: "warn" }, stdio: ["ignore", "ignore", "inherit"] },
    );
    const exited = once(child, "exit");
    const stream = await server.nextStream(20_000);
    const hello = await stream.expect("hello");
    expect(hello).toMatchObject({ queues: ["q-ex"], taskTypes: ["echo", "sleep", "fail"], capacity: 4 });
    stream.welcome({ heartbeatIntervalMs: 100 });
    expect((await stream.expect("credit")).credits).toBe(4);

    stream.send({
      case: "assignment",
      value: {
        tasks: [
          leasedTask({ id: "echo", type: "echo", payload: { to: "a@b.c" } }),
          leasedTask({ id: "fail-1", type: "fail", payload: { times: 1 }, attempt: 1 }),
          leasedTask({ id: "fail-2", type: "fail", payload: { times: 1 }, attempt: 2 }),
          leasedTask({ id: "fail-dead", type: "fail", payload: { times: 3, retryable: false } }),
        ],
      },
    });
    const results = await collectResults(stream, 4);
    expect(successOf(results.get("echo")!)).toEqual({ to: "a@b.c" });
    expect(results.get("fail-1")?.outcome).toMatchObject({ case: "failure", value: { nonRetryable: false } });
    expect(successOf(results.get("fail-2")!)).toEqual({ attempt: 2 });
    expect(results.get("fail-dead")?.outcome).toMatchObject({ case: "failure", value: { nonRetryable: true } });
    sendAcks(stream, [...results.values()]);

    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "nap", type: "sleep", payload: { ms: 500 } })] } });
    // Signal only once the worker runs the task (its heartbeat lists it).
    for (;;) {
      const beat = await stream.expect("heartbeat", { skip: ["credit"] });
      if (beat.taskIds.includes("nap")) break;
    }
    child.kill("SIGTERM");
    await stream.expect("draining", { skip: ["heartbeat", "credit"] });
    const { results: last } = await stream.expect("results");
    expect(successOf(last[0])).toEqual({ slept: 500 });
    sendAcks(stream, last);
    const [code] = await withDeadline(exited, 10_000, "the worker to exit");
    expect(code).toBe(0);
  }, 30_000);
});
