import { setTimeout as delay } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { createWorker } from "../worker/index.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";
import { useServerPool } from "./support/server-pool.js";
import { maxOverlap } from "./support/overlap.js";

const { server, queuesOf, startWorker } = useServerPool();
const logger = createLogger({ level: "silent" });

async function submit(ts: TestServer, queue: string, type: string, n: number, payload: unknown = {}, priority = 0): Promise<string[]> {
  const { results } = await ts.grpc.submitTasks({
    tasks: Array.from({ length: n }, () => ({ queue, type, priority, payloadData: jsonPayload(payload as never) })),
  });
  return results.map((r) => {
    if (r.outcome.case !== "task") throw new Error("submit refused");
    return r.outcome.value.id;
  });
}

describe("task-type routing", () => {
  it("gives a worker only the types it handles; a type nobody handles waits, then runs when a worker for it comes", async () => {
    const ts = await server();
    const queue = uniqueQueue("routing");
    const seen: Record<string, string[]> = { a: [], b: [], c: [] };
    const recorder = (worker: string) => (task: { type: string }) => void seen[worker]!.push(task.type);
    const taskIds = [
      ...(await submit(ts, queue, "type-a", 20)),
      ...(await submit(ts, queue, "type-b", 20)),
    ];
    const waiting = await submit(ts, queue, "type-c", 5);
    await startWorker(ts, queue, { "type-a": recorder("a") });
    await startWorker(ts, queue, { "type-b": recorder("b") });
    for (const id of taskIds) await waitForState(ts.grpc, id, TaskState.SUCCEEDED);
    expect(seen.a).toEqual(Array(20).fill("type-a"));
    expect(seen.b).toEqual(Array(20).fill("type-b"));
    // Nobody takes type-c: its tasks wait QUEUED (never leased, never failed), and show in the queue's figures.
    for (const id of waiting) expect((await ts.grpc.getTask({ id })).task).toMatchObject({ state: TaskState.QUEUED, attempt: 0 });
    const info = (await queuesOf(ts).getQueue({ name: queue })).queue!;
    expect(info.counts!.queued).toBe(5n);
    expect(info.oldestQueuedAge).toBeDefined();
    await startWorker(ts, queue, { "type-c": recorder("c") });
    for (const id of waiting) await waitForState(ts.grpc, id, TaskState.SUCCEEDED);
    expect(seen.c).toEqual(Array(5).fill("type-c"));
  });

  it("keeps priority order, then age, across the types a worker takes", async () => {
    const ts = await server();
    const queue = uniqueQueue("routing-order");
    const order: string[] = [];
    const low = await submit(ts, queue, "x", 2, {}, 1);
    const high = await submit(ts, queue, "y", 2, {}, 9);
    const middle = await submit(ts, queue, "x", 1, {}, 5);
    const handler = (task: { id: string }) => void order.push(task.id);
    await startWorker(ts, queue, { x: handler, y: handler, z: handler }, 1);
    await waitFor(async () => order.length === 5, { timeoutMs: 10_000, message: "the five tasks to run" });
    // Tasks of one batch share their created time: their order among themselves is the ids'.
    expect(order.slice(0, 2).sort()).toEqual([...high].sort());
    expect(order[2]).toBe(middle[0]);
    expect(order.slice(3).sort()).toEqual([...low].sort());
  });

  it("refuses a hello whose task types are not valid names", async () => {
    const ts = await server();
    const worker = createWorker({ address: ts.grpcAddress, queues: [uniqueQueue("bad-types")], handlers: { "no spaces please": () => 1 }, logger });
    const error = await worker.start().then(() => undefined, (e: unknown) => e);
    await worker.stop({ timeoutMs: 1_000 }).catch(() => undefined);
    expect(ConnectError.from(error).code).toBe(Code.InvalidArgument);
    expect(String((error as Error).message)).toMatch(/hello\.task_types\[0\]/);
  });
});

describe("queue concurrency limit", () => {
  it("holds across two servers: worker-side start/end times never overlap more than max_concurrency", async () => {
    const first = await server();
    const second = await server(first);
    const queue = uniqueQueue("limited");
    const limit = 3;
    const updated = await queuesOf(first).updateQueue({ name: queue, settings: { maxConcurrency: limit }, updateMask: { paths: ["max_concurrency"] } });
    expect(updated.queue!.settings!.maxConcurrency).toBe(limit);
    // The other server reads the settings within its reload (announced at once).
    await waitFor(async () => (await queuesOf(second).getQueue({ name: queue })).queue!.settings!.maxConcurrency === limit, {
      timeoutMs: 5_000,
      message: "the second server to know the limit",
    });
    const spans: Array<[number, number]> = [];
    const work = async () => {
      const start = performance.timeOrigin + performance.now();
      await delay(40);
      spans.push([start, performance.timeOrigin + performance.now()]);
    };
    for (const ts of [first, second]) for (let i = 0; i < 2; i++) await startWorker(ts, queue, { work }, 5);
    const ids = await submit(first, queue, "work", 40);
    for (const id of ids) await waitForState(first.grpc, id, TaskState.SUCCEEDED);
    expect(spans).toHaveLength(40);
    expect(maxOverlap(spans)).toBeLessThanOrEqual(limit);
    // The limit is used, not merely respected: several ran at once.
    expect(maxOverlap(spans)).toBeGreaterThan(1);
  });

  it("refuses a limit out of range, naming the field", async () => {
    const ts = await server();
    const error = await queuesOf(ts)
      .updateQueue({ name: uniqueQueue("absurd"), settings: { maxConcurrency: 2_000_000 }, updateMask: { paths: ["max_concurrency"] } })
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toMatch(/settings\.max_concurrency/);
  });
});

describe("queue rate limit", () => {
  it("starts at most limit + burst tasks in any window of one period, across two servers, woken by a timer", async () => {
    const first = await server();
    const second = await server(first);
    const queue = uniqueQueue("rated");
    const limit = 20;
    const burst = 2; // a tenth of the limit
    const updated = await queuesOf(first).updateQueue({
      name: queue,
      settings: { rateLimit: { limit, period: { seconds: 1n } } },
      updateMask: { paths: ["rate_limit"] },
    });
    expect(updated.queue!.settings!.rateLimit).toMatchObject({ limit, period: { seconds: 1n } });
    await waitFor(async () => (await queuesOf(second).getQueue({ name: queue })).queue!.settings!.rateLimit?.limit === limit, {
      timeoutMs: 5_000,
      message: "the second server to know the limit",
    });
    const starts: number[] = [];
    const work = () => void starts.push(performance.timeOrigin + performance.now());
    for (const ts of [first, second]) await startWorker(ts, queue, { work }, 20);
    const ids = await submit(first, queue, "work", 100);
    for (const id of ids) await waitForState(first.grpc, id, TaskState.SUCCEEDED, 15_000);
    starts.sort((a, b) => a - b);
    let most = 0;
    for (let i = 0; i < starts.length; i++) {
      let j = i;
      while (j < starts.length && starts[j]! - starts[i]! < 1000) j++;
      most = Math.max(most, j - i);
    }
    // Measured on the worker: a start is seen a little after its lease, never before.
    expect(most).toBeLessThanOrEqual(limit + burst + 1);
    // The limit is used: 100 tasks at 20/s take about 5 s, not much more (timers, not polls).
    expect(starts.at(-1)! - starts[0]!).toBeLessThan(7_000);
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThan(3_500);
  }, 30_000);

  it("refuses a rate limit out of range, naming the field", async () => {
    const ts = await server();
    const update = (rateLimit: { limit: number; period?: { seconds: bigint; nanos?: number } }) =>
      queuesOf(ts)
        .updateQueue({ name: uniqueQueue("rate-bad"), settings: { rateLimit }, updateMask: { paths: ["rate_limit"] } })
        .then(() => undefined, (e: unknown) => ConnectError.from(e));
    expect((await update({ limit: 0, period: { seconds: 1n } }))?.rawMessage).toMatch(/settings\.rate_limit\.limit: must be at least 1/);
    expect((await update({ limit: 5 }))?.rawMessage).toMatch(/settings\.rate_limit\.period: is required/);
    expect((await update({ limit: 2_000_000, period: { seconds: 1n } }))?.rawMessage).toMatch(/settings\.rate_limit: allows 2000000 starts per second/);
    expect((await update({ limit: 2_000_000, period: { seconds: 1n } }))?.code).toBe(Code.InvalidArgument);
  });
});
