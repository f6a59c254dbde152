import { describe, expect, it } from "vitest";
import type { LeaseEnd } from "../redis/queue-store.js";
import { LeaseEndRouter, LeaseEndRouterUnwiredError, type LeaseEndTargets } from "./lease-end-router.js";
import type { DispatchSession } from "./session.js";

function end(overrides: Partial<LeaseEnd>): LeaseEnd {
  return { id: "t1", state: "SUCCEEDED", attempt: 1, workerId: "w", startedMs: 1, dueMs: 0, how: "succeeded", queue: "q", sessionId: "s1", leaseToken: "l1", ...overrides };
}

/** A router whose targets record what they are told, in order. */
function routed() {
  const calls: unknown[][] = [];
  const session = { cancel: (...args: unknown[]) => void calls.push(["session.cancel", ...args]) } as unknown as DispatchSession;
  const targets: LeaseEndTargets = {
    dispatcher: {
      wake: (queue) => void calls.push(["wake", queue]),
      forget: (leases) => void calls.push(["forget", [...leases].map((l) => l.id)]),
      connected: new Map([["s1", session]]),
    },
    scheduler: { notifyDue: (dueMs) => void calls.push(["notifyDue", dueMs]) },
    notifier: {
      ready: (queues) => void calls.push(["announceReady", queues]),
      due: (dueMs) => void calls.push(["announceDue", dueMs]),
      cancel: (notice) => void calls.push(["announceCancel", notice.taskId, notice.reason]),
    },
    record: (ends) => void calls.push(["record", ends.length]),
  };
  const router = new LeaseEndRouter();
  router.attach(targets);
  return { router, calls };
}

describe("LeaseEndRouter", () => {
  it("records every end, wakes and announces requeued queues once, arms the earliest back-off, and forgets the leases", () => {
    const { router, calls } = routed();
    router.leaseEnds([
      end({ id: "a", state: "QUEUED", how: "lost", queue: "q1" }),
      end({ id: "b", state: "QUEUED", how: "lost", queue: "q1" }),
      end({ id: "c", state: "FAILED", how: "failed", dueMs: 500 }),
      end({ id: "d", state: "FAILED", how: "failed", dueMs: 300 }),
      end({ id: "e", state: "SUCCEEDED" }),
    ]);
    expect(calls).toEqual([
      ["record", 5],
      ["wake", "q1"],
      ["announceReady", ["q1"]],
      ["notifyDue", 300],
      ["announceDue", 300],
      ["forget", ["a", "b", "c", "d", "e"]],
    ]);
  });

  it("cancels a lease that timed out or expired on its stream and tells the other servers", () => {
    const { router, calls } = routed();
    router.leaseEnds([end({ id: "a", state: "FAILED", how: "timeout", dueMs: 9, sessionId: "s1", leaseToken: "l1" }), end({ id: "b", state: "DEAD", how: "expired", sessionId: "elsewhere" })]);
    expect(calls.filter((c) => String(c[0]).includes("ancel"))).toEqual([
      ["session.cancel", "a", "l1", "attempt timed out"],
      ["announceCancel", "a", "attempt timed out"],
      ["announceCancel", "b", "lease expired"],
    ]);
  });

  it("announces only when asked", () => {
    const { router, calls } = routed();
    router.ready(["q"], { announce: false });
    router.due(7, { announce: false });
    router.cancel({ sessionId: "s1", taskId: "t", leaseToken: "l", reason: "cancelled" }, { announce: false });
    expect(calls).toEqual([["wake", "q"], ["notifyDue", 7], ["session.cancel", "t", "l", "cancelled"]]);
  });

  it("refuses to route before its targets are attached", () => {
    expect(() => new LeaseEndRouter().leaseEnds([end({})])).toThrow(LeaseEndRouterUnwiredError);
  });
});
