import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisProcess, type RedisProcess } from "../../tools/local-services/redis-process.js";
import { FaultStack } from "../support/fault-stack.js";
import type { ServerProcess } from "../support/processes.js";
import { insertOrphanTask } from "../support/task-db.js";
import { uniqueQueue } from "../support/test-server.js";

/** Far longer than the test: a sweep that happens comes from a request, not from the interval. */
const RECOVERY_MS = 120_000;

// A private Redis: this file makes it refuse writes for a while.
let redis: RedisProcess;
let admin: Redis;
let stack: FaultStack;
let server: ServerProcess;
const queue = uniqueQueue("sweep-retry");

beforeAll(async () => {
  redis = await startRedisProcess();
  admin = new Redis(redis.url);
  stack = await FaultStack.create({ redisUrl: redis.url, serverEnv: { RECOVERY_INTERVAL_MS: String(RECOVERY_MS) } });
  const since = 0;
  server = await stack.startServer();
  await server.waitForLog({ msg: "recovery sweep done", where: (e) => e.fields.full === true }, { since, timeoutMs: 10_000 });
});

afterAll(async () => {
  admin?.disconnect();
  await stack?.close();
  await redis?.stop();
});

describe("a recovery sweep that fails while a full sweep is pending", () => {
  it("is tried again within seconds, not at the next interval, and restores what Redis lacks", async () => {
    // Committed to Postgres, never enqueued in Redis (a crash in between): only a full sweep finds them.
    const ids = Array.from({ length: 5 }, (_, i) => `01a00000-0000-7000-8000-00000000010${i}`);
    for (const id of ids) await insertOrphanTask(stack.pool, id, queue, 5_000);

    // Redis refuses writes (out of memory), and the server's connections drop: on reconnecting
    // it asks for a full sweep, which fails on its first write.
    await admin.config("SET", "maxmemory", "1");
    const since = server.process.nextSeq;
    await admin.client("KILL", "TYPE", "normal", "SKIPME", "yes");
    const failed = await server.waitForLog({ msg: "recovery sweep failed; will retry" }, { since, timeoutMs: 10_000 });
    expect(JSON.stringify(failed.fields.err)).toContain("OOM");
    await admin.config("SET", "maxmemory", "0");

    const sweep = await server.waitForLog(
      { msg: "recovery sweep done", where: (e) => e.fields.full === true },
      { since: failed.seq, timeoutMs: 15_000 },
    );
    const retriedAfterMs = sweep.receivedAt - failed.receivedAt;
    console.log(`recovery retry: full sweep done ${retriedAfterMs} ms after the failed one (restored ${String(sweep.fields.restored)})`);
    expect(sweep.fields.restored).toBe(ids.length);

    await stack.startWorker(server, { queues: [queue], concurrency: 4 });
    expect(await stack.waitAllDone([queue], ids.length, 10_000)).toEqual({ SUCCEEDED: ids.length });
  });
});
