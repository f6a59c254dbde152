import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DispatchKeys } from "../server/redis/keys.js";
import { findFreePort } from "../tools/local-services/free-port.js";
import { startRedisProcess, type RedisProcess } from "../tools/local-services/redis-process.js";
import { exercise, runTasksThrough } from "./support/dispatch-exercise.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

// Two enforcers of the key layout (server/redis/keys.ts), on a private redis-server started with
// cluster mode on and owning every hash slot:
// - cluster mode refuses a command or a script call whose declared keys span hash slots
//   (CROSSSLOT): every script call's KEYS must lie in one queue's slot, and multi-key commands
//   on cross-queue keys in the `{prefix}` slot. (A one-node cluster does not refuse a script's
//   access to an undeclared key of another slot: the ACL below does.)
// - an ACL user allowed only one queue's keys (`~{<prefix><queue>}:*`) and the cross-queue keys
//   (`~{<prefix>}:*`) fails on any touch of another key, inside scripts too: a script that
//   reaches outside the queue it was called for fails, declared key or not.

let redisServer: RedisProcess;
let url: string;
const servers: TestServer[] = [];
const PASSWORD = "slot-test-secret";

beforeAll(async () => {
  const clusterPort = await findFreePort();
  redisServer = await startRedisProcess({
    args: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", String(clusterPort)],
  });
  url = redisServer.url;
  const admin = new Redis(url);
  try {
    await admin.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
    await waitFor(async () => /cluster_state:ok/.test(String(await admin.call("CLUSTER", "INFO"))), {
      timeoutMs: 10_000,
      message: "the one-node cluster to own every slot",
    });
  } finally {
    admin.disconnect();
  }
});

afterAll(async () => {
  for (const s of servers.reverse()) await s.stop().catch(() => undefined);
  await redisServer?.stop();
});

/** Creates an ACL user that may touch only `queue`'s keys and the cross-queue keys of `prefix`. */
async function restrictedUrl(prefix: string, queue: string): Promise<string> {
  const user = `only-${queue}`;
  const keys = new DispatchKeys(prefix);
  const admin = new Redis(url);
  try {
    // Patterns are globs: the tags' braces are literal there.
    const own = `${keys.queue(queue).tagged}*`;
    const crossQueue = `${keys.crossQueue}*`;
    // Read-only: the older layout's markers, which a start-up with no layout key looks for.
    const legacy = keys.legacyMarkers.map((key) => `%R~${key}`);
    await admin.call("ACL", "SETUSER", user, "reset", "on", `>${PASSWORD}`, `~${own}`, `~${crossQueue}`, ...legacy, "&*", "+@all");
  } finally {
    admin.disconnect();
  }
  const at = new URL(url);
  at.username = user;
  at.password = PASSWORD;
  return at.toString();
}

describe("Redis key layout", () => {
  it("keeps every script call in one hash slot, across queues (cluster mode refuses cross-slot keys)", async () => {
    const redis = new Redis(url);
    try {
      // The enforcer bites: a script whose keys span two queues' slots is refused.
      const keys = new DispatchKeys("slots-probe:");
      await expect(
        redis.eval("return redis.call('EXISTS', KEYS[1], KEYS[2])", 2, keys.queue("a").types, keys.queue("b").types),
      ).rejects.toThrow(/CROSSSLOT|same slot/);
      await exercise(redis, "slots:", ["alpha", "beta", "gamma"]);
    } finally {
      redis.disconnect();
    }
  });

  it("lets a script touch only the keys of the queue it was called for (an ACL user of one queue)", async () => {
    const prefix = "acl:";
    const redis = new Redis(await restrictedUrl(prefix, "mine"));
    try {
      // The enforcer bites: another queue's keys are refused, from a script as well.
      const other = new DispatchKeys(prefix).queue("other");
      await expect(redis.scard(other.types)).rejects.toThrow(/NOPERM/);
      await expect(redis.eval("return redis.call('SCARD', ARGV[1])", 1, new DispatchKeys(prefix).queue("mine").types, other.types)).rejects.toThrow(
        /can't access/,
      );
      await exercise(redis, prefix, ["mine"]);
    } finally {
      redis.disconnect();
    }
  });

  it("runs a whole server on it: tasks of two queues succeed, retry, wait for their time and get cancelled", async () => {
    const ts = await startTestServer({ redisUrl: url, defaultInitialBackoffMs: 50, defaultMaxBackoffMs: 100 });
    servers.push(ts);
    await runTasksThrough(ts, [uniqueQueue("slot-a"), uniqueQueue("slot-b")]);
  });

  it("runs a whole server as an ACL user allowed one queue's keys only", async () => {
    const queue = uniqueQueue("acl");
    const ts = await startTestServer({
      redisUrl: await restrictedUrl("acl-server:", queue),
      redisPrefix: "acl-server:",
      defaultInitialBackoffMs: 50,
      defaultMaxBackoffMs: 100,
    });
    servers.push(ts);
    await runTasksThrough(ts, [queue]);
  });
});
