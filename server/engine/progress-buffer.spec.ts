import { describe, expect, it } from "vitest";
import { createLogger } from "../observability/logger.js";
import { PROGRESS_WRITE_TRIES, ProgressBuffer } from "./progress-buffer.js";
import type { ProgressUpdate } from "./task-records.js";

const logger = createLogger({ level: "silent" });

/** A buffer whose writes are recorded, and held until `release` when `hold` is set. */
function recordingBuffer(options: { maxTasksPerStream?: number; hold?: boolean } = {}) {
  const writes: ProgressUpdate[][] = [];
  const counts = { reports: 0, written: 0, dropped: 0 };
  const held: Array<() => void> = [];
  const buffer = new ProgressBuffer({
    logger,
    maxTasksPerStream: options.maxTasksPerStream,
    write: async (updates) => {
      writes.push(updates);
      if (options.hold) await new Promise<void>((resolve) => held.push(resolve));
    },
    onReport: () => counts.reports++,
    onWritten: (n) => (counts.written += n),
    onDropped: (n) => (counts.dropped += n),
  });
  return { buffer, writes, counts, release: () => held.splice(0).forEach((r) => r()) };
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const update = (id: string, percent: number, message = `at ${percent}`): ProgressUpdate => ({ id, percent, message });

describe("ProgressBuffer", () => {
  it("tries a report again while its task is not marked RUNNING yet, unless a newer one replaced it, within PROGRESS_WRITE_TRIES", async () => {
    const writes: string[][] = [];
    let notYet = new Set(["early", "stuck"]);
    let dropped = 0;
    const buffer = new ProgressBuffer({
      logger,
      write: async (updates) => {
        writes.push(updates.map((u) => `${u.id}@${u.percent}`));
        return updates.map((u) => u.id).filter((id) => notYet.has(id));
      },
      onDropped: (n) => (dropped += n),
    });
    buffer.report("s1", update("early", 10));
    buffer.report("s1", update("stuck", 5));
    await buffer.flush();
    buffer.report("s1", update("early", 20)); // a newer report replaces the one tried again
    notYet = new Set(["stuck"]); // "early" is RUNNING now
    await buffer.flush();
    expect(writes).toEqual([["early@10", "stuck@5"], ["early@20", "stuck@5"]]);
    for (let i = 2; i < PROGRESS_WRITE_TRIES + 5; i++) await buffer.flush();
    expect(writes.length).toBe(PROGRESS_WRITE_TRIES); // "stuck" gave up after its tries
    expect(dropped).toBe(1);
  });

  it("keeps the latest report of each task and writes them all in one call", async () => {
    const { buffer, writes, counts } = recordingBuffer();
    for (let i = 0; i < 1000; i++) buffer.report("s1", update("a", i / 10));
    buffer.report("s2", update("b", 5));
    await buffer.flush();
    expect(writes).toEqual([[update("a", 99.9), update("b", 5)]]);
    expect(counts).toEqual({ reports: 1001, written: 2, dropped: 0 });
    await buffer.flush();
    expect(writes).toHaveLength(1);
  });

  it("stores messages as storable text, at most 1024 characters", async () => {
    const { buffer, writes } = recordingBuffer();
    buffer.report("s1", update("a", 1, "nul\u0000 and lone \uD800"));
    buffer.report("s1", update("b", 1, "x".repeat(5000)));
    await buffer.flush();
    expect(writes[0]![0]!.message).toBe("nul\uFFFD and lone \uFFFD");
    expect(writes[0]![1]!.message).toBe("x".repeat(1024));
  });

  it("bounds the tasks one stream may have waiting, not other streams", async () => {
    const { buffer, writes, counts } = recordingBuffer({ maxTasksPerStream: 2 });
    buffer.report("s1", update("a", 1));
    buffer.report("s1", update("b", 1));
    buffer.report("s1", update("c", 1)); // a third task of s1: dropped
    buffer.report("s1", update("a", 2)); // a task already waiting: replaces its report
    buffer.report("s2", update("d", 1));
    await buffer.flush();
    expect(writes[0]!.map((u) => `${u.id}${u.percent}`)).toEqual(["a2", "b1", "d1"]);
    expect(counts.dropped).toBe(1);
    buffer.report("s1", update("c", 3)); // room again after the flush
    await buffer.flush();
    expect(writes[1]).toEqual([update("c", 3)]);
  });

  it("runs one write at a time: reports made meanwhile wait for the next one", async () => {
    const { buffer, writes, release } = recordingBuffer({ hold: true });
    buffer.report("s1", update("a", 1));
    const first = buffer.flush();
    buffer.report("s1", update("a", 2));
    expect(buffer.flush()).toBe(first);
    expect(writes).toHaveLength(1);
    release();
    await first;
    const second = buffer.flush();
    release();
    await second;
    expect(writes).toEqual([[update("a", 1)], [update("a", 2)]]);
  });

  it("writes what it holds when stopped, waiting for a write in progress first", async () => {
    const { buffer, writes, release } = recordingBuffer({ hold: true });
    buffer.start();
    buffer.report("s1", update("a", 1));
    const first = buffer.flush();
    buffer.report("s1", update("a", 2));
    const stopped = buffer.stop(5_000);
    release();
    await first;
    await until(() => writes.length === 2);
    release();
    await stopped;
    expect(writes).toEqual([[update("a", 1)], [update("a", 2)]]);
  });

  it("stops within its bound when the write never ends", async () => {
    const { buffer, writes } = recordingBuffer({ hold: true });
    buffer.report("s1", update("a", 1));
    await buffer.stop(20);
    expect(writes).toHaveLength(1);
  });
});
