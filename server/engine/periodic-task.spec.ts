import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../observability/logger.js";
import { PeriodicTask } from "./periodic-task.js";

/** A run that records when it started and ends only when released. */
function heldRuns() {
  const starts: number[] = [];
  const releases: Array<() => void> = [];
  const run = () => {
    starts.push(Date.now());
    return new Promise<number>((resolve) => releases.push(() => resolve(starts.length)));
  };
  const releaseNext = async () => {
    releases.shift()!();
    await vi.advanceTimersByTimeAsync(0);
  };
  return { run, starts, releaseNext };
}

function task<T>(run: () => Promise<T>, options: { intervalMs?: number; runAtStart?: boolean } = {}) {
  return new PeriodicTask<T>({
    name: "test",
    run,
    intervalMs: options.intervalMs ?? 1_000,
    runAtStart: options.runAtStart,
    logger: createLogger({ level: "silent" }),
  });
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe("PeriodicTask", () => {
  it("runs every interval, counted from the end of the previous run", async () => {
    const { run, starts, releaseNext } = heldRuns();
    const t = task(run);
    t.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(starts).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toEqual([1_000]);
    await vi.advanceTimersByTimeAsync(500);
    await releaseNext();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts).toEqual([1_000, 2_500]);
    await releaseNext();
    await t.stop();
  });

  it("runs at once when asked to at start", async () => {
    const { run, starts, releaseNext } = heldRuns();
    const t = task(run, { runAtStart: true });
    t.start();
    expect(starts).toEqual([0]);
    await releaseNext();
    await t.stop();
  });

  it("is never re-entered: ticks and requests while a run is under way make one run right after it", async () => {
    const { run, starts, releaseNext } = heldRuns();
    const t = task(run, { intervalMs: 100 });
    const first = t.runNow();
    expect(await Promise.race([t.runNow(), Promise.resolve("pending")])).toBeUndefined();
    t.request();
    t.request(50);
    await vi.advanceTimersByTimeAsync(300);
    expect(starts).toEqual([0]);
    await releaseNext();
    expect(await first).toBe(1);
    expect(starts).toEqual([0, 300]);
    await releaseNext();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(starts).toEqual([0, 300]);
    await t.stop();
  });

  it("runs when a request falls due, and keeps a later request when an earlier run comes first", async () => {
    const { run, starts, releaseNext } = heldRuns();
    const t = task(run, { intervalMs: 60_000 });
    t.request(2_000);
    t.request(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(starts).toEqual([0]);
    await releaseNext();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(starts).toEqual([0, 2_000]);
    await releaseNext();
    await t.stop();
  });

  it("stop() cancels the timer and waits for the run under way", async () => {
    const { run, starts, releaseNext } = heldRuns();
    const t = task(run, { intervalMs: 100 });
    t.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(starts).toEqual([100]);
    let stopped = false;
    const stopping = t.stop().then(() => (stopped = true));
    expect(t.stopped).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(stopped).toBe(false);
    await releaseNext();
    await stopping;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts).toEqual([100]);
    expect(await t.runNow()).toBeUndefined();
    t.request();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(starts).toEqual([100]);
  });

  it("logs a failed timed run and runs again at the next interval", async () => {
    let calls = 0;
    const warn = vi.fn();
    const t = new PeriodicTask({
      name: "failing",
      intervalMs: 100,
      logger: { warn } as never,
      run: async () => {
        calls++;
        throw new Error("boom");
      },
    });
    t.start();
    await vi.advanceTimersByTimeAsync(250);
    expect(calls).toBe(2);
    expect(warn).toHaveBeenCalledTimes(2);
    await expect(t.runNow()).rejects.toThrow("boom");
    await t.stop();
  });
});

describe("PeriodicTask.runNow", () => {
  it("runs again when called as soon as the previous run has answered", async () => {
    let runs = 0;
    const t = task(async () => ++runs);
    expect(await t.runNow()).toBe(1);
    expect(await t.runNow()).toBe(2);
    await t.stop();
  });
});
