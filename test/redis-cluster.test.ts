import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueService } from "../gen/taskqueue/v1/queue_service_pb.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import type { ServerOptions } from "../server/config.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker } from "../worker/index.js";
import { exercise, runTasksThrough } from "./support/dispatch-exercise.js";
import { startRedisCluster, type LocalRedisCluster } from "../tools/local-services/redis-cluster.js";
import { makeTestCertificates, type TestCertificates } from "./support/test-certificates.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

// The server on a real Redis Cluster (3 masters + 3 replicas, redis-server processes created
// with redis-cli --cluster create), with queues chosen so that each master holds some.

let cluster: LocalRedisCluster;
const servers: TestServer[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicas: 1 });
}, 60_000);

afterAll(async () => {
  for (const s of servers.reverse()) await s.stop().catch(() => undefined);
  await cluster?.stop();
});

/** A queue name on each master, for keys under `prefix`. */
function queuesOnEveryMaster(prefix: string, label: string): Promise<string[]> {
  return cluster.queuesOnEveryMaster(prefix, label);
}

async function clusterServer(overrides: ServerOptions = {}, shared?: { databaseUrl: string; redisPrefix: string }): Promise<TestServer> {
  const options = { redisClusterNodes: cluster.seeds, defaultInitialBackoffMs: 50, defaultMaxBackoffMs: 100, ...overrides };
  const ts = await startTestServer(options, shared);
  servers.push(ts);
  return ts;
}

describe("Redis Cluster", () => {
  it("runs every store call over queues on three masters (one slot per script call)", async () => {
    const prefix = "cluster-store:";
    const redis = new Cluster(cluster.seeds.split(",").map((seed) => ({ host: seed.split(":")[0], port: Number(seed.split(":")[1]) })));
    try {
      await exercise(redis, prefix, await queuesOnEveryMaster(prefix, "store"));
    } finally {
      redis.disconnect();
    }
  });

  it("runs tasks through a server in cluster mode: success, retry, delay, cancel, on queues of every master", async () => {
    const ts = await clusterServer();
    await runTasksThrough(ts, await queuesOnEveryMaster(ts.redisPrefix, "life"));
  });

  it("pauses and resumes queues on every master, and lists them with their figures", async () => {
    const ts = await clusterServer();
    const queues = await queuesOnEveryMaster(ts.redisPrefix, "pause");
    const admin = createClient(QueueService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
    for (const queue of queues) await admin.pauseQueue({ name: queue, reason: "maintenance" });
    const worker = createWorker({ address: ts.grpcAddress, queues, concurrency: 4, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
    await worker.start();
    try {
      const ids: string[] = [];
      for (const queue of queues) ids.push((await ts.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload({ queue }) })).task!.id);
      const listed = await waitFor(
        async () => {
          const { queues: infos } = await admin.listQueues({});
          const ours = infos.filter((q) => queues.includes(q.name));
          return ours.length === queues.length && ours.every((q) => q.paused && q.counts?.queued === 1n) && ours;
        },
        { timeoutMs: 10_000, message: "ListQueues to show the paused queues with one queued task each" },
      );
      expect(listed.map((q) => q.name).sort()).toEqual([...queues].sort());
      for (const id of ids) expect((await ts.grpc.getTask({ id })).task!.state).toBe(TaskState.QUEUED);
      for (const queue of queues) await admin.resumeQueue({ name: queue });
      for (const id of ids) await waitForState(ts.grpc, id, TaskState.SUCCEEDED);
    } finally {
      await worker.stop({ timeoutMs: 2_000 });
    }
  });

  it("wakes a worker on another server at once (sharded pub/sub on the cross-queue slot)", async () => {
    const submitter = await clusterServer({ dispatchPollMs: 60_000 });
    const other = await clusterServer({ dispatchPollMs: 60_000 }, { databaseUrl: submitter.databaseUrl, redisPrefix: submitter.redisPrefix });
    await wakesAcross(submitter, other, await queuesOnEveryMaster(submitter.redisPrefix, "wake"));
  });
});

describe("Redis Cluster with a password", () => {
  const password = "cluster-secret";
  let secured: LocalRedisCluster;

  beforeAll(async () => {
    secured = await startRedisCluster({ masters: 3, replicas: 0, password });
  }, 60_000);

  afterAll(async () => {
    await secured?.stop();
  });

  it("runs tasks with REDIS_PASSWORD, and with the password in redis:// seeds; a wrong one is refused", async () => {
    const first = await startTestServer({ redisClusterNodes: secured.seeds, redisPassword: password, dispatchPollMs: 60_000 });
    servers.push(first);
    const seedUrls = secured.seeds
      .split(",")
      .map((seed) => `redis://:${password}@${seed}`)
      .join(",");
    const second = await startTestServer({ redisClusterNodes: seedUrls, dispatchPollMs: 60_000 }, { databaseUrl: first.databaseUrl, redisPrefix: first.redisPrefix });
    servers.push(second);
    const queues = await secured.queuesOnEveryMaster(first.redisPrefix, "auth");
    await runTasksThrough(first, queues);
    // The sharded subscriber's own connection authenticates too.
    await wakesAcross(first, second, queues);
    await expect(startTestServer({ redisClusterNodes: secured.seeds, redisPassword: "wrong" })).rejects.toThrow(/not ready within .*WRONGPASS|invalid username-password/i);
  }, 60_000);
});

/** A task submitted through `submitter` reaches a worker of `other` at once (not by its poll). */
async function wakesAcross(submitter: TestServer, other: TestServer, queues: string[]): Promise<void> {
  const worker = createWorker({ address: other.grpcAddress, queues, concurrency: 4, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
  await worker.start();
  try {
    for (const queue of queues) {
      const { task } = await submitter.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload({ queue }) });
      // Far sooner than the 60 s backstop poll: the other server was woken by the message.
      await waitForState(submitter.grpc, task!.id, TaskState.SUCCEEDED, 10_000);
    }
  } finally {
    await worker.stop({ timeoutMs: 2_000 });
  }
}

describe("Redis Cluster over TLS", () => {
  let certs: TestCertificates;
  let secured: LocalRedisCluster;

  beforeAll(async () => {
    certs = makeTestCertificates();
    secured = await startRedisCluster({
      masters: 3,
      replicas: 0,
      tls: { certFile: certs.file("server.pem"), keyFile: certs.file("server.key"), caFile: certs.file("ca.pem") },
    });
  }, 60_000);

  afterAll(async () => {
    await secured?.stop();
    certs?.remove();
  });

  it("runs tasks with rediss:// seeds and a client certificate (every node reached over TLS)", async () => {
    const ts = await startTestServer({
      redisClusterNodes: secured.seeds,
      redisTlsCaFile: certs.file("ca.pem"),
      redisTlsCertFile: certs.file("client.pem"),
      redisTlsKeyFile: certs.file("client.key"),
    });
    servers.push(ts);
    await runTasksThrough(ts, await secured.queuesOnEveryMaster(ts.redisPrefix, "tls"));
    // The cluster tells TLS clients its nodes' TLS ports: the server reached every master
    // on its TLS port.
    for (const node of secured.nodes) {
      const clients = String(await secured.call(node, "CLIENT", "LIST"));
      expect(clients).toContain(`laddr=127.0.0.1:${secured.tlsPorts.get(node.port)}`);
    }
  }, 60_000);
});
