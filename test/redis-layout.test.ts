import { DispatchKeys } from "../server/redis/keys.js";
import { wipeDispatchState } from "./support/dispatch-state.js";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { DISPATCH_LAYOUT_VERSION } from "../server/redis/layout.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker } from "../worker/index.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { readTaskState } from "../server/redis/task-key.js";

const servers: TestServer[] = [];

afterAll(async () => {
  for (const s of servers.reverse()) await s.stop().catch(() => undefined);
});

describe("dispatch state written by another version", () => {
  it("is emptied at start-up and rebuilt from Postgres, so queued tasks still run", async () => {
    const first = await startTestServer();
    servers.push(first);
    const queue = uniqueQueue("layout");
    const { task } = await first.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload({ n: 1 }) });
    await first.stop();
    servers.pop();

    // Make the prefix look like an older server's (layout 4): un-tagged keys, task hashes in
    // another shape, and none of this layout's keys.
    const redis = new Redis(first.redisUrl);
    const p = first.redisPrefix;
    const keys = new DispatchKeys(p);
    try {
      expect(await redis.get(keys.layout)).toBe(DISPATCH_LAYOUT_VERSION);
      await wipeDispatchState(redis, p);
      await redis.set(`${p}layout`, "4");
      await redis.set(`${p}epoch`, "1");
      await redis.hset(`${p}t:${task!.id}`, "st", "queued", "q", queue, "ty", "echo", "pf", "1");
      await redis.zadd(`${p}q:${queue}`, 1, task!.id);
      await redis.sadd(`${p}queues`, queue);

      const second = await startTestServer({}, { databaseUrl: first.databaseUrl, redisPrefix: first.redisPrefix });
      servers.push(second);
      expect(await redis.get(keys.layout)).toBe(DISPATCH_LAYOUT_VERSION);
      // The older layout's keys are gone.
      expect(await redis.keys(`${p}*`)).toEqual([]);
      const worker = createWorker({ address: second.grpcAddress, queues: [queue], handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
      await worker.start();
      try {
        const done = await waitForState(second.grpc, task!.id, TaskState.SUCCEEDED);
        expect(done.attempt).toBe(1);
      } finally {
        await worker.stop({ timeoutMs: 2_000 });
      }
    } finally {
      redis.disconnect();
    }
  });

  it("is kept when a current server rebuilt it after Redis lost its data", async () => {
    const first = await startTestServer();
    servers.push(first);
    const queue = uniqueQueue("layout-kept");
    const redis = new Redis(first.redisUrl);
    try {
      // Redis lost everything under the prefix; the running server notices and rebuilds.
      await wipeDispatchState(redis, first.redisPrefix);
      await first.server.recover();
      expect(await redis.get(new DispatchKeys(first.redisPrefix).layout)).toBe(DISPATCH_LAYOUT_VERSION);
      const { task } = await first.grpc.submitTask({ queue, type: "echo" });
      // A server starting now must not take the rebuilt state for an older version's.
      const second = await startTestServer({}, { databaseUrl: first.databaseUrl, redisPrefix: first.redisPrefix });
      servers.push(second);
      expect(await readTaskState(redis, first.redisPrefix, queue, task!.id)).toBe("queued");
    } finally {
      redis.disconnect();
    }
  });
});
