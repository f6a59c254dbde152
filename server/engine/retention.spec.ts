import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { FinishedTaskDeleter, FinishedTaskPage, FinishedTaskPageResult } from "../db/finished-task-deleter.js";
import { createLogger } from "../observability/logger.js";
import { lowestTaskIdAt } from "./ids.js";
import type { StoredQueueSettings } from "./queue-settings.js";
import { Retention } from "./retention.js";

const DAY_MS = 86_400_000;

/** A deleter that records the pages asked for and answers with scripted results. */
function recordingDeleter(answers: Array<Partial<FinishedTaskPageResult>> = []) {
  const pages: FinishedTaskPage[] = [];
  const deleter = {
    deletePage(page: FinishedTaskPage): Promise<FinishedTaskPageResult> {
      pages.push(page);
      return Promise.resolve({ scanned: 0, deleted: 0, lastId: null, ...answers.shift() });
    },
  } as unknown as FinishedTaskDeleter;
  return { deleter, pages };
}

function retention(
  deleter: FinishedTaskDeleter,
  clock: { now: number },
  overrides: { finished?: number; dead?: number; queues?: Map<string, StoredQueueSettings> } = {},
) {
  return new Retention({
    deleter,
    redis: undefined as unknown as Redis, // sweep() takes no lock
    prefix: "tq:",
    serverId: "s",
    logger: createLogger({ level: "silent" }),
    finishedRetentionMs: overrides.finished ?? 7 * DAY_MS,
    deadRetentionMs: overrides.dead ?? 0,
    queueSettings: () => overrides.queues ?? new Map(),
    intervalMs: 60_000,
    pageSize: 2,
    now: () => clock.now,
  });
}

describe("Retention", () => {
  it("first looks at every task created before the cut-off, page after page", async () => {
    const clock = { now: 100 * DAY_MS };
    const { deleter, pages } = recordingDeleter([
      { scanned: 2, deleted: 1, lastId: "a" },
      { scanned: 2, deleted: 2, lastId: "b" },
      { scanned: 1, deleted: 0, lastId: "c" },
    ]);
    expect(await retention(deleter, clock).sweep()).toBe(3);
    const cutoff = clock.now - 7 * DAY_MS;
    expect(pages.map((p) => p.afterId)).toEqual([null, "a", "b"]);
    expect(pages[0]).toMatchObject({ beforeId: lowestTaskIdAt(cutoff + 10_000), finishedBefore: new Date(cutoff), deadBefore: null });
  });

  it("then looks only at tasks created since the previous cut-off (with an overlap), and at all of them every 30th sweep", async () => {
    const clock = { now: 100 * DAY_MS };
    const { deleter, pages } = recordingDeleter();
    const r = retention(deleter, clock);
    await r.sweep();
    const starts: Array<string | null> = [];
    for (let i = 0; i < 30; i++) {
      clock.now += 60_000;
      await r.sweep();
      starts.push(pages.at(-1)!.afterId);
    }
    expect(starts[0]).toBe(lowestTaskIdAt(100 * DAY_MS - 7 * DAY_MS + 10_000 - 20_000));
    expect(starts.filter((s) => s === null)).toHaveLength(1);
  });

  it("uses the longer cut-off for the id range when DEAD tasks are kept for less time", async () => {
    const clock = { now: 100 * DAY_MS };
    const { deleter, pages } = recordingDeleter();
    await retention(deleter, clock, { finished: 7 * DAY_MS, dead: DAY_MS }).sweep();
    expect(pages[0]).toMatchObject({ beforeId: lowestTaskIdAt(99 * DAY_MS + 10_000), deadBefore: new Date(99 * DAY_MS) });
  });

  it("gives each retention in force its own regular window, merging those that overlap", async () => {
    const clock = { now: 100 * DAY_MS };
    const { deleter, pages } = recordingDeleter();
    const queues = new Map<string, StoredQueueSettings>([
      ["hourly", { finishedRetentionMs: 3_600_000 }],
      ["almost-hourly", { deadRetentionMs: 3_590_000 }],
    ]);
    const r = retention(deleter, clock, { finished: 7 * DAY_MS, dead: DAY_MS, queues });
    await r.sweep();
    expect(pages).toHaveLength(1);
    expect(pages[0]).toMatchObject({ afterId: null, beforeId: lowestTaskIdAt(100 * DAY_MS - 3_590_000 + 10_000) });
    const previous = clock.now;
    clock.now += 60_000;
    await r.sweep();
    const windows = pages.slice(1).map((p) => [p.afterId, p.beforeId]);
    expect(windows).toEqual([
      [lowestTaskIdAt(previous - 7 * DAY_MS - 10_000), lowestTaskIdAt(clock.now - 7 * DAY_MS + 10_000)],
      [lowestTaskIdAt(previous - DAY_MS - 10_000), lowestTaskIdAt(clock.now - DAY_MS + 10_000)],
      // The two queues' windows overlap: one range.
      [lowestTaskIdAt(previous - 3_600_000 - 10_000), lowestTaskIdAt(clock.now - 3_590_000 + 10_000)],
    ]);
  });

  it("does nothing when both retentions are 0 (keep forever)", async () => {
    const { deleter, pages } = recordingDeleter();
    const r = retention(deleter, { now: DAY_MS }, { finished: 0, dead: 0 });
    expect(r.enabled).toBe(false);
    expect(await r.sweep({ full: true })).toBe(0);
    expect(pages).toEqual([]);
  });

  it("judges a queue with its own retention by it, reaches up to its cut-off, and sweeps fully when the queues' retentions change", async () => {
    const clock = { now: 100 * DAY_MS };
    const { deleter, pages } = recordingDeleter();
    const queues = new Map<string, StoredQueueSettings>([
      ["fast", { finishedRetentionMs: DAY_MS }],
      ["forever", { finishedRetentionMs: 0, maxAttempts: 2 }],
      ["plain", { maxAttempts: 5 }],
    ]);
    const r = retention(deleter, clock, { finished: 0, dead: 0, queues });
    expect(r.enabled).toBe(true);
    await r.sweep();
    expect(pages[0]).toMatchObject({
      beforeId: lowestTaskIdAt(99 * DAY_MS + 10_000),
      finishedBefore: null,
      deadBefore: null,
      queues: [
        { queue: "fast", finishedBefore: new Date(99 * DAY_MS), deadBefore: undefined },
        { queue: "forever", finishedBefore: null, deadBefore: undefined },
      ],
    });
    clock.now += 60_000;
    await r.sweep();
    expect(pages[1]!.afterId).not.toBeNull();
    queues.set("fast", { finishedRetentionMs: 2 * DAY_MS });
    clock.now += 60_000;
    await r.sweep();
    expect(pages[2]!.afterId).toBeNull();
  });
});
