import { describe, expect, it } from "vitest";
import { createBackoff } from "./backoff.js";
import { compileWorkerOptions } from "./options.js";
import { Outbox } from "./outbox.js";
import { failureFromError, successValue } from "./payload.js";
import { ProgressThrottle } from "./progress-throttle.js";
import { Liveness } from "./liveness.js";
import { NonRetryableError, WorkerOptionsError } from "./errors.js";
import { ManualClock } from "./testing/manual-clock.js";
import { testLogger } from "./testing/fixtures.js";

describe("backoff", () => {
  it("doubles from the initial delay up to the cap, with jitter in [d/2, d]", () => {
    const low = createBackoff({ initialDelayMs: 100, maxDelayMs: 5_000, random: () => 0 });
    expect(Array.from({ length: 8 }, () => low.next())).toEqual([50, 100, 200, 400, 800, 1600, 2500, 2500]);
    const high = createBackoff({ initialDelayMs: 100, maxDelayMs: 5_000, random: () => 0.999999 });
    expect(Array.from({ length: 8 }, () => high.next())).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    high.reset();
    expect(high.next()).toBe(100);
    expect(high.attempts).toBe(1);
  });
});

describe("outbox", () => {
  it("hands queued and later messages to its consumer and ends after close", async () => {
    const outbox = new Outbox<number>();
    outbox.push(1);
    const seen: number[] = [];
    const consumed = (async () => {
      for await (const n of outbox) seen.push(n);
    })();
    outbox.push(2);
    outbox.close();
    expect(outbox.push(3)).toBe(false);
    await consumed;
    expect(seen).toEqual([1, 2]);
  });

  it("returns the same iterator when asked again, and return() closes it", async () => {
    const outbox = new Outbox<number>();
    const it = outbox[Symbol.asyncIterator]();
    expect(outbox[Symbol.asyncIterator]()).toBe(it);
    const pending = it.next();
    await it.return?.();
    expect(outbox.isClosed).toBe(true);
    expect(await it.next()).toEqual({ value: undefined, done: true });
    // The reader that was waiting when the outbox closed is released too.
    expect(await pending).toEqual({ value: undefined, done: true });
  });
});

describe("payload encoding", () => {
  it("sends undefined as JSON null, bytes as bytes and applies toJSON", () => {
    expect(successValue(undefined)).toBeNull();
    expect(successValue(new Uint8Array([1]))).toEqual(new Uint8Array([1]));
    expect(successValue({ at: new Date(0) })).toEqual({ at: "1970-01-01T00:00:00.000Z" });
    expect(successValue([NaN, -0, Infinity, "x", true])).toEqual([null, 0, null, "x", true]);
    expect(Object.is(successValue(-0), 0)).toBe(true);
    expect(successValue(Number.NaN)).toBeNull();
    expect(successValue(() => 1)).toBeNull();
  });

  it("rejects values that are not JSON as a non-retryable failure", () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => successValue(circular)).toThrow(NonRetryableError);
    expect(() => successValue(10n)).toThrow(NonRetryableError);
  });

  it("describes thrown values", () => {
    expect(failureFromError(new TypeError("x"))).toEqual({ message: "x", type: "TypeError", nonRetryable: false });
    expect(failureFromError("plain")).toEqual({ message: "plain", type: "Error", nonRetryable: false });
    expect(failureFromError(new NonRetryableError("gone"))).toEqual({
      message: "gone",
      type: "NonRetryableError",
      nonRetryable: true,
    });
  });
});

describe("progress throttle", () => {
  it("sends the first report at once and the latest one per interval", () => {
    const clock = new ManualClock();
    const sent: number[] = [];
    const throttle = new ProgressThrottle({ intervalMs: 250, clock, send: (p) => sent.push(p) });
    throttle.report(1);
    throttle.report(2);
    throttle.report(3);
    expect(sent).toEqual([1]);
    clock.advance(250);
    expect(sent).toEqual([1, 3]);
    clock.advance(1_000);
    throttle.report(150);
    expect(sent).toEqual([1, 3, 100]);
    throttle.report(4);
    throttle.close();
    clock.advance(1_000);
    expect(sent).toEqual([1, 3, 100]);
  });
});

describe("liveness", () => {
  it("beats every interval and calls a server silent for three intervals deaf", () => {
    const clock = new ManualClock();
    let beats = 0;
    let deafAfter: number | undefined;
    const liveness = new Liveness({ clock, intervalMs: 100, beat: () => beats++, deaf: (ms) => (deafAfter = ms) });
    liveness.start();
    clock.advance(250);
    liveness.touch();
    clock.advance(250);
    expect(beats).toBe(5);
    expect(deafAfter).toBeUndefined();
    clock.advance(50);
    expect(deafAfter).toBe(300);
    clock.advance(1_000);
    expect(beats).toBe(5);
    expect(clock.pending).toBe(0);
  });
});

describe("options", () => {
  const base = { queues: ["q"], handlers: { a: () => 1 }, logger: testLogger() };

  it("fills in defaults", () => {
    const compiled = compileWorkerOptions({ ...base, address: "tq.internal:6000" });
    expect(compiled.baseUrl).toBe("http://tq.internal:6000");
    expect(compiled.concurrency).toBe(10);
    expect(compiled.reconnect).toEqual({ initialDelayMs: 100, maxDelayMs: 5_000 });
    expect(compiled.workerId).toMatch(/^.+\/\d+\/[0-9a-f]{6}$/);
  });

  it("names the bad option", () => {
    const bad: Array<[object, string]> = [
      [{ concurrency: 0 }, "concurrency"],
      [{ concurrency: 1.5 }, "concurrency"],
      [{ queues: ["ok", ""] }, "queues[1]"],
      [{ queues: ["my queue"] }, "queues[0]"],
      [{ handlers: { a: 1 } }, "handlers.a"],
      [{ workerId: "" }, "workerId"],
      [{ address: "ftp://x" }, "address"],
      [{ reconnect: { initialDelayMs: 100, maxDelayMs: 10 } }, "reconnect.maxDelayMs"],
      [{ labels: { a: 1 } }, "labels.a"],
    ];
    for (const [override, field] of bad) {
      expect(() => compileWorkerOptions({ ...base, ...override } as never)).toThrow(WorkerOptionsError);
      try {
        compileWorkerOptions({ ...base, ...override } as never);
      } catch (error) {
        expect((error as WorkerOptionsError).field).toBe(field);
      }
    }
  });
});
