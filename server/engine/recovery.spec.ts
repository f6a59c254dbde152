import { DispatchKeys } from "../redis/keys.js";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { OpenAttemptRepairer } from "../db/open-attempt-repairer.js";
import type { TaskRepository } from "../db/task-repository.js";
import { createLogger } from "../observability/logger.js";
import type { QueueStore } from "../redis/queue-store.js";
import type { DurableTransitions } from "./durable-transitions.js";
import { Recovery } from "./recovery.js";

/** The creation time (epoch ms) a task id or id bound stands for. */
function msOfId(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

function recovery() {
  const windows: Array<{ fromId: string; toId: string } | undefined> = [];
  const repository = {
    unfinishedPage: async (_after: string | null, _limit: number, window?: { fromId: string; toId: string }) => {
      windows.push(window);
      return [];
    },
  } as unknown as TaskRepository;
  const store = { prefix: "tq:", keys: new DispatchKeys("tq:"), ensureEpochMarker: async () => false, inspect: async () => [] } as unknown as QueueStore;
  const redis = { set: async () => "OK" } as unknown as Redis;
  const r = new Recovery({
    repository,
    attempts: { repairPage: async () => ({ scanned: 0, repaired: 0, last: null }) } as unknown as OpenAttemptRepairer,
    store,
    redis,
    transitions: {} as DurableTransitions,
    logger: createLogger({ level: "silent" }),
    serverId: "s1",
    intervalMs: 10_000,
    onReady: () => {},
    onDue: () => {},
  });
  return { r, windows };
}

describe("Recovery", () => {
  it("has each regular sweep read the ids created since the previous one (and a second more)", async () => {
    const { r, windows } = recovery();
    await r.tick(); // the first sweep is full
    await r.tick();
    await r.tick();
    expect(windows[0]).toBeUndefined();
    const [second, third] = [windows[1]!, windows[2]!];
    expect(msOfId(second.toId)).toBeLessThanOrEqual(Date.now() - 2_000);
    expect(msOfId(third.fromId)).toBe(msOfId(second.toId) - 1_000);
    expect(msOfId(third.toId)).toBeGreaterThanOrEqual(msOfId(second.toId));
  });

  it("makes the sweep after a failed enqueue a full one", async () => {
    const { r, windows } = recovery();
    await r.tick();
    r.request();
    await r.tick();
    expect(windows).toEqual([undefined, undefined]);
  });
});
