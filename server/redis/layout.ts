import { scanEveryMaster, type RedisClient } from "./connection.js";
import { DispatchKeys } from "./keys.js";

/**
 * Version of the dispatch state's key layout (the keys built in `keys.ts` and the task hash
 * fields described in `lua/lib.lua`). Bump it whenever a change makes state written by an
 * older server unreadable by the scripts. Version 5 put every per-queue key under its queue's
 * hash tag (`{tq:<queue>}:…`) and the cross-queue keys under `{tq:}`; version 6 keeps a
 * queue's ready tasks per task type (`{tq:<queue>}:r:<type>`, with the `types` set).
 */
export const DISPATCH_LAYOUT_VERSION = "6";

/** What {@link ensureDispatchLayout} found. */
export type LayoutCheck = "current" | "initialized" | "rebuilt";

/**
 * Makes sure the dispatch state under `prefix` has this version's layout, before the server
 * uses it. A fresh prefix is marked with the version. A prefix written by another version
 * (the recovery epoch marker exists but the layout key is missing or different, or keys of
 * the older un-tagged layout are present) is emptied, and the start-up recovery sweep then
 * rebuilds it from Postgres, the system of record: as after a Redis restart, queued tasks are
 * queued again and running ones run again.
 */
export async function ensureDispatchLayout(redis: RedisClient, prefix: string): Promise<LayoutCheck> {
  const keys = new DispatchKeys(prefix);
  const [layout, epoch] = await Promise.all([redis.get(keys.layout), redis.get(keys.epoch)]);
  if (layout === DISPATCH_LAYOUT_VERSION) return "current";
  // No layout key: a fresh prefix, unless an older layout's markers are there.
  const legacyFound = layout === null && (await Promise.all(keys.legacyMarkers.map((key) => redis.get(key)))).some((v) => v !== null);
  if (layout === null && epoch === null && !legacyFound) {
    await redis.set(keys.layout, DISPATCH_LAYOUT_VERSION);
    return "initialized";
  }
  for (const pattern of keys.allKeyPatterns) await deleteKeys(redis, pattern);
  await redis.set(keys.layout, DISPATCH_LAYOUT_VERSION);
  return "rebuilt";
}

async function deleteKeys(redis: RedisClient, pattern: string): Promise<void> {
  // One UNLINK per key: keys of different queues sit in different hash slots (and, in a
  // cluster, on different masters, every one of which is scanned).
  await scanEveryMaster(redis, pattern, async (keys) => {
    await Promise.all(keys.map((key) => redis.unlink(key)));
  });
}
