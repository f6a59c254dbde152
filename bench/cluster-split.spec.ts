import { describe, expect, it } from "vitest";
import { masterSplit } from "./cluster-split.js";

describe("bench cluster split", () => {
  it("gives each master's share of the Redis CPU and its CPU per task of its own queues", () => {
    // 3 masters, 1,000 tasks: 400 / 300 / 300 on their queues; µs per task over all 1,000.
    const split = masterSplit([12, 9, 9], [400, 300, 300], 1_000);
    expect(split.sharePct.map((s) => Math.round(s * 10) / 10)).toEqual([40, 30, 30]);
    expect(split.usPerOwnTask).toEqual([30, 30, 30]);
    expect(split.shareMaxMin).toBeCloseTo(4 / 3);
    expect(split.usPerOwnTaskMaxMin).toBe(1);
  });

  it("is NaN where a master has no tasks or no CPU", () => {
    const split = masterSplit([5, 0], [10, 0], 10);
    expect(split.usPerOwnTask[1]).toBeNaN();
    expect(split.shareMaxMin).toBeNaN();
    expect(masterSplit([0, 0], [1, 1], 2).sharePct.every(Number.isNaN)).toBe(true);
  });
});
