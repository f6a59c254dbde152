import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { NewTask } from "../engine/task-records.js";
import { QueueStore, type LeaseAllocation, type QueueLimits } from "./queue-store.js";
import { QueueStats } from "./queue-stats.js";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());

let clock = 1_700_000_000_000;
let store: QueueStore;
let stats: QueueStats;

beforeEach(() => {
  clock = 1_700_000_000_000;
  const prefix = `keys-${randomBytes(4).toString("hex")}:`;
  store = new QueueStore({ redis, prefix, now: () => clock, serverId: "server-1" });
  stats = new QueueStats({ redis, prefix, now: () => clock });
});

let counter = 0;
function task(key: string | null, overrides: Partial<NewTask> = {}): NewTask {
  counter++;
  return {
    id: `${key ?? "none"}-${counter}`,
    queue: "jobs",
    type: "email",
    payload: Buffer.from("{}"),
    payloadFormat: 1,
    priority: 0,
    maxAttempts: 3,
    backoffInitialMs: 1000,
    backoffMaxMs: 10_000,
    backoffMultiplier: 2,
    timeoutMs: null,
    idempotencyKey: null,
    concurrencyKey: key,
    labels: {},
    createdMs: clock - 100_000 + counter,
    runAt: null,
    startDeadline: null,
    ...overrides,
  };
}

async function submit(tasks: NewTask[]): Promise<void> {
  await store.enqueue(tasks.map((t) => ({ task: t, attempt: 0, dueMs: 0 })));
}

const session = (count: number, sessionId = "s1", taskTypes?: string[]): LeaseAllocation => ({ sessionId, workerId: `w-${sessionId}`, count, tokenPrefix: "tok", taskTypes });
const lease = (count: number, limits?: QueueLimits, sessionId = "s1") => store.lease("jobs", [session(count, sessionId)], 30_000, limits);
const keyOf = (id: string) => id.replace(/-\d+$/, "");
const perKey = (n: number): QueueLimits => ({ maxConcurrency: 0, maxPerKey: n, rateLimit: null });

describe("concurrency keys in the dispatch state", () => {
  it("serves keys round-robin: a key's backlog does not hold another key's tasks behind it", async () => {
    await submit(Array.from({ length: 50 }, () => task("A")));
    await submit([task("B"), task("B"), task("B")]);
    const first = await lease(8);
    expect(first.leased.map((t) => keyOf(t.id))).toEqual(["A", "B", "A", "B", "A", "B", "A", "A"]);
    expect(first.limited).toBe(false);
    // Within a key: priority, then age.
    await submit([task("C"), task("C", { priority: 9 })]);
    const next = (await lease(50)).leased.filter((t) => keyOf(t.id) === "C").map((t) => t.id);
    expect(next).toHaveLength(2);
    expect(Number(next[0]!.split("-")[1])).toBeGreaterThan(Number(next[1]!.split("-")[1]));
  });

  it("caps RUNNING tasks per key, parks a key at its cap and brings it back when a lease ends", async () => {
    await submit(Array.from({ length: 20 }, () => task("A")));
    await submit([task("B"), task("B"), task("B")]);
    const first = await lease(10, perKey(2));
    expect(first.leased.map((t) => keyOf(t.id)).sort()).toEqual(["A", "A", "B", "B"]);
    expect(first.limited).toBe(true);
    let figures = (await stats.read(["jobs"]))[0]!;
    expect(figures.queued).toBe(19);
    expect(figures.heldPerKey).toBe(19);
    expect(figures.keysAtLimit).toBe(2);
    expect(figures.oldestQueuedMs).not.toBeNull();
    // The layout keys.ts names: A and B parked, their running counts kept.
    const qk = store.keys.queue("jobs");
    expect(await redis.hgetall(qk.keyRunning)).toEqual({ A: "2", B: "2" });
    expect(await redis.hgetall(qk.keysParked)).toEqual({ A: "email", B: "email" });
    expect(await redis.zcard(qk.keyedReady("email", "A"))).toBe(18);
    expect(await redis.zcard(qk.keyRing("email"))).toBe(0);
    // Nothing more while both keys are at their cap; the queue is not drained but held (it
    // waits for a lease end).
    expect(await lease(10, perKey(2))).toMatchObject({ leased: [], ready: true, limited: true });
    // One A ends: one more A (and no B).
    const a = first.leased.find((t) => keyOf(t.id) === "A")!;
    const [end] = await store.complete([{ id: a.id, queue: "jobs", sessionId: "s1", leaseToken: a.leaseToken, how: "succeeded" }]);
    expect(end).toMatchObject({ state: "SUCCEEDED" });
    const again = await lease(10, perKey(2));
    expect(again.leased.map((t) => keyOf(t.id))).toEqual(["A"]);
    figures = (await stats.read(["jobs"]))[0]!;
    expect(figures.running).toBe(4);
    // A closed session's leases go back, and give back their keys' slots.
    const ends = await store.release("s1", ["jobs"]);
    expect(ends).toHaveLength(4);
    const after = await lease(10, perKey(2));
    expect(after.leased.map((t) => keyOf(t.id)).sort()).toEqual(["A", "A", "B", "B"]);
  });

  it("pays no heed to keys when the queue has no per-key limit, and counts keyed tasks as queued", async () => {
    await submit(Array.from({ length: 5 }, () => task("A")));
    await submit([task(null), task(null)]);
    expect((await stats.read(["jobs"]))[0]!.queued).toBe(7);
    const { leased } = await lease(10);
    expect(leased).toHaveLength(7);
    expect((await stats.read(["jobs"]))[0]!).toMatchObject({ queued: 0, running: 7, heldPerKey: 0 });
  });

  it("orders key-less tasks and the key whose turn it is by priority, then age", async () => {
    await submit([task("A"), task(null, { priority: 5 }), task("B", { priority: 9 }), task(null)]);
    const { leased } = await lease(4);
    // A's turn comes first (its key arrived first): its task meets the priority 5 key-less one
    // and loses, then beats the younger key-less one; B's priority 9 waits for B's turn.
    expect(leased.map((t) => keyOf(t.id))).toEqual(["none", "A", "B", "none"]);
  });

  it("removes a cancelled or expired keyed task from its key, and routes keyed tasks by type", async () => {
    const doomed = task("A");
    const late = task("A", { startDeadline: new Date(clock + 10) });
    await submit([doomed, late, task("A", { type: "sms" })]);
    expect(await store.cancel("jobs", doomed.id, "no")).toMatchObject({ kind: "removed" });
    clock += 1000;
    const expired = await store.expire(100);
    expect(expired.expired).toEqual([late.id]);
    const emailOnly = await store.lease("jobs", [session(10, "s1", ["email"])], 30_000);
    expect(emailOnly.leased).toEqual([]);
    const sms = await store.lease("jobs", [session(10, "s2", ["sms"])], 30_000);
    expect(sms.leased.map((t) => t.type)).toEqual(["sms"]);
    expect((await stats.read(["jobs"]))[0]!.queued).toBe(0);
  });

  it("keeps a retried keyed task in its key (back-off, then ready again)", async () => {
    const t = task("A");
    await submit([t]);
    const [leased] = (await lease(1, perKey(1))).leased;
    const [end] = await store.complete([{ id: t.id, queue: "jobs", sessionId: "s1", leaseToken: leased!.leaseToken, how: "failed" }]);
    expect(end).toMatchObject({ state: "FAILED" });
    clock += 60_000;
    expect((await store.promote(100)).promoted).toHaveLength(1);
    const retry = await lease(1, perKey(1));
    expect(retry.leased.map((x) => x.id)).toEqual([t.id]);
  });

  it("lists every dispatched task (leased, delayed, ready, keyed and parked) and forgets those finished elsewhere", async () => {
    await submit([task("A"), task("A"), task("A"), task("B"), task(null), task(null)]);
    const delayed = task(null);
    await store.enqueue([{ task: delayed, attempt: 0, dueMs: clock + 60_000 }]);
    // A is parked at its limit with one lease; B and a key-less task are leased too.
    const first = await lease(3, perKey(1));
    expect(first.leased).toHaveLength(3);
    const qk = store.keys.queue("jobs");
    expect(Object.keys(await redis.hgetall(qk.keysParked)).sort()).toEqual(["A", "B"]);
    const listed: string[] = [];
    for await (const ids of store.dispatchedTaskIds("jobs")) listed.push(...ids);
    expect(new Set(listed).size).toBe(7);

    // Postgres has every one finished (the writes that ended them here were lost).
    const markers = new Map(listed.map((id) => [id, { marker: "done" as const, attempt: 1 }]));
    // Postgres has 0 attempts of the leased ones: they are running again, so they stay.
    expect(await store.forgetFinished("jobs", new Map(first.leased.map((t) => [t.id, { marker: "done" as const, attempt: 0 }])))).toBe(0);
    // Leases started at or after the cut-off are new: they stay; the others go.
    expect(await store.forgetFinished("jobs", markers, clock)).toBe(4);
    clock += 1;
    expect(await store.forgetFinished("jobs", markers, clock)).toBe(3);
    expect(await store.forgetFinished("jobs", markers)).toBe(0);
    expect((await stats.read(["jobs"]))[0]).toMatchObject({ queued: 0, running: 0, scheduled: 0, heldPerKey: 0 });
    expect(await redis.zcard(qk.leases)).toBe(0);
    expect(await redis.zcard(qk.delayed)).toBe(0);
    expect(await redis.hgetall(qk.keyRunning)).toEqual({});
    expect(await redis.hgetall(qk.keysParked)).toEqual({});
    // Nothing runs again, the released session gives nothing back, and a fresh task of a once
    // parked key is served (its running slot was given back).
    expect(await lease(10, perKey(1))).toMatchObject({ leased: [] });
    expect(await store.release("s1", ["jobs"])).toEqual([]);
    const fresh = task("A");
    await submit([fresh]);
    expect((await lease(10, perKey(1))).leased.map((t) => t.id)).toEqual([fresh.id]);
  });
});
