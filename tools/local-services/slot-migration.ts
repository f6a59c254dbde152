import { Redis } from "ioredis";
import { LOOPBACK_HOST } from "./free-port.js";
import type { LocalRedisCluster } from "./redis-cluster.js";
import type { RedisProcess } from "./redis-process.js";

/** Options for {@link migrateSlot}. */
export interface SlotMigrationOptions {
  /** Keys per `MIGRATE` call. Default 10, as `redis-cli --cluster reshard` (`--cluster-pipeline`). */
  batch?: number;
  /** `MIGRATE` timeout, ms. Default 60000, as redis-cli. */
  timeoutMs?: number;
  /** Awaited after each `MIGRATE` call with the keys moved so far (a test paces the move on its traffic). */
  afterBatch?: (keysMoved: number) => Promise<void>;
}

/** What {@link migrateSlot} did. */
export interface SlotMigration {
  slot: number;
  /** Keys moved. */
  keys: number;
  /** `MIGRATE` calls made. */
  batches: number;
  /** When the slot was marked IMPORTING/MIGRATING (epoch ms). */
  startedAt: number;
  /** When the last key had moved (epoch ms). */
  keysMovedAt: number;
  /** When every master had been told the new owner (`SETSLOT … NODE`), epoch ms. */
  finishedAt: number;
}

/**
 * Moves one hash slot from the master serving it to `to`, as an operator does and as
 * `redis-cli --cluster reshard` does slot by slot: `CLUSTER SETSLOT slot IMPORTING` on the
 * target, `MIGRATING` on the source, `CLUSTER GETKEYSINSLOT` + `MIGRATE … KEYS …` in batches
 * until the source holds none, then `CLUSTER SETSLOT slot NODE target` on the target, the
 * source and every other master. Clients keep working meanwhile (ASK, TRYAGAIN redirections).
 */
export async function migrateSlot(cluster: LocalRedisCluster, slot: number, to: RedisProcess, options: SlotMigrationOptions = {}): Promise<SlotMigration> {
  const batch = options.batch ?? 10;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const view = await cluster.view();
  const masters = view.filter((n) => n.role === "master" && n.slots.length > 0 && !n.failed);
  const sourceView = masters.find((n) => n.slots.some(([a, b]) => slot >= a && slot <= b));
  const targetView = view.find((n) => cluster.byAddress(n.address) === to);
  if (!sourceView || !targetView) throw new Error(`slot ${slot}: no master serves it, or ${to.port} is not a node`);
  if (sourceView.id === targetView.id) throw new Error(`slot ${slot} is already served by ${to.port}`);
  const source = cluster.byAddress(sourceView.address);
  const connect = (node: RedisProcess) => new Redis({ host: LOOPBACK_HOST, port: node.port, password: cluster.password, maxRetriesPerRequest: 1 });
  const [src, dst] = [connect(source), connect(to)];
  try {
    const startedAt = Date.now();
    await dst.call("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceView.id);
    await src.call("CLUSTER", "SETSLOT", slot, "MIGRATING", targetView.id);
    let keys = 0;
    let batches = 0;
    const auth = cluster.password === undefined ? [] : ["AUTH", cluster.password];
    for (;;) {
      const page = (await src.call("CLUSTER", "GETKEYSINSLOT", slot, batch)) as string[];
      if (page.length === 0) break;
      await src.call("MIGRATE", LOOPBACK_HOST, to.port, "", 0, timeoutMs, ...auth, "KEYS", ...page);
      keys += page.length;
      batches++;
      await options.afterBatch?.(keys);
    }
    const keysMovedAt = Date.now();
    // The target first (it then serves the slot), then the source (it stops redirecting with
    // ASK and answers MOVED), then the other masters.
    await dst.call("CLUSTER", "SETSLOT", slot, "NODE", targetView.id);
    await src.call("CLUSTER", "SETSLOT", slot, "NODE", targetView.id);
    for (const other of masters.filter((m) => m.id !== sourceView.id && m.id !== targetView.id)) {
      await cluster.call(cluster.byAddress(other.address), "CLUSTER", "SETSLOT", slot, "NODE", targetView.id);
    }
    return { slot, keys, batches, startedAt, keysMovedAt, finishedAt: Date.now() };
  } finally {
    src.disconnect();
    dst.disconnect();
  }
}
