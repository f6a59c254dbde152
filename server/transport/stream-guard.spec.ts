import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { StreamGuard } from "./stream-guard.js";

async function* counting(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
}

describe("StreamGuard", () => {
  it("passes every response through until the source ends, then runs onEnd once", async () => {
    let ends = 0;
    const seen: number[] = [];
    for await (const value of new StreamGuard().race(counting(5), () => ends++)) seen.push(value);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(ends).toBe(1);
  });

  it("ends a stream waiting for its next response with the failure", async () => {
    const guard = new StreamGuard();
    let released = false;
    const never: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<number>>(() => undefined),
        return: async () => {
          released = true;
          return { done: true, value: undefined };
        },
      }),
    };
    const reading = guard.race(never).next();
    guard.fail(new ConnectError("the API token was revoked", Code.Unauthenticated));
    await expect(reading).rejects.toThrow("the API token was revoked");
    expect(released).toBe(true);
  });

  it("holds no memory per response on a long stream", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error("run with node --expose-gc (vitest.config.ts sets it)");
    const guard = new StreamGuard();
    const stream = guard.race(counting(Number.MAX_SAFE_INTEGER));
    // Warm up, then measure the heap across 200,000 responses.
    for (let i = 0; i < 10_000; i++) await stream.next();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200_000; i++) await stream.next();
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // One retained reaction per response (the defect this guards against) is ~300 bytes each: 60 MB.
    expect(grown).toBeLessThan(20_000_000);
    await stream.return(undefined);
  });
});
