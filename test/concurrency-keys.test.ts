import { setTimeout as delay } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import type { TaskContext } from "../worker/index.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";
import { useServerPool } from "./support/server-pool.js";
import { maxOverlap } from "./support/overlap.js";

const { server, queuesOf, startWorker } = useServerPool();

/** Submits `n` tasks of concurrency key `key` in one batch; their payload names the key. */
async function submitKeyed(ts: TestServer, queue: string, key: string, n: number): Promise<string[]> {
  const { results } = await ts.grpc.submitTasks({
    tasks: Array.from({ length: n }, () => ({ queue, type: "work", concurrencyKey: key, payloadData: jsonPayload({ key }) })),
  });
  return results.map((r) => {
    if (r.outcome.case !== "task") throw new Error("submit refused");
    expect(r.outcome.value.concurrencyKey).toBe(key);
    return r.outcome.value.id;
  });
}

describe("concurrency keys", () => {
  it("cap each key's RUNNING tasks across two servers while another key's burst runs, and serve keys in turn", async () => {
    const first = await server();
    const second = await server(first);
    const queue = uniqueQueue("keys");
    const perKey = 2;
    const updated = await queuesOf(first).updateQueue({ name: queue, settings: { maxConcurrencyPerKey: perKey }, updateMask: { paths: ["max_concurrency_per_key"] } });
    expect(updated.queue!.settings!.maxConcurrencyPerKey).toBe(perKey);
    await waitFor(async () => (await queuesOf(second).getQueue({ name: queue })).queue!.settings!.maxConcurrencyPerKey === perKey, {
      timeoutMs: 5_000,
      message: "the second server to know the limit",
    });
    // Worker-side spans by key, measured in the handlers (not from the server's counters).
    const spans: Record<string, Array<[number, number]>> = {};
    const work = async (task: TaskContext<{ key: string }>) => {
      const start = performance.timeOrigin + performance.now();
      await delay(60);
      (spans[task.payload.key] ??= []).push([start, performance.timeOrigin + performance.now()]);
    };
    for (const ts of [first, second]) for (let i = 0; i < 2; i++) await startWorker(ts, queue, { work }, 5);
    const burst = await submitKeyed(first, queue, "A", 60);
    const b = await submitKeyed(second, queue, "B", 4);
    const c = await submitKeyed(first, queue, "C", 1);
    // While A's burst runs, the queue shows what its per-key limit holds back.
    await waitFor(async () => (await queuesOf(first).getQueue({ name: queue })).queue!.heldBack!.perKey > 0n, {
      timeoutMs: 5_000,
      message: "held_back.per_key to show A's waiting tasks",
    });
    for (const id of [...burst, ...b, ...c]) await waitForState(first.grpc, id, TaskState.SUCCEEDED, 30_000);
    for (const key of ["A", "B", "C"]) expect(maxOverlap(spans[key]!)).toBeLessThanOrEqual(perKey);
    // The per-key limit is used, not merely respected.
    expect(maxOverlap(spans.A!)).toBe(perKey);
    // B and C were not starved behind A's backlog: all of them ended before A's tenth start.
    const aStarts = spans.A!.map(([s]) => s).sort((x, y) => x - y);
    const others = [...spans.B!, ...spans.C!].map(([, e]) => e);
    expect(Math.max(...others)).toBeLessThan(aStarts[9]!);
    expect((await first.grpc.getTask({ id: c[0]! })).task!.concurrencyKey).toBe("C");
  }, 60_000);

  it("refuses a key over 256 bytes and an absurd per-key limit, naming the field, and writes nothing", async () => {
    const ts = await server();
    const queue = uniqueQueue("keys-bad");
    const refused = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => ConnectError.from(e));
    const long = "é".repeat(129); // 258 bytes, 129 characters
    const unary = await refused(ts.grpc.submitTask({ queue, type: "work", concurrencyKey: long }));
    expect(unary?.code).toBe(Code.InvalidArgument);
    expect(unary?.rawMessage).toMatch(/concurrency_key: must be at most 256 bytes/);
    // A batch refuses the bad item alone (per-item outcome) and stores the good one.
    const batch = await ts.grpc.submitTasks({ tasks: [{ queue, type: "work", concurrencyKey: "ok" }, { queue, type: "work", concurrencyKey: long }] });
    expect(batch.results[0]!.outcome.case).toBe("task");
    expect(batch.results[1]!.outcome.case).toBe("error");
    expect(JSON.stringify(batch.results[1]!.outcome.value)).toMatch(/tasks\[1\]\.concurrency_key/);
    const limit = await refused(
      queuesOf(ts).updateQueue({ name: queue, settings: { maxConcurrencyPerKey: 2_000_000 }, updateMask: { paths: ["max_concurrency_per_key"] } }),
    );
    expect(limit?.code).toBe(Code.InvalidArgument);
    expect(limit?.rawMessage).toMatch(/settings\.max_concurrency_per_key/);
    const info = await queuesOf(ts).getQueue({ name: queue }).then((r) => r.queue, () => undefined);
    expect(info?.settings?.maxConcurrencyPerKey ?? 0).toBe(0);
    const page = await ts.grpc.listTasks({ queue });
    expect(page.tasks.map((t) => t.concurrencyKey)).toEqual(["ok"]);
  });
});
