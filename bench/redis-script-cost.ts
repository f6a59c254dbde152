/**
 * Redis CPU per task of the dispatch scripts, on a private redis-server with nothing else
 * running against it: every task is enqueued (batches of `--enqueue-batch`), leased to two
 * sessions (`--lease-batch` each per call) and completed as succeeded (one call per lease
 * batch), as in the throughput scenario, but driven from one process so the figure is free
 * of the noise of a full run. CPU is read from /proc for the redis-server process.
 *
 *   npx tsx bench/redis-script-cost.ts [--tasks 100000] [--repeat 3] [--enqueue-batch 500] [--lease-batch 200]
 *
 * Prints Redis µs per task for each run and the median, and the per-command figures of
 * `INFO commandstats` for the last run (µs per task, nested calls included in `evalsha`).
 *
 * `--baseline DIR` compares with the scripts of another checkout (e.g. a `git worktree` of an
 * earlier commit): its QueueStore is loaded from DIR and the two take turns on the same
 * redis-server, run after run, so that the machine's drift affects both alike.
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { startRedisProcess } from "../tools/local-services/redis-process.js";
import type { NewTask } from "../server/engine/task-records.js";
import { QueueStore } from "../server/redis/queue-store.js";
import { sampleProcess } from "./probes.js";
import { median } from "./stats.js";

interface Options {
  baseline: string | undefined;
  tasks: number;
  repeat: number;
  enqueueBatch: number;
  leaseBatch: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      tasks: { type: "string", default: "100000" },
      repeat: { type: "string", default: "3" },
      "enqueue-batch": { type: "string", default: "500" },
      "lease-batch": { type: "string", default: "200" },
      baseline: { type: "string" },
    },
  });
  return {
    baseline: values.baseline,
    tasks: Number(values.tasks),
    repeat: Number(values.repeat),
    enqueueBatch: Number(values["enqueue-batch"]),
    leaseBatch: Number(values["lease-batch"]),
  };
}

function noOpTask(queue: string): NewTask {
  return {
    id: randomUUID(),
    queue,
    type: "noop",
    payload: Buffer.from("{}"),
    payloadFormat: 2,
    priority: 0,
    maxAttempts: 3,
    backoffInitialMs: 1000,
    backoffMaxMs: 60_000,
    backoffMultiplier: 2,
    timeoutMs: null,
    idempotencyKey: null,
    labels: {},
    createdMs: Date.now(),
    runAt: null,
    startDeadline: null,
  };
}

/** The part of QueueStore this benchmark drives (the baseline's may be another version). */
type Store = Pick<QueueStore, "enqueue" | "lease" | "complete">;

/** Pushes `tasks` through enqueue, lease and complete; resolves when all are completed. */
async function runTasks(store: Store, options: Options, queue: string): Promise<void> {
  const sessions = ["session-a", "session-b"];
  let enqueued = 0;
  let completed = 0;
  while (completed < options.tasks) {
    // Keep about two lease batches per session queued, as a steady backlog would.
    while (enqueued < options.tasks && enqueued - completed < 4 * options.leaseBatch + options.enqueueBatch) {
      const count = Math.min(options.enqueueBatch, options.tasks - enqueued);
      await store.enqueue(Array.from({ length: count }, () => ({ task: noOpTask(queue), attempt: 0, dueMs: 0 })));
      enqueued += count;
    }
    const { leased } = await store.lease(
      queue,
      sessions.map((sessionId) => ({ sessionId, workerId: `worker-${sessionId}`, count: options.leaseBatch, tokenPrefix: randomUUID() })),
      30_000,
    );
    for (const sessionId of sessions) {
      const mine = leased.filter((t) => t.sessionId === sessionId);
      if (mine.length === 0) continue;
      await store.complete(mine.map((t) => ({ id: t.id, queue, sessionId, leaseToken: t.leaseToken, how: "succeeded" as const })));
      completed += mine.length;
    }
  }
}

async function redisCpuSeconds(pid: number): Promise<number> {
  return (await sampleProcess(pid)).cpuSeconds;
}

interface Variant {
  name: string;
  create: (redis: Redis) => Store;
  perTask: number[];
}

async function variantsOf(options: Options): Promise<Variant[]> {
  const variants: Variant[] = [
    { name: "this checkout", create: (redis) => new QueueStore({ redis, prefix: "tq:", serverId: "bench-server" }), perTask: [] },
  ];
  if (options.baseline) {
    const module = (await import(`${options.baseline}/server/redis/queue-store.ts`)) as { QueueStore: typeof QueueStore };
    variants.unshift({
      name: options.baseline,
      create: (redis) => new module.QueueStore({ redis, prefix: "tq:", serverId: "bench-server" }),
      perTask: [],
    });
  }
  return variants;
}

async function main(): Promise<void> {
  const options = parseOptions();
  const variants = await variantsOf(options);
  const server = await startRedisProcess();
  const redis = new Redis(server.url);
  try {
    for (let run = 1; run <= options.repeat; run++) {
      for (const variant of variants) {
        await redis.flushall();
        const store = variant.create(redis);
        // Warm up (script loading, allocator) outside the measured window.
        await runTasks(store, { ...options, tasks: Math.min(options.tasks, 5_000) }, "warm-up");
        await redis.config("RESETSTAT");
        const before = await redisCpuSeconds(server.pid);
        await runTasks(store, options, "bench");
        const cpu = (await redisCpuSeconds(server.pid)) - before;
        variant.perTask.push((cpu * 1e6) / options.tasks);
        console.log(`run ${run}, ${variant.name}: ${variant.perTask.at(-1)!.toFixed(1)} µs of Redis CPU per task`);
      }
    }
    for (const variant of variants) {
      console.log(`median, ${variant.name}: ${median(variant.perTask).toFixed(1)} µs per task over ${options.repeat} runs of ${options.tasks} tasks`);
    }
    console.log("commandstats of the last run (µs per task, wall time inside Redis):");
    const stats = (await redis.info("commandstats")).split("\n");
    const rows: Array<[string, number, number]> = [];
    for (const line of stats) {
      const match = /^cmdstat_(\w+):calls=(\d+),usec=(\d+)/.exec(line);
      if (match) rows.push([match[1]!, Number(match[2]) / options.tasks, Number(match[3]) / options.tasks]);
    }
    rows.sort((a, b) => b[2] - a[2]);
    for (const [name, calls, usec] of rows.slice(0, 12)) {
      console.log(`  ${name.padEnd(18)} ${calls.toFixed(2).padStart(6)} calls ${usec.toFixed(2).padStart(7)} µs`);
    }
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

await main();
