import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { NewTask } from "../engine/task-records.js";
import { LeaseEndsPartlyFailedError } from "./lease-ends-settled.js";
import { QueueStore, type EnqueueItem } from "./queue-store.js";
import { DispatchKeys } from "./keys.js";
import { readTaskKey } from "./task-key.js";

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.quit());

let clock = 1_700_000_000_000;
let jitter = 0.5;
let store: QueueStore;
let prefix: string;
let keys: DispatchKeys;

beforeEach(async () => {
  clock = 1_700_000_000_000;
  jitter = 0.5;
  prefix = `spec-${randomBytes(4).toString("hex")}:`;
  store = new QueueStore({ redis, prefix, now: () => clock, random: () => jitter, serverId: "server-1" });
  keys = new DispatchKeys(prefix);
  await redis.set(keys.server("server-1"), "1");
});

let counter = 0;
function task(overrides: Partial<NewTask> = {}): NewTask {
  counter++;
  return {
    id: `task-${counter}`,
    queue: "jobs",
    type: "email",
    payload: Buffer.from([0, 255, 10, 13]),
    payloadFormat: 1,
    priority: 0,
    maxAttempts: 2,
    backoffInitialMs: 1000,
    backoffMaxMs: 10_000,
    backoffMultiplier: 2,
    timeoutMs: null,
    idempotencyKey: null,
    labels: { tenant: "é" },
    createdMs: clock - 1000 + counter,
    runAt: null,
    startDeadline: null,
    ...overrides,
  };
}

const item = (t: NewTask, extra: Partial<EnqueueItem> = {}): EnqueueItem => ({ task: t, attempt: 0, dueMs: 0, ...extra });
const leaseOne = (count = 10, sessionId = "session-a") =>
  store.lease("jobs", [{ sessionId, workerId: `worker-${sessionId}`, count, tokenPrefix: "tok" }], 30_000);
/** A result of session-a for its lease `leaseToken` of task `id`. */
const resultOf = (id: string, leaseToken: string, how: "succeeded" | "failed" = "succeeded", queue = "jobs") => ({
  id,
  queue,
  sessionId: "session-a",
  leaseToken,
  how,
});
const jobs = () => keys.queue("jobs");

describe("QueueStore", () => {
  it("enqueues idempotently and leases by priority, then age, with everything a worker needs", async () => {
    const low = task();
    const high = task({ priority: 5, createdMs: clock, timeoutMs: 2000 });
    expect(await store.enqueue([item(low), item(high)])).toEqual({ added: 2, readyQueues: ["jobs"] });
    expect(await store.enqueue([item(low)])).toEqual({ added: 0, readyQueues: [] });

    const { leased, expired } = await store.lease(
      "jobs",
      [
        { sessionId: "session-a", workerId: "worker-a", count: 1, tokenPrefix: "tok-a" },
        { sessionId: "session-b", workerId: "worker-b", count: 1, tokenPrefix: "tok-b" },
      ],
      30_000,
    );
    expect(expired).toEqual([]);
    expect(leased).toEqual([
      {
        sessionId: "session-a", queue: "jobs", id: high.id, leaseToken: "tok-a.1", attempt: 1,
        deadlineMs: clock + 2000 + 2000, type: "email", payloadFormat: 1, payload: high.payload,
        maxAttempts: 2, timeoutMs: 2000, labels: { tenant: "é" }, createdMs: clock,
      },
      expect.objectContaining({ sessionId: "session-b", id: low.id, leaseToken: "tok-b.1", deadlineMs: clock + 30_000 }),
    ]);
  });

  it("accepts a result only for the current lease, and reports how the lease ended", async () => {
    const t = task();
    await store.enqueue([item(t)]);
    clock += 5;
    const [lease] = (await leaseOne()).leased;
    const [stale, otherSession, accepted] = await store.complete([
      resultOf(t.id, "tok.9"),
      { ...resultOf(t.id, lease!.leaseToken), sessionId: "session-b" },
      resultOf(t.id, lease!.leaseToken),
    ]);
    // A wrong token from the session holding the lease: stale, the lease still its.
    expect(stale).toBeNull();
    expect(otherSession).toBeNull();
    expect(accepted).toEqual({
      id: t.id, state: "SUCCEEDED", attempt: 1, workerId: "worker-session-a", startedMs: clock, dueMs: 0,
      how: "succeeded", queue: "jobs", sessionId: "session-a", leaseToken: "tok.1",
    });
    expect(await store.complete([resultOf(t.id, lease!.leaseToken)])).toEqual([null]);
    expect(await readTaskKey(redis, prefix, "jobs", t.id)).toMatchObject({ form: "finished", state: "done", attempt: 1, serverId: "server-1" });
    expect(await redis.scard(jobs().session("session-a"))).toBe(0);
    expect(await redis.zcard(jobs().leases)).toBe(0);
  });

  it("retries a failure after a jittered back-off, then dead-letters the last attempt", async () => {
    const t = task();
    await store.enqueue([item(t)]);
    let [lease] = (await leaseOne()).leased;
    jitter = 0.5;
    const [failed] = await store.complete([resultOf(t.id, lease!.leaseToken, "failed")]);
    expect(failed).toMatchObject({ state: "FAILED", attempt: 1, dueMs: clock + 750 });

    expect((await store.promote(10)).promoted).toEqual([]);
    clock += 750;
    expect(await store.promote(10)).toEqual({ promoted: [{ id: t.id, queue: "jobs", attempt: 1, previous: "failed" }], nextDueMs: null });
    [lease] = (await leaseOne()).leased;
    expect(lease!.attempt).toBe(2);
    const [dead] = await store.complete([resultOf(t.id, lease!.leaseToken, "failed")]);
    expect(dead).toMatchObject({ state: "DEAD", attempt: 2 });
  });

  it("deals tasks over the sessions in rotation, each with its own token prefix", async () => {
    const tasks = Array.from({ length: 7 }, () => task());
    await store.enqueue(tasks.map((t) => item(t)));
    const { leased } = await store.lease(
      "jobs",
      [
        { sessionId: "a", workerId: "wa", count: 4, tokenPrefix: "pa" },
        { sessionId: "b", workerId: "wb", count: 4, tokenPrefix: "pb" },
        { sessionId: "c", workerId: "wc", count: 1, tokenPrefix: "pc" },
      ],
      30_000,
    );
    expect(leased.map((l) => [l.sessionId, l.id, l.leaseToken])).toEqual([
      ["a", tasks[0]!.id, "pa.1"],
      ["b", tasks[1]!.id, "pb.1"],
      ["c", tasks[2]!.id, "pc.1"],
      ["a", tasks[3]!.id, "pa.2"],
      ["b", tasks[4]!.id, "pb.2"],
      ["a", tasks[5]!.id, "pa.3"],
      ["b", tasks[6]!.id, "pb.3"],
    ]);
    expect(await redis.smembers(jobs().session("c"))).toEqual([tasks[2]!.id]);
    expect((await redis.smembers(jobs().session("a"))).sort()).toEqual([tasks[0]!.id, tasks[3]!.id, tasks[5]!.id].sort());
  });

  it("ends a cancelled running task CANCELLED when its result arrives", async () => {
    const t = task();
    await store.enqueue([item(t)]);
    const [lease] = (await leaseOne()).leased;
    expect(await store.cancel("jobs", t.id, "user")).toEqual({ kind: "running", sessionId: "session-a", leaseToken: "tok.1" });
    const [end] = await store.complete([resultOf(t.id, lease!.leaseToken)]);
    expect(end).toMatchObject({ state: "CANCELLED" });
    expect(await store.cancel("jobs", t.id, "again")).toEqual({ kind: "removed" });
  });

  it("expires tasks not started by their start deadline, queued or scheduled", async () => {
    const queued = task({ startDeadline: new Date(clock + 100) });
    const scheduled = task({ startDeadline: new Date(clock + 100) });
    await store.enqueue([item(queued), item(scheduled, { dueMs: clock + 1000 })]);
    clock += 200;
    expect(await leaseOne()).toMatchObject({ leased: [], expired: [queued.id] });
    expect(await store.expire(10)).toEqual({ expired: [scheduled.id], nextDeadlineMs: null });
  });

  it("reaps a lease past the attempt timeout, and releases what a closed session held", async () => {
    const slow = task({ timeoutMs: 1000 });
    const held = task();
    await store.enqueue([item(slow), item(held)]);
    const { leased } = await leaseOne();
    expect(leased.map((l) => l.deadlineMs)).toEqual([clock + 3000, clock + 30_000]);
    expect((await store.expiredLeases(10)).expired).toEqual(new Map());
    clock += 3000;
    // Listed without being ended: the reaper asks Postgres about them first.
    const listed = await store.expiredLeases(10);
    expect(listed).toEqual({ asOfMs: clock, expired: new Map([["jobs", [slow.id]]]) });
    expect((await store.expiredLeases(10)).expired).toEqual(new Map([["jobs", [slow.id]]]));
    expect(await store.reap(10, ["other"])).toEqual([]);
    // Only what had expired as of the listing: nothing, as of a moment before the deadline.
    expect(await store.reap(10, ["jobs"], clock - 1)).toEqual([]);
    expect(await store.reap(10, ["jobs"], listed.asOfMs)).toEqual([expect.objectContaining({ id: slow.id, how: "timeout", state: "QUEUED", leaseToken: "tok.1" })]);
    expect((await store.expiredLeases(10)).expired).toEqual(new Map());
    expect(await store.release("session-a", ["jobs"])).toEqual([expect.objectContaining({ id: held.id, how: "lost", state: "QUEUED", attempt: 1 })]);
    expect((await leaseOne()).leased.map((l) => [l.id, l.attempt])).toEqual([[slow.id, 2], [held.id, 2]]);
  });

  it("hands over the lease ends of the queues that answered when ending leases fails on another", async () => {
    const a = task();
    const b = task({ queue: "other" });
    await store.enqueue([item(a), item(b)]);
    await leaseOne();
    await store.lease("other", [{ sessionId: "session-a", workerId: "worker-session-a", count: 10, tokenPrefix: "tok" }], 30_000);
    // The release of "other" fails in Redis (its session set is not a set), after "jobs"' went through.
    await redis.set(keys.queue("other").session("session-a"), "not a set");
    const failure = await store.release("session-a", ["jobs", "other"]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(LeaseEndsPartlyFailedError);
    expect((failure as LeaseEndsPartlyFailedError).message).toContain("WRONGTYPE");
    expect((failure as LeaseEndsPartlyFailedError).ends).toEqual([expect.objectContaining({ id: a.id, how: "lost", state: "QUEUED", attempt: 1 })]);
    // The same for the reaper: "other" fails, "jobs"' expired lease ends and is handed over.
    await leaseOne();
    clock += 30_000;
    await redis.del(keys.queue("other").session("session-a"));
    await redis.set(keys.queue("other").leases, "not a sorted set");
    const reaped = await store.reap(10).catch((e: unknown) => e);
    expect((reaped as LeaseEndsPartlyFailedError).ends).toEqual([expect.objectContaining({ id: a.id, how: "expired", attempt: 2 })]);
  });

  it("tells recovery which unfinished tasks the dispatch state does not back", async () => {
    const [absent, done, cancelled] = [task(), task(), task()];
    await store.enqueue([item(done), item(cancelled)]);
    const [lease] = (await leaseOne(1)).leased;
    await store.complete([resultOf(done.id, lease!.leaseToken)]);
    await store.cancel("jobs", cancelled.id, "user");
    const ref = (t: NewTask) => ({ id: t.id, queue: t.queue });
    expect(await store.inspect([ref(absent), ref(done), ref(cancelled)])).toEqual([
      { id: absent.id, kind: "absent", attempt: 0 },
      { id: cancelled.id, kind: "cancelled", attempt: 0 },
    ]);
    await redis.del(keys.server("server-1"));
    expect(await store.inspect([ref(done)])).toEqual([{ id: done.id, kind: "lost", attempt: 1 }]);
    await store.enqueue([item(done, { attempt: 1 })], { replaceFinished: true });
    expect((await leaseOne()).leased).toEqual([expect.objectContaining({ id: done.id, attempt: 2 })]);
  });

  it("counts a task whose recording failed as lost only if it finished no later than the failure", async () => {
    const t = task();
    const ref = [{ id: t.id, queue: t.queue }];
    await store.enqueue([item(t)]);
    const [first] = (await leaseOne(1)).leased;
    // The result of this lease was fenced, and its recording failed right then.
    await store.complete([resultOf(t.id, first!.leaseToken)]);
    const unwritten = new Map([[t.id, clock]]);
    expect(await store.inspect(ref, unwritten)).toEqual([{ id: t.id, kind: "lost", attempt: 1 }]);
    // It ran again, and a later lease ended it (its writer, alive, records that outcome).
    await store.enqueue([item(t, { attempt: 1 })], { replaceFinished: true });
    const [second] = (await leaseOne(1)).leased;
    clock += 1_000;
    await store.complete([resultOf(t.id, second!.leaseToken)]);
    expect(await store.inspect(ref, unwritten)).toEqual([]);
    // Unless that writer is gone.
    await redis.del(keys.server("server-1"));
    expect(await store.inspect(ref, unwritten)).toEqual([{ id: t.id, kind: "lost", attempt: 2 }]);
  });

  it("keeps a short expiring marker for a finished task that no enqueue or cancel gets past", async () => {
    const [done, tombstoned] = [task(), task()];
    await store.enqueue([item(done)]);
    const [lease] = (await leaseOne()).leased;
    await store.complete([resultOf(done.id, lease!.leaseToken)]);
    expect(await redis.type(jobs().task(done.id))).toBe("string");
    expect(await redis.ttl(jobs().task(done.id))).toBeGreaterThan(500);
    expect(await store.enqueue([item(done)])).toEqual({ added: 0, readyQueues: [] });
    expect(await store.cancel("jobs", done.id, "late")).toEqual({ kind: "finished" });
    // Cancelling a task Redis does not have leaves a tombstone: a late enqueue cannot revive it.
    expect(await store.cancel("jobs", tombstoned.id, "early")).toEqual({ kind: "absent" });
    expect(await readTaskKey(redis, prefix, "jobs", tombstoned.id)).toMatchObject({ form: "finished", state: "cancelled" });
    expect(await store.enqueue([item(tombstoned)])).toEqual({ added: 0, readyQueues: [] });
    expect((await leaseOne()).leased).toEqual([]);
  });

  it("splits work on several queues into one script call per queue, answered in input order", async () => {
    const a = task();
    const b = task({ queue: "other" });
    expect(await store.enqueue([item(a), item(b)])).toEqual({ added: 2, readyQueues: ["jobs", "other"] });
    expect((await redis.smembers(keys.queues)).sort()).toEqual(["jobs", "other"]);
    const [la] = (await leaseOne(1)).leased;
    const [lb] = (await store.lease("other", [{ sessionId: "session-a", workerId: "w", count: 1, tokenPrefix: "o" }], 1000)).leased;
    expect(await store.extend("session-a", ["jobs", "other"], 30_000)).toBe(2);
    const ends = await store.complete([
      resultOf(b.id, lb!.leaseToken, "failed", "other"),
      resultOf(a.id, "wrong", "succeeded", "jobs"),
      resultOf(a.id, la!.leaseToken, "succeeded", "jobs"),
      resultOf(a.id, la!.leaseToken, "succeeded", ""),
    ]);
    expect(ends.map((e) => (e ? [e.id, e.state] : e))).toEqual([[b.id, "FAILED"], null, [a.id, "SUCCEEDED"], null]);
    clock += 60_000;
    expect((await store.promote(10)).promoted).toEqual([{ id: b.id, queue: "other", attempt: 1, previous: "failed" }]);
  });

  it("reloads its scripts when Redis has forgotten them", async () => {
    await redis.script("FLUSH");
    expect(await store.enqueue([item(task())])).toEqual({ added: 1, readyQueues: ["jobs"] });
  });

  it("sends an enqueue and the lease behind it in one socket write when asked to", async () => {
    // Both scripts loaded before writes are counted (a first call also sends SCRIPT LOAD).
    await store.enqueue([item(task())]);
    await leaseOne(1);
    const socket = (redis as unknown as { stream: { _write: unknown; _writev: unknown } }).stream;
    const writes: string[] = [];
    const spy = (name: "_write" | "_writev") => {
      const original = socket[name] as (...args: unknown[]) => unknown;
      socket[name] = function (this: unknown, ...args: unknown[]) {
        writes.push(name);
        return original.apply(this, args);
      };
      return () => void (socket[name] = original);
    };
    const restore = [spy("_write"), spy("_writev")];
    try {
      const [added, leased] = await store.writeTogether(() => Promise.all([store.enqueue([item(task())]), leaseOne(2)]));
      expect(added.added).toBe(1);
      expect(leased.leased).toHaveLength(1);
      expect(writes).toEqual(["_writev"]);
      writes.length = 0;
      await Promise.all([store.enqueue([item(task())]), leaseOne(1)]);
      // The enqueue's registry update and script call leave together; the lease on its own.
      expect(writes).toEqual(["_writev", "_write"]);
    } finally {
      for (const r of restore) r();
    }
  });
});
