import type { Redis } from "ioredis";

/**
 * Version of the dispatch state's key layout (the task hash fields and keys described in
 * `lua/lib.lua`). Bump it whenever a change makes state written by an older server
 * unreadable by the scripts.
 */
export const DISPATCH_LAYOUT_VERSION = "4";

/** What {@link ensureDispatchLayout} found. */
export type LayoutCheck = "current" | "initialized" | "rebuilt";

/**
 * Makes sure the dispatch state under `prefix` has this version's layout, before the server
 * uses it. A fresh prefix is marked with the version. A prefix written by another version
 * (the recovery epoch marker exists but the layout key is missing or different) is emptied,
 * and the start-up recovery sweep then rebuilds it from Postgres, the system of record: as
 * after a Redis restart, queued tasks are queued again and running ones run again.
 */
export async function ensureDispatchLayout(redis: Redis, prefix: string): Promise<LayoutCheck> {
  const layoutKey = `${prefix}layout`;
  const [layout, epoch] = await redis.mget(layoutKey, `${prefix}epoch`);
  if (layout === DISPATCH_LAYOUT_VERSION) return "current";
  if (layout === null && epoch === null) {
    await redis.set(layoutKey, DISPATCH_LAYOUT_VERSION);
    return "initialized";
  }
  await deleteKeys(redis, `${globEscape(prefix)}*`);
  await redis.set(layoutKey, DISPATCH_LAYOUT_VERSION);
  return "rebuilt";
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== "0");
}

/** Escapes the glob characters of a Redis MATCH pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
