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

    // Make the prefix look like an older server's: no layout key, task hashes in another shape.
    const redis = new Redis(first.redisUrl);
    try {
      expect(await redis.get(`${first.redisPrefix}layout`)).toBe(DISPATCH_LAYOUT_VERSION);
      await redis.del(`${first.redisPrefix}layout`);
      await redis.hdel(`${first.redisPrefix}t:${task!.id}`, "d", "sc");
      await redis.hset(`${first.redisPrefix}t:${task!.id}`, "ty", "echo", "pf", "1");

      const second = await startTestServer({}, { databaseUrl: first.databaseUrl, redisPrefix: first.redisPrefix });
      servers.push(second);
      expect(await redis.get(`${first.redisPrefix}layout`)).toBe(DISPATCH_LAYOUT_VERSION);
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
      const keys = await redis.keys(`${first.redisPrefix}*`);
      await redis.del(...keys);
      await first.server.recover();
      expect(await redis.get(`${first.redisPrefix}layout`)).toBe(DISPATCH_LAYOUT_VERSION);
      const { task } = await first.grpc.submitTask({ queue, type: "echo" });
      // A server starting now must not take the rebuilt state for an older version's.
      const second = await startTestServer({}, { databaseUrl: first.databaseUrl, redisPrefix: first.redisPrefix });
      servers.push(second);
      expect(await readTaskState(redis, first.redisPrefix, task!.id)).toBe("queued");
    } finally {
      redis.disconnect();
    }
  });
});
