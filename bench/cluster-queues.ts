import { randomBytes } from "node:crypto";
import { keySlot } from "../server/redis/key-slot.js";
import { DispatchKeys } from "../server/redis/keys.js";

/** Slot ranges served by one master, as `CLUSTER NODES` gives them. */
export type SlotRanges = ReadonlyArray<readonly [number, number]>;

/** Queue names and, for each, the index of the master holding its keys. */
export interface SpreadQueues {
  queues: string[];
  /** Index into the masters given, per queue. */
  masterOf: number[];
  /** Queues per master, by index. */
  perMaster: number[];
}

/** The index of the master (by its slot ranges) serving `slot`; -1 if none does. */
export function masterIndexOfSlot(masters: readonly SlotRanges[], slot: number): number {
  return masters.findIndex((ranges) => ranges.some(([from, to]) => slot >= from && slot <= to));
}

/** The index of the master holding queue `name`'s keys under the server's key `prefix`. */
export function masterIndexOfQueue(masters: readonly SlotRanges[], name: string, prefix = "tq:"): number {
  return masterIndexOfSlot(masters, keySlot(new DispatchKeys(prefix).queue(name).types));
}

/** The index of the master holding the cross-queue keys (`{tq:}`: registries, liveness, wake-ups). */
export function crossQueueMasterIndex(masters: readonly SlotRanges[], prefix = "tq:"): number {
  return masterIndexOfSlot(masters, keySlot(`${new DispatchKeys(prefix).crossQueue}queues`));
}

/**
 * `count` queue names `<label>-<random>` spread as evenly as Redis Cluster's hash slots allow
 * over the masters (each gets ⌊count / masters⌋ or one more; the master of the cross-queue
 * keys gets one more last), checked with the same key slot the server's keys hash to.
 */
export function spreadQueues(masters: readonly SlotRanges[], count: number, label: string, prefix = "tq:"): SpreadQueues {
  const crossQueue = crossQueueMasterIndex(masters, prefix);
  const order = masters.map((_, i) => i).sort((a, b) => Number(a === crossQueue) - Number(b === crossQueue));
  const quota = masters.map((_, i) => Math.floor(count / masters.length) + (order.indexOf(i) < count % masters.length ? 1 : 0));
  const perMaster = masters.map(() => 0);
  const queues: string[] = [];
  const masterOf: number[] = [];
  for (let tries = 0; queues.length < count; tries++) {
    if (tries > count * 1000) throw new Error(`no spread of ${count} queues over ${masters.length} masters found`);
    const name = `${label}-${randomBytes(4).toString("hex")}`;
    const index = masterIndexOfQueue(masters, name, prefix);
    if (index < 0 || perMaster[index]! >= quota[index]!) continue;
    perMaster[index]!++;
    queues.push(name);
    masterOf.push(index);
  }
  return { queues, masterOf, perMaster };
}
