import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../observability/logger.js";
import { ServiceGroup, serviceEntry, stopStep, type GroupEntry } from "./service-group.js";
import { SHUTDOWN_GRACE_MS } from "./shutdown-budget.js";

const logger = createLogger({ level: "silent" });

/** A service that records its start and stop in `events`. */
function recorded(name: string, events: string[], stop: () => Promise<void> = async () => {}): GroupEntry {
  return serviceEntry(`stopping ${name}`, "exit", {
    start: () => void events.push(`start ${name}`),
    stop: async () => {
      events.push(`stop ${name}`);
      await stop();
    },
  });
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe("ServiceGroup", () => {
  it("starts in order and stops in reverse, with the steps that only stop in their place", async () => {
    const events: string[] = [];
    const group = new ServiceGroup({
      drainTimeoutMs: 1_000,
      logger,
      entries: [recorded("a", events), stopStep("draining", "own", () => events.push("drain")), recorded("b", events)],
    });
    await group.start();
    expect(events).toEqual(["start a", "start b"]);
    const report = await group.stop();
    expect(events.slice(2)).toEqual(["stop b", "drain", "stop a"]);
    expect(report).toMatchObject({ complete: true, unfinished: [] });
    expect(await group.stop()).toBe(report);
    expect(events).toHaveLength(5);
  });

  it("abandons a stop that overruns its deadline, records it cut short and goes on", async () => {
    const events: string[] = [];
    const group = new ServiceGroup({
      drainTimeoutMs: 1_000,
      logger,
      entries: [recorded("a", events), recorded("stuck", events, () => new Promise(() => {})), recorded("c", events)],
    });
    await group.start();
    const stopping = group.stop();
    await vi.advanceTimersByTimeAsync(1_000 + SHUTDOWN_GRACE_MS);
    const report = await stopping;
    expect(events.slice(3)).toEqual(["stop c", "stop stuck", "stop a"]);
    expect(report).toMatchObject({ complete: false, unfinished: ["stopping stuck"] });
  });

  it("gives each stop the deadline it names", async () => {
    const at: Record<string, number> = {};
    const hang = (name: string) => () => new Promise<void>(() => void (at[name] = Date.now()));
    const group = new ServiceGroup({
      drainTimeoutMs: 1_000,
      logger,
      entries: [stopStep("exit step", "exit", hang("exit")), stopStep("write step", "write", hang("write")), stopStep("drain step", "drain", hang("drain"))],
    });
    await group.start();
    const stopping = group.stop();
    await vi.advanceTimersByTimeAsync(1_000 + SHUTDOWN_GRACE_MS);
    expect(await stopping).toMatchObject({ unfinished: ["drain step", "write step", "exit step"] });
    expect(at.drain).toBe(0);
    expect(at.write).toBe(1_000);
    expect(at.exit).toBeGreaterThan(at.write!);
  });

  it("stops what had started, in reverse, when a start fails, and throws", async () => {
    const events: string[] = [];
    const failing: GroupEntry = {
      step: "failing",
      deadline: "exit",
      start: () => Promise.reject(new Error("cannot listen")),
      stop: () => void events.push("stop failing"),
    };
    const group = new ServiceGroup({ drainTimeoutMs: 1_000, logger, entries: [recorded("a", events), recorded("b", events), failing, recorded("d", events)] });
    await expect(group.start()).rejects.toThrow("cannot listen");
    expect(events).toEqual(["start a", "start b", "stop b", "stop a"]);
  });
});
