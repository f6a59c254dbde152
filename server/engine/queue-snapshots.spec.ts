import { describe, expect, it } from "vitest";
import type { QueueOverviewItem } from "./queue-overview.js";
import { QueueSnapshots } from "./queue-snapshots.js";

/** A read whose answer the test releases, to order it against writes. */
interface PendingRead {
  names: readonly string[] | "all";
  release(): void;
  fail(): void;
}

/** Queues whose figure is `queued`, read through reads the test releases one by one. */
function source(maxAgeMs: number) {
  const queued = new Map<string, number>([
    ["a", 1],
    ["b", 1],
  ]);
  const pending: PendingRead[] = [];
  let clock = 1_000;
  const item = (name: string) => ({ name, stats: { queued: queued.get(name) ?? 0 } }) as unknown as QueueOverviewItem;
  const read = (names: readonly string[] | "all") =>
    new Promise<QueueOverviewItem[]>((resolve, reject) => {
      // The figures are taken when the read starts, as a store answers what it holds then.
      const answer = (names === "all" ? [...queued.keys()].sort() : names).map(item);
      pending.push({ names, release: () => resolve(answer), fail: () => reject(new Error("redis down")) });
    });
  const snapshots = new QueueSnapshots({
    readAll: () => read("all"),
    describe: (names) => read(names),
    maxAgeMs,
    now: () => clock,
  });
  return {
    snapshots,
    queued,
    pending,
    advance: (ms: number) => (clock += ms),
    /** Releases (or fails) the oldest pending read once it has started. */
    async releaseNext(outcome: "release" | "fail" = "release"): Promise<PendingRead> {
      for (let i = 0; i < 100 && pending.length === 0; i++) await Promise.resolve();
      const next = pending.shift();
      if (!next) throw new Error("no read pending");
      next[outcome]();
      return next;
    },
  };
}

const queuedOf = async (s: QueueSnapshots, name: string) => (await s.get()).entries.get(name)?.item.stats.queued;

describe("QueueSnapshots", () => {
  it("shares one read among concurrent calls, and serves later calls from it within maxAgeMs", async () => {
    const src = source(1000);
    const calls = Array.from({ length: 5 }, () => src.snapshots.get());
    await src.releaseNext();
    const answers = await Promise.all(calls);
    expect(new Set(answers).size).toBe(1);
    src.advance(999);
    expect(await src.snapshots.get()).toBe(answers[0]);
    expect(src.snapshots.reads).toEqual({ full: 1, partial: 0 });
    src.advance(1);
    const late = src.snapshots.get();
    await src.releaseNext();
    expect(await late).not.toBe(answers[0]);
    expect(src.snapshots.reads).toEqual({ full: 2, partial: 0 });
  });

  it("re-reads only the written queues, and a write made during a read is not lost to it", async () => {
    const src = source(1000);
    const first = src.snapshots.get();
    await src.releaseNext();
    await first;

    // A write while no read runs: the next call re-reads that queue alone.
    src.queued.set("a", 2);
    src.snapshots.invalidate(["a"]);
    const afterWrite = queuedOf(src.snapshots, "a");
    expect((await src.releaseNext()).names).toEqual(["a"]);
    expect(await afterWrite).toBe(2);

    // A read of "a" starts; "b" is written meanwhile: the caller who started the read gets
    // it, a call made after the write waits for a second read that covers "b".
    src.queued.set("a", 3);
    src.snapshots.invalidate(["a"]);
    const before = queuedOf(src.snapshots, "a");
    await Promise.resolve();
    src.queued.set("b", 5);
    src.snapshots.invalidate(["b"]);
    const after = queuedOf(src.snapshots, "b");
    expect((await src.releaseNext()).names).toEqual(["a"]);
    expect(await before).toBe(3);
    expect((await src.releaseNext()).names).toEqual(["b"]);
    expect(await after).toBe(5);
    expect(src.snapshots.reads).toEqual({ full: 1, partial: 3 });
  });

  it("reads everything for a write to a queue it does not list, or to unknown queues", async () => {
    const src = source(1000);
    const first = src.snapshots.get();
    await src.releaseNext();
    await first;
    src.queued.set("c", 1);
    src.snapshots.invalidate(["c"]);
    const withNew = queuedOf(src.snapshots, "c");
    expect((await src.releaseNext()).names).toBe("all");
    expect(await withNew).toBe(1);
    src.snapshots.invalidateAll();
    const all = src.snapshots.get();
    expect((await src.releaseNext()).names).toBe("all");
    expect((await all).names).toEqual(["a", "b", "c"]);
  });

  it("keeps the written queues marked when a read fails, and hands the failure to every caller sharing it", async () => {
    const src = source(1000);
    const first = src.snapshots.get();
    await src.releaseNext();
    await first;
    src.queued.set("a", 4);
    src.snapshots.invalidate(["a"]);
    const failing = [queuedOf(src.snapshots, "a"), queuedOf(src.snapshots, "a")];
    await src.releaseNext("fail");
    for (const call of failing) await expect(call).rejects.toThrow("redis down");
    const retried = queuedOf(src.snapshots, "a");
    expect((await src.releaseNext()).names).toEqual(["a"]);
    expect(await retried).toBe(4);
  });

  it("peeks at a queue only while the snapshot is fresh and covers every write", async () => {
    const src = source(1000);
    expect(src.snapshots.peek("a")).toBeUndefined();
    const first = src.snapshots.get();
    await src.releaseNext();
    await first;
    expect(src.snapshots.peek("a")?.item.stats.queued).toBe(1);
    expect(src.snapshots.peek("c")).toBeUndefined();
    src.snapshots.invalidate(["b"]);
    expect(src.snapshots.peek("a")).toBeUndefined();
    const refreshed = src.snapshots.get();
    await src.releaseNext();
    await refreshed;
    expect(src.snapshots.peek("a")).toBeDefined();
    src.advance(1000);
    expect(src.snapshots.peek("a")).toBeUndefined();
    expect(src.pending).toEqual([]);
  });

  it("lets submits to listed queues age with the window, lists a new queue at once, and stops peeking at submitted queues", async () => {
    const src = source(1000);
    const first = src.snapshots.get();
    await src.releaseNext();
    await first;

    // A submit to a listed queue: no read, the list keeps its figure, peek declines the queue.
    src.queued.set("a", 2);
    src.snapshots.submitted(["a"]);
    expect(await queuedOf(src.snapshots, "a")).toBe(1);
    expect(src.pending).toEqual([]);
    expect(src.snapshots.peek("a")).toBeUndefined();
    expect(src.snapshots.peek("b")?.item.stats.queued).toBe(1);

    // A submit to a queue the snapshot does not list: the next call reads and lists it.
    src.queued.set("c", 1);
    src.snapshots.submitted(["c"]);
    const withNew = queuedOf(src.snapshots, "c");
    expect((await src.releaseNext()).names).toBe("all");
    expect(await withNew).toBe(1);
    // That full read covered the submit to "a": peek answers for it again, with its new figure.
    expect(src.snapshots.peek("a")?.item.stats.queued).toBe(2);

    // A control write to a submitted queue re-reads it, and peek answers for it again.
    src.snapshots.submitted(["b"]);
    src.queued.set("b", 3);
    src.snapshots.invalidate(["b"]);
    const afterWrite = queuedOf(src.snapshots, "b");
    expect((await src.releaseNext()).names).toEqual(["b"]);
    expect(await afterWrite).toBe(3);
    expect(src.snapshots.peek("b")?.item.stats.queued).toBe(3);
    expect(src.snapshots.reads).toEqual({ full: 2, partial: 1 });
  });

  it("reads on every call with maxAgeMs 0", async () => {
    const src = source(0);
    const calls = [src.snapshots.get(), src.snapshots.get()];
    await src.releaseNext();
    await src.releaseNext();
    await Promise.all(calls);
    expect(src.snapshots.reads).toEqual({ full: 2, partial: 0 });
  });
});
