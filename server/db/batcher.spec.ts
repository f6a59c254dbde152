import { describe, expect, it, vi } from "vitest";
import { Batcher } from "./batcher.js";

/** A batcher whose flushes are recorded and answered by hand. */
function recordingBatcher(options: { maxBatch: number; maxInFlight: number; windowMs?: number; keyOf?: (item: number) => string }) {
  const flushes: Array<{ items: number[]; finish: (error?: Error) => void }> = [];
  const batcher = new Batcher<number, string>({
    windowMs: options.windowMs ?? 0,
    maxBatch: options.maxBatch,
    maxInFlight: options.maxInFlight,
    keyOf: options.keyOf,
    flush: (items) =>
      new Promise((resolve, reject) => {
        flushes.push({ items, finish: (error) => (error ? reject(error) : resolve(items.map((i) => `r${i}`))) });
      }),
  });
  return { batcher, flushes };
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("Batcher", () => {
  it("writes concurrent callers in one flush and answers each with its own results", async () => {
    const { batcher, flushes } = recordingBatcher({ maxBatch: 100, maxInFlight: 1 });
    const a = batcher.submitMany([1, 2]);
    const b = batcher.submit(3);
    const c = batcher.submitMany([4, 5, 6]);
    await until(() => flushes.length === 1);
    expect(flushes[0]!.items).toEqual([1, 2, 3, 4, 5, 6]);
    flushes[0]!.finish();
    expect(await a).toEqual(["r1", "r2"]);
    expect(await b).toBe("r3");
    expect(await c).toEqual(["r4", "r5", "r6"]);
  });

  it("keeps a caller's items in one batch and starts a new batch past maxBatch", async () => {
    const { batcher, flushes } = recordingBatcher({ maxBatch: 4, maxInFlight: 4 });
    const big = batcher.submitMany([1, 2, 3, 4, 5, 6]);
    const small = batcher.submitMany([7, 8]);
    await until(() => flushes.length === 2);
    expect(flushes.map((f) => f.items)).toEqual([[1, 2, 3, 4, 5, 6], [7, 8]]);
    flushes.forEach((f) => f.finish());
    expect(await big).toHaveLength(6);
    expect(await small).toEqual(["r7", "r8"]);
  });

  it("ends a batch at the first group that does not fit: later groups keep their place", async () => {
    const { batcher, flushes } = recordingBatcher({ maxBatch: 10, maxInFlight: 1 });
    const first = batcher.submit(1);
    await until(() => flushes.length === 1);
    // These wait behind the flush in flight; the second does not fit with the first.
    const rest = [batcher.submitMany([2, 3, 4, 5, 6, 7]), batcher.submitMany([8, 9, 10, 11, 12, 13]), batcher.submitMany([14])];
    flushes[0]!.finish();
    await first;
    await until(() => flushes.length === 2);
    expect(flushes[1]!.items).toEqual([2, 3, 4, 5, 6, 7]);
    flushes[1]!.finish();
    await until(() => flushes.length === 3);
    expect(flushes[2]!.items).toEqual([8, 9, 10, 11, 12, 13, 14]);
    flushes[2]!.finish();
    await Promise.all(rest);
  });

  it("holds batches back beyond maxInFlight and writes them when a flush ends", async () => {
    const { batcher, flushes } = recordingBatcher({ maxBatch: 1, maxInFlight: 1 });
    const first = batcher.submit(1);
    const second = batcher.submit(2);
    await until(() => flushes.length === 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushes).toHaveLength(1);
    flushes[0]!.finish();
    await until(() => flushes.length === 2);
    flushes[1]!.finish();
    expect([await first, await second]).toEqual(["r1", "r2"]);
    await batcher.idle();
  });

  it("rejects every caller of a failed flush, and only those", async () => {
    const { batcher, flushes } = recordingBatcher({ maxBatch: 2, maxInFlight: 2 });
    const failed = [batcher.submit(1), batcher.submit(2)];
    const ok = batcher.submit(3);
    await until(() => flushes.length === 2);
    flushes[0]!.finish(new Error("disk on fire"));
    flushes[1]!.finish();
    for (const p of failed) await expect(p).rejects.toThrow("disk on fire");
    expect(await ok).toBe("r3");
  });

  it("with isolate, splits a batch whose flush fails so that only the guilty callers fail", async () => {
    const flushed: number[][] = [];
    const poison = new Error("poison");
    const batcher = new Batcher<number, string>({
      windowMs: 0,
      maxBatch: 100,
      maxInFlight: 1,
      isolate: (error) => error === poison,
      flush: async (items) => {
        flushed.push(items);
        if (items.some((i) => i < 0)) throw poison;
        return items.map((i) => `r${i}`);
      },
    });
    const calls = [batcher.submitMany([1, 2]), batcher.submit(-3), batcher.submit(4), batcher.submitMany([5, -6]), batcher.submit(7)];
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected", "fulfilled"]);
    expect(settled[0]).toEqual({ status: "fulfilled", value: ["r1", "r2"] });
    expect(settled[4]).toEqual({ status: "fulfilled", value: "r7" });
    expect((settled[1] as PromiseRejectedResult).reason).toBe(poison);
    // Halves, not one flush per caller: the first flush holds everyone, then the halves.
    expect(flushed[0]).toEqual([1, 2, -3, 4, 5, -6, 7]);
    expect(flushed.length).toBeLessThanOrEqual(1 + 2 * 2 * Math.ceil(Math.log2(calls.length)));
    await batcher.idle();
  });

  it("without isolate, or for other errors, fails every caller of the batch", async () => {
    const batcher = new Batcher<number, string>({
      windowMs: 0,
      maxBatch: 100,
      maxInFlight: 1,
      isolate: (error) => (error as Error).message === "poison",
      flush: async () => {
        throw new Error("connection lost");
      },
    });
    const settled = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected"]);
  });

  it("with keys, never has one key in two batches in flight, and keeps each key's order", async () => {
    // Key = the tens digit: 11 and 12 share key "1".
    const { batcher, flushes } = recordingBatcher({ maxBatch: 100, maxInFlight: 4, keyOf: (n) => String(Math.floor(n / 10)) });
    const first = batcher.submitMany([11, 21]);
    await until(() => flushes.length === 1);
    const blocked = batcher.submitMany([12, 31]); // shares key 1 with the batch in flight
    const behind = batcher.submitMany([31, 41]); // shares key 3 with the blocked group: keeps its place
    const free = batcher.submitMany([51]);
    await until(() => flushes.length === 2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushes.map((f) => f.items)).toEqual([[11, 21], [51]]);
    flushes[0]!.finish();
    expect(await first).toEqual(["r11", "r21"]);
    await until(() => flushes.length === 3);
    expect(flushes[2]!.items).toEqual([12, 31]);
    flushes[1]!.finish();
    flushes[2]!.finish();
    await until(() => flushes.length === 4);
    expect(flushes[3]!.items).toEqual([31, 41]);
    flushes[3]!.finish();
    expect([await blocked, await behind, await free]).toEqual([["r12", "r31"], ["r31", "r41"], ["r51"]]);
    await batcher.idle();
  });

  it("without keys in common, writes everything waiting as one batch", async () => {
    const { batcher, flushes } = recordingBatcher({ maxBatch: 100, maxInFlight: 4, keyOf: (n) => String(n) });
    const all = [batcher.submitMany([1, 2]), batcher.submitMany([3]), batcher.submitMany([4, 5])];
    await until(() => flushes.length === 1);
    expect(flushes[0]!.items).toEqual([1, 2, 3, 4, 5]);
    flushes[0]!.finish();
    await Promise.all(all);
  });

  it("with a window, gathers callers that arrive within it into one flush", async () => {
    vi.useFakeTimers();
    try {
      const { batcher, flushes } = recordingBatcher({ maxBatch: 100, maxInFlight: 4, windowMs: 5 });
      const first = batcher.submit(1);
      await vi.advanceTimersByTimeAsync(3);
      expect(flushes).toHaveLength(0);
      const second = batcher.submit(2);
      await vi.advanceTimersByTimeAsync(2);
      expect(flushes.map((f) => f.items)).toEqual([[1, 2]]);
      const late = batcher.submit(3);
      await vi.advanceTimersByTimeAsync(4);
      expect(flushes).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(flushes.map((f) => f.items)).toEqual([[1, 2], [3]]);
      for (const f of flushes) f.finish();
      expect([await first, await second, await late]).toEqual(["r1", "r2", "r3"]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("with a window, flushes a full batch without waiting", async () => {
    vi.useFakeTimers();
    try {
      const { batcher, flushes } = recordingBatcher({ maxBatch: 3, maxInFlight: 4, windowMs: 1_000 });
      const full = batcher.submitMany([1, 2, 3]);
      await vi.advanceTimersByTimeAsync(0);
      expect(flushes.map((f) => f.items)).toEqual([[1, 2, 3]]);
      flushes[0]!.finish();
      expect(await full).toEqual(["r1", "r2", "r3"]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("with a window, goes without waiting once windowItems wait", async () => {
    vi.useFakeTimers();
    try {
      const flushed: number[][] = [];
      const batcher = new Batcher<number, number>({
        windowMs: 1_000,
        windowItems: 3,
        maxBatch: 100,
        maxInFlight: 4,
        flush: async (items) => {
          flushed.push(items);
          return items;
        },
      });
      const first = batcher.submit(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(flushed).toHaveLength(0);
      const rest = batcher.submitMany([2, 3]);
      await vi.advanceTimersByTimeAsync(0);
      expect(flushed).toEqual([[1, 2, 3]]);
      expect([await first, await rest]).toEqual([1, [2, 3]]);
    } finally {
      vi.useRealTimers();
    }
  });
});
