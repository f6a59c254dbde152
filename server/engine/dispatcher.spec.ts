import { describe, expect, it } from "vitest";
import { createLogger } from "../observability/logger.js";
import type { LeaseAllocation, LeasedRecord, QueueStore } from "../redis/queue-store.js";
import { Dispatcher } from "./dispatcher.js";
import type { DurableTransitions } from "./durable-transitions.js";
import type { DispatchSession } from "./session.js";

/** A queue store whose lease calls are answered by hand, each call recorded. */
function manualStore() {
  const calls: Array<{ allocations: LeaseAllocation[]; answer: (ids: string[]) => void }> = [];
  const store = {
    lease: (queue: string, allocations: LeaseAllocation[]) =>
      new Promise<{ leased: LeasedRecord[]; expired: string[] }>((resolve) => {
        calls.push({
          allocations,
          // Tasks go to the allocations in order, each filled before the next.
          answer: (ids) => resolve({ leased: assign(queue, allocations, ids), expired: [] }),
        });
      }),
  } as unknown as QueueStore;
  return { store, calls };
}

function assign(queue: string, allocations: LeaseAllocation[], ids: string[]): LeasedRecord[] {
  const leased: LeasedRecord[] = [];
  let next = 0;
  for (const a of allocations) {
    for (let i = 0; i < a.count && next < ids.length; i++) leased.push(record(queue, ids[next++]!, a.sessionId));
  }
  return leased;
}

function record(queue: string, id: string, sessionId: string): LeasedRecord {
  return { sessionId, queue, id, leaseToken: `${id}-lease`, attempt: 1, deadlineMs: 0, type: "t", payloadFormat: 1, payload: Buffer.from("null"), maxAttempts: 1, timeoutMs: 0, labels: {}, createdMs: 0 };
}

function session(queue: string, id = "s1", capacity = 10): DispatchSession & { delivered: string[] } {
  const delivered: string[] = [];
  return {
    id, workerId: `w-${id}`, queues: [queue], credits: 0, capacity, held: new Set(), closed: false, draining: false, delivered,
    deliver: (tasks) => delivered.push(...tasks.map((t) => t.id)),
    cancel: () => {},
    drain: () => {},
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function dispatcher(store: QueueStore): Dispatcher {
  const transitions = { writeDeferred: () => {}, writeInBackground: () => {} } as unknown as DurableTransitions;
  return new Dispatcher({ store, transitions, logger: createLogger({ level: "silent" }), leaseDurationMs: 30_000, pollMs: 60_000, releaseSession: () => {} });
}

/** A dispatcher with one session on queue "q" that has granted 5 credits (one lease call made). */
async function servingFiveCredits() {
  const { store, calls } = manualStore();
  const d = dispatcher(store);
  const s = session("q");
  d.register(s);
  d.grant(s, 5);
  await settle();
  return { d, s, calls };
}

describe("Dispatcher", () => {
  it("does not look again in a queue found empty when room frees up, until tasks arrive", async () => {
    const { d, s, calls } = await servingFiveCredits();
    expect(calls).toHaveLength(1);
    calls[0]!.answer(["a"]); // 1 of 5: the queue ran dry
    await settle();
    expect(s.delivered).toEqual(["a"]);
    d.leasesEnded([{ id: "a", sessionId: "s1" }]);
    d.grant(s, 1);
    await settle();
    expect(calls).toHaveLength(1);
    d.wake("q"); // a task was submitted
    await settle();
    expect(calls).toHaveLength(2);
    calls[1]!.answer(["b"]);
    await settle();
    expect(s.delivered).toEqual(["a", "b"]);
  });

  it("still looks when tasks were announced while the pass that found the queue empty was running", async () => {
    const { d, s, calls } = await servingFiveCredits();
    d.wake("q"); // arrives while the first pass waits for Redis
    calls[0]!.answer([]);
    await settle();
    expect(calls).toHaveLength(2); // the pass runs again for the announcement
    calls[1]!.answer(["a"]);
    await settle();
    d.wake("q");
    await settle();
    calls[2]!.answer(["b"]);
    await settle();
    // The third pass came up short with nothing announced meanwhile: room alone does not look.
    d.grant(s, 1);
    await settle();
    expect(calls).toHaveLength(3);
  });

  it("counts the room of tasks whose results are being fenced as free, and leases behind the fencing call", async () => {
    const { store, calls } = manualStore();
    const d = dispatcher(store);
    const s = session("q", "s1", 3);
    d.register(s);
    d.grant(s, 3);
    await settle();
    calls[0]!.answer(["a", "b", "c"]);
    await settle();
    d.grant(s, 3); // the worker finished all three and granted their slots again
    await settle();
    expect(calls).toHaveLength(1); // its capacity is full until results are fenced
    d.resultsFencing(["a", "b"]);
    await settle();
    expect(calls).toHaveLength(2);
    expect(calls[1]!.allocations).toEqual([{ sessionId: "s1", workerId: "w-s1", count: 2 }]);
    calls[1]!.answer(["d", "e"]);
    await settle();
    // The fencing call answered: "a" and "b" ended; room stays within the capacity.
    d.resultsFenced(["a", "b"]);
    d.leasesEnded([{ id: "a", sessionId: "s1" }, { id: "b", sessionId: "s1" }]);
    await settle();
    expect(calls).toHaveLength(2);
    expect([...s.held].sort()).toEqual(["c", "d", "e"]);
  });

  it("gives back fenced room when the fencing call fails", async () => {
    const { store, calls } = manualStore();
    const d = dispatcher(store);
    const s = session("q", "s1", 2);
    d.register(s);
    d.grant(s, 2);
    await settle();
    calls[0]!.answer(["a", "b"]);
    await settle();
    d.resultsFencing(["a"]);
    d.resultsFenced(["a"]); // failed: "a" is still held
    d.grant(s, 2);
    await settle();
    expect(calls).toHaveLength(1);
  });

  it("runs two lease passes of one queue at once, and a third after them", async () => {
    const { store, calls } = manualStore();
    const d = dispatcher(store);
    const sessions = ["s1", "s2", "s3"].map((id) => session("q", id));
    for (const s of sessions) d.register(s);
    d.grant(sessions[0]!, 1);
    d.grant(sessions[1]!, 1);
    d.grant(sessions[2]!, 1);
    await settle();
    expect(calls.map((c) => c.allocations.map((a) => a.sessionId))).toEqual([["s1"], ["s2"]]);
    calls[0]!.answer(["a"]);
    await settle();
    expect(calls.map((c) => c.allocations.map((a) => a.sessionId))).toEqual([["s1"], ["s2"], ["s3"]]);
    calls[1]!.answer(["b"]);
    calls[2]!.answer(["c"]);
    await settle();
    expect(sessions.map((s) => s.delivered)).toEqual([["a"], ["b"], ["c"]]);
  });
});
