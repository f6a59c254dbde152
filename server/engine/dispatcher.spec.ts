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
          answer: (ids) => resolve({ leased: ids.map((id) => record(queue, id, allocations[0]!.sessionId)), expired: [] }),
        });
      }),
  } as unknown as QueueStore;
  return { store, calls };
}

function record(queue: string, id: string, sessionId: string): LeasedRecord {
  return { sessionId, queue, id, leaseToken: `${id}-lease`, attempt: 1, deadlineMs: 0, type: "t", payloadFormat: 1, payload: Buffer.from("null"), maxAttempts: 1, timeoutMs: 0, labels: {}, createdMs: 0 };
}

function session(queue: string): DispatchSession & { delivered: string[] } {
  const delivered: string[] = [];
  return {
    id: "s1", workerId: "w1", queues: [queue], credits: 0, capacity: 10, held: new Map(), closed: false, draining: false, delivered,
    deliver: (tasks) => delivered.push(...tasks.map((t) => t.id)),
    cancel: () => {},
    drain: () => {},
    end: async () => {},
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
  it("lets a holder go of an ended lease only under that lease's token", async () => {
    const { d, s, calls } = await servingFiveCredits();
    calls[0]!.answer(["a", "b"]);
    await settle();
    expect([...s.held.keys()]).toEqual(["a", "b"]);
    // A forged or stale token for a lease that still stands: the hold stays.
    d.forget([{ id: "a", leaseToken: "a-lease-forged" }]);
    expect(s.held.get("a")).toEqual({ queue: "q", leaseToken: "a-lease" });
    // The task leased again to the session (a retry) while the first result committed: the
    // first attempt's result lets go of nothing; the new lease's own result does.
    s.held.set("b", { queue: "q", leaseToken: "b-lease-2" });
    d.forget([{ id: "b", leaseToken: "b-lease" }]);
    d.leasesEnded([{ id: "b", sessionId: "s1", leaseToken: "b-lease" }]);
    expect(s.held.has("b")).toBe(true);
    d.forget([{ id: "a", leaseToken: "a-lease" }, { id: "b", leaseToken: "b-lease-2" }]);
    expect(s.held.size).toBe(0);
  });

  it("keeps a session's unused credit within its capacity, also when a pass gives back what it did not use", async () => {
    const { store, calls } = manualStore();
    const d = dispatcher(store);
    const s = session("q"); // capacity 10
    d.register(s);
    d.grant(s, 10);
    expect(s.credits).toBe(0); // all 10 allocated to the pass now waiting for Redis
    expect(calls[0]!.allocations[0]!.count).toBe(10);
    d.grant(s, 10); // during the pass
    d.grant(s, 10); // beyond the capacity: dropped
    expect(s.credits).toBe(10);
    calls[0]!.answer([]); // the pass found nothing: its 10 come back, within the capacity
    await settle();
    // The grant during the pass runs another: it holds all there is, 10, not 20.
    expect(calls).toHaveLength(2);
    expect(calls[1]!.allocations[0]!.count + s.credits).toBe(10);
  });

  it("does not look again in a queue found empty when room frees up, until tasks arrive", async () => {
    const { d, s, calls } = await servingFiveCredits();
    expect(calls).toHaveLength(1);
    calls[0]!.answer(["a"]); // 1 of 5: the queue ran dry
    await settle();
    expect(s.delivered).toEqual(["a"]);
    d.leasesEnded([{ id: "a", sessionId: "s1", leaseToken: "a-lease" }]);
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
});
