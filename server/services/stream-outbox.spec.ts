import { describe, expect, it } from "vitest";
import { StreamBufferError } from "./stream-limits.js";
import { StreamOutbox } from "./stream-outbox.js";

function outbox(limits: { pauseBytes?: number; maxBytes?: number; stallTimeoutMs?: number } = {}) {
  const congestion: boolean[] = [];
  const overflows: StreamBufferError[] = [];
  const box = new StreamOutbox<string>({
    pauseBytes: limits.pauseBytes ?? 100,
    maxBytes: limits.maxBytes ?? 1_000,
    stallTimeoutMs: limits.stallTimeoutMs ?? 60_000,
    onCongestion: (congested) => congestion.push(congested),
    onOverflow: (error) => overflows.push(error),
  });
  return { box, congestion, overflows };
}

describe("StreamOutbox", () => {
  it("hands an item straight to a waiting consumer without counting it", async () => {
    const { box } = outbox();
    const next = box[Symbol.asyncIterator]().next();
    box.push("a", 500);
    expect(await next).toEqual({ value: "a", done: false });
    expect(box.queuedBytes).toBe(0);
    expect(box.congested).toBe(false);
  });

  it("is congested from the pause bound until half of it is left, and wakes writers then", async () => {
    const { box, congestion } = outbox({ pauseBytes: 100 });
    const it = box[Symbol.asyncIterator]();
    for (let i = 0; i < 4; i++) box.push(`m${i}`, 30);
    expect(box.congested).toBe(true);
    expect(congestion).toEqual([true]);
    let writable = false;
    const waiting = box.whenWritable().then(() => (writable = true));
    await it.next(); // 90 left
    await it.next(); // 60 left
    await Promise.resolve();
    expect(writable).toBe(false);
    await it.next(); // 30 left: at most half the bound
    await waiting;
    expect(box.congested).toBe(false);
    expect(congestion).toEqual([true, false]);
  });

  it("fails with buffer_full past the hard bound, dropping what it held", async () => {
    const { box, overflows } = outbox({ pauseBytes: 100, maxBytes: 250 });
    for (let i = 0; i < 9; i++) box.push(`m${i}`, 30);
    expect(overflows.map((e) => e.reason)).toEqual(["buffer_full"]);
    expect(overflows[0]).toBeInstanceOf(StreamBufferError);
    expect(box.length).toBe(0);
    expect(box.queuedBytes).toBe(0);
    await expect(box[Symbol.asyncIterator]().next()).rejects.toBe(overflows[0]);
    // Nothing more is taken once failed.
    box.push("late", 1);
    expect(box.length).toBe(0);
  });

  it("counts committed items toward congestion but never fails for them", async () => {
    const { box, overflows } = outbox({ pauseBytes: 100, maxBytes: 250 });
    box.push("assignment", 10_000, true);
    expect(box.congested).toBe(true);
    expect(overflows).toEqual([]);
    for (let i = 0; i < 8; i++) box.push(`ack${i}`, 30);
    expect(overflows).toEqual([]);
    box.push("one ack too many", 30);
    expect(overflows.map((e) => e.reason)).toEqual(["buffer_full"]);
  });

  it("fails with not_reading when it stays congested past the stall timeout", async () => {
    const failed = new Promise<StreamBufferError>((resolve) => {
      const box = new StreamOutbox<string>({ pauseBytes: 10, maxBytes: 1_000, stallTimeoutMs: 20, onOverflow: resolve });
      box.push("unread", 50);
    });
    expect((await failed).reason).toBe("not_reading");
  });

  it("releases waiting writers when closed or failed", async () => {
    const { box } = outbox({ pauseBytes: 10 });
    box.push("x", 50);
    const waiting = box.whenWritable();
    box.fail(new Error("gone"));
    await waiting;
    await expect(box.whenWritable()).resolves.toBeUndefined();
  });
});
