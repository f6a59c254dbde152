import { describe, expect, it } from "vitest";
import { keySlot } from "../server/redis/key-slot.js";
import { crossQueueMasterIndex, masterIndexOfQueue, masterIndexOfSlot, spreadQueues, type SlotRanges } from "./cluster-queues.js";

/** How `redis-cli --cluster create` splits the slots over 3 masters. */
const THREE: SlotRanges[] = [[[0, 5460]], [[5461, 10922]], [[10923, 16383]]];

describe("bench cluster queues", () => {
  it("finds the master of a slot and of a queue's keys (its hash tag {tq:<queue>})", () => {
    expect(masterIndexOfSlot(THREE, 0)).toBe(0);
    expect(masterIndexOfSlot(THREE, 10922)).toBe(1);
    expect(masterIndexOfSlot(THREE, 16383)).toBe(2);
    expect(masterIndexOfSlot([[[0, 99]]], 100)).toBe(-1);
    expect(masterIndexOfQueue(THREE, "emails")).toBe(masterIndexOfSlot(THREE, keySlot("{tq:emails}:types")));
    expect(masterIndexOfQueue(THREE, "emails", "app:")).toBe(masterIndexOfSlot(THREE, keySlot("app:emails")));
    // The cross-queue keys ({tq:}:…) hash to slot 10425.
    expect(crossQueueMasterIndex(THREE)).toBe(1);
  });

  it("spreads 20 queues 7/7/6 over 3 masters, the master of the cross-queue keys taking 6", () => {
    const spread = spreadQueues(THREE, 20, "bench-cluster20");
    expect(spread.queues).toHaveLength(20);
    expect(new Set(spread.queues).size).toBe(20);
    expect(spread.perMaster).toEqual([7, 6, 7]);
    spread.queues.forEach((queue, i) => {
      expect(queue).toMatch(/^bench-cluster20-[0-9a-f]{8}$/);
      expect(masterIndexOfQueue(THREE, queue)).toBe(spread.masterOf[i]);
    });
  });

  it("works with uneven slot ranges and more masters", () => {
    const six: SlotRanges[] = [[[0, 99]], [[100, 4000], [12000, 12100]], [[4001, 8000]], [[8001, 11999]], [[12101, 14000]], [[14001, 16383]]];
    const spread = spreadQueues(six, 12, "q");
    expect(spread.perMaster).toEqual([2, 2, 2, 2, 2, 2]);
  });
});
