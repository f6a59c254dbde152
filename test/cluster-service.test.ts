import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { ClusterService, DependencyStatus, SystemStatus } from "../gen/taskqueue/v1/cluster_service_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { startPostgresProcess } from "../tools/local-services/postgres-process.js";
import { startRedisProcess } from "../tools/local-services/redis-process.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker, type Worker } from "../worker/index.js";
import { startExampleWorker, type ClientPrograms, type WorkerLanguage } from "./support/client-programs.js";
import { buildGoExamples, clientToolchains } from "./support/client-toolchains.js";
import type { ExampleProcess } from "./support/example-process.js";
import { jsonPayload } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/**
 * ClusterService against live servers sharing one Redis and Postgres: worker sessions of the
 * three SDKs (real processes) across servers, the servers themselves, and the system health
 * that also drives the gRPC health status and /readyz, with a private Postgres stopped.
 */

const version = (await import("../package.json", { with: { type: "json" } })).default.version;

let ts: TestServer;
let programs: ClientPrograms;
let buildDir: string;
const started: ExampleProcess[] = [];

beforeAll(async () => {
  const toolchains = await clientToolchains();
  buildDir = await mkdtemp(join(tmpdir(), "tq-cluster-go-"));
  const [go, server] = await Promise.all([buildGoExamples(toolchains, buildDir), startTestServer()]);
  ts = server;
  programs = { toolchains, go };
}, 300_000);

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop(5_000)));
});

afterAll(async () => {
  await ts?.stop();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

function timestampMs(ts: Timestamp): number {
  return Number(ts.seconds) * 1000 + ts.nanos / 1e6;
}

function clusterClient(address: string): Client<typeof ClusterService> {
  return createClient(ClusterService, createGrpcTransport({ baseUrl: `http://${address}` }));
}

/** Starts the example worker of `language` on `queue`; waits for its welcome. */
async function startWorker(language: WorkerLanguage, queue: string): Promise<{ proc: ExampleProcess; workerId: string }> {
  const workerId = `${language}-worker-${randomBytes(3).toString("hex")}`;
  const proc = startExampleWorker(programs, language, { server: ts.grpcAddress, queue, workerId });
  started.push(proc);
  await proc.waitForEvent((e) => e.event === "connected", "its welcome", 30_000);
  return { proc, workerId };
}

describe("ListWorkers", () => {
  it("shows the workers of all three SDKs with what they serve and hold; a SIGKILLed one leaves", async () => {
    const queue = uniqueQueue("cluster");
    const cluster = clusterClient(ts.grpcAddress);
    const [go, python, tsWorker] = await Promise.all([startWorker("go", queue), startWorker("python", queue), startWorker("ts", queue)]);

    const { workers } = await waitFor(
      async () => {
        const listed = await cluster.listWorkers({ queue });
        return listed.workers.length === 3 ? listed : undefined;
      },
      { timeoutMs: 10_000, message: "the three workers to be listed" },
    );
    const byId = new Map(workers.map((w) => [w.workerId, w]));
    expect(new Set(byId.keys())).toEqual(new Set([go.workerId, python.workerId, tsWorker.workerId]));
    expect(byId.get(go.workerId)).toMatchObject({ sdkName: "taskqueue-go", sdkVersion: "0.1.0" });
    expect(byId.get(python.workerId)).toMatchObject({ sdkName: "taskqueue-python", sdkVersion: "0.1.0" });
    expect(byId.get(tsWorker.workerId)).toMatchObject({ sdkName: "taskqueue-ts", sdkVersion: "0.1.0" });
    for (const w of workers) {
      expect(w.queues).toEqual([queue]);
      expect(w.serverId).toBe(ts.server.serverId);
      expect(w.capacity).toBeGreaterThan(0);
      expect(w.sessionId).not.toBe("");
      expect(w.connectedAt).toBeDefined();
    }
    // Another queue's filter leaves them out; a bad queue name is refused, naming the field.
    expect((await cluster.listWorkers({ queue: uniqueQueue("other") })).workers).toEqual([]);
    const refused = await cluster.listWorkers({ queue: "no spaces" }).catch((e: unknown) => ConnectError.from(e));
    expect(refused).toMatchObject({ code: Code.InvalidArgument });
    expect((refused as ConnectError).rawMessage).toMatch(/^queue: /);

    // A task running on one of them shows as in flight, with its id, and its heartbeats show.
    const { task } = await ts.grpc.submitTask({ queue, type: "sleep", payloadData: jsonPayload({ ms: 30_000 }) });
    const holder = await waitFor(
      async () => (await cluster.listWorkers({ queue })).workers.find((w) => w.inFlightTaskIds.includes(task!.id) && w.lastHeartbeatAt !== undefined),
      { timeoutMs: 15_000, message: `task ${task!.id} to show in flight with a heartbeat` },
    );
    expect(holder.inFlight).toBe(1);
    const runner = [go, python, tsWorker].find((w) => w.workerId === holder.workerId)!;
    await runner.proc.waitForEvent((e) => e.event === "started" && e.task_id === task!.id, `task ${task!.id} to start`, 10_000);
    await ts.grpc.cancelTask({ id: task!.id });

    // SIGKILL: the worker's connection closes, its session leaves the list.
    python.proc.kill("SIGKILL");
    await python.proc.exited;
    await waitFor(
      async () => {
        const ids = (await cluster.listWorkers({ queue })).workers.map((w) => w.workerId);
        return !ids.includes(python.workerId) && ids.length === 2;
      },
      { timeoutMs: 15_000, message: "the killed worker to leave the list" },
    );
  }, 120_000);

  it("shows a frozen worker's heartbeat going stale until keepalive closes its stream", async () => {
    const queue = uniqueQueue("frozen");
    const cluster = clusterClient(ts.grpcAddress);
    const frozen = await startWorker("ts", queue);
    // Its first heartbeat has reached the directory (heartbeats every lease / 3 = 5 s).
    await waitFor(async () => (await cluster.listWorkers({ queue })).workers[0]?.lastHeartbeatAt, {
      timeoutMs: 15_000,
      message: "the worker's first heartbeat to be listed",
    });
    frozen.proc.kill("SIGSTOP");
    const stoppedAt = Date.now();
    try {
      const heartbeats: number[] = [];
      await waitFor(
        async () => {
          const session = (await cluster.listWorkers({ queue })).workers.find((w) => w.workerId === frozen.workerId);
          if (session === undefined) return true;
          heartbeats.push(timestampMs(session.lastHeartbeatAt!));
          return false;
        },
        { timeoutMs: 40_000, intervalMs: 500, message: "keepalive to close the frozen worker's stream" },
      );
      // Listed while frozen, with no heartbeat after the freeze (one already on the wire may land just after it).
      expect(heartbeats.length).toBeGreaterThan(0);
      expect(Math.max(...heartbeats)).toBeLessThan(stoppedAt + 500);
    } finally {
      frozen.proc.kill("SIGKILL");
    }
  }, 60_000);
});

describe("two servers sharing Redis and Postgres", () => {
  it("each lists both servers and the workers connected to either", async () => {
    const other = await startTestServer({}, { databaseUrl: ts.databaseUrl, redisPrefix: ts.redisPrefix });
    const queue = uniqueQueue("two-servers");
    const workers: Worker[] = [];
    try {
      for (const [server, workerId] of [
        [ts, "worker-on-first"],
        [other, "worker-on-second"],
      ] as const) {
        const worker = createWorker({
          address: server.grpcAddress,
          queues: [queue],
          workerId,
          handlers: exampleHandlers(),
          logger: createLogger({ level: "silent" }),
        });
        workers.push(worker);
        await worker.start();
      }
      const expected = [
        { workerId: "worker-on-first", serverId: ts.server.serverId },
        { workerId: "worker-on-second", serverId: other.server.serverId },
      ];
      for (const address of [ts.grpcAddress, other.grpcAddress]) {
        const cluster = clusterClient(address);
        const listed = await waitFor(
          async () => {
            const ws = (await cluster.listWorkers({ queue })).workers.map((w) => ({ workerId: w.workerId, serverId: w.serverId }));
            return ws.length === 2 ? ws : undefined;
          },
          { timeoutMs: 10_000, message: `both workers listed by ${address}` },
        );
        expect(listed.sort((a, b) => a.workerId.localeCompare(b.workerId))).toEqual(expected);
        const { servers } = await waitFor(
          async () => {
            const answer = await cluster.listServers({});
            return answer.servers.length === 2 ? answer : undefined;
          },
          { timeoutMs: 10_000, message: `both servers listed by ${address}` },
        );
        const byId = new Map(servers.map((s) => [s.serverId, s]));
        for (const server of [ts, other]) {
          expect(byId.get(server.server.serverId)).toMatchObject({
            address: server.grpcAddress,
            httpAddress: `127.0.0.1:${server.server.httpPort}`,
            version,
            draining: false,
            connectedWorkers: 1,
          });
          expect(byId.get(server.server.serverId)!.startedAt).toBeDefined();
        }
      }
      // The same over the gateway (Connect JSON).
      const overGateway = createClient(ClusterService, createConnectTransport({ baseUrl: other.httpBaseUrl, httpVersion: "1.1" }));
      expect((await overGateway.listWorkers({ queue })).workers).toHaveLength(2);
    } finally {
      await Promise.all(workers.map((w) => w.stop({ timeoutMs: 2_000 })));
      await other.stop();
    }
    // A server that stopped leaves the list at once.
    const { servers } = await clusterClient(ts.grpcAddress).listServers({});
    expect(servers.map((s) => s.serverId)).toEqual([ts.server.serverId]);
  }, 60_000);
});

describe("system health", () => {
  it("reports Postgres down and back, in GetSystemHealth, the gRPC health status and /readyz", async () => {
    const postgres = await startPostgresProcess({ fsync: false });
    const server = await startTestServer({ databaseUrl: postgres.url });
    const cluster = clusterClient(server.grpcAddress);
    const health = createClient(Health, createGrpcTransport({ baseUrl: `http://${server.grpcAddress}` }));
    const status = async () => (await health.check({ service: "" })).status;
    try {
      const up = await cluster.getSystemHealth({});
      expect(up).toMatchObject({ status: SystemStatus.SERVING, serverId: server.server.serverId });
      expect(up.postgres).toMatchObject({ status: DependencyStatus.OK });
      expect(up.postgres!.latency).toBeDefined();
      expect(up.redis).toMatchObject({ status: DependencyStatus.OK });
      expect(up.servers.map((s) => s.serverId)).toContain(server.server.serverId);
      expect(await status()).toBe(ServingStatus.SERVING);

      // Frozen: no answer within the check's deadline, and /readyz names the dependency.
      await postgres.kill("SIGSTOP");
      const frozen = await fetch(`${server.httpBaseUrl}/readyz`);
      expect(frozen.status).toBe(503);
      expect(await frozen.json()).toEqual({ status: "unavailable", checks: { postgres: "timeout", redis: "ok" } });
      const frozenHealth = await cluster.getSystemHealth({});
      expect(frozenHealth.status).toBe(SystemStatus.NOT_SERVING);
      expect(frozenHealth.postgres?.status).toBe(DependencyStatus.TIMEOUT);
      expect(frozenHealth.postgres?.latency).toBeUndefined();
      await postgres.kill("SIGCONT");
      await waitFor(async () => (await cluster.getSystemHealth({})).status === SystemStatus.SERVING, {
        timeoutMs: 10_000,
        message: "Postgres to answer again once resumed",
      });

      // Down: the gRPC health status follows within the probe's period.
      await postgres.kill("SIGKILL");
      const down = await cluster.getSystemHealth({});
      expect(down.status).toBe(SystemStatus.NOT_SERVING);
      expect(down.postgres).toMatchObject({ status: DependencyStatus.UNAVAILABLE });
      expect(down.redis).toMatchObject({ status: DependencyStatus.OK });
      await waitFor(async () => (await status()) === ServingStatus.NOT_SERVING, { timeoutMs: 10_000, message: "Health to be NOT_SERVING" });
      expect((await health.check({ service: ClusterService.typeName })).status).toBe(ServingStatus.NOT_SERVING);

      await postgres.restart();
      await waitFor(async () => (await status()) === ServingStatus.SERVING, { timeoutMs: 20_000, message: "Health to be SERVING again" });
      expect((await cluster.getSystemHealth({})).status).toBe(SystemStatus.SERVING);
      expect((await fetch(`${server.httpBaseUrl}/readyz`)).status).toBe(200);
    } finally {
      await server.stop();
      await postgres.stop();
    }
  }, 90_000);

  it("reports Redis down and back, with no servers listed meanwhile", async () => {
    const redis = await startRedisProcess();
    const server = await startTestServer({ redisUrl: redis.url });
    const cluster = clusterClient(server.grpcAddress);
    const health = createClient(Health, createGrpcTransport({ baseUrl: `http://${server.grpcAddress}` }));
    try {
      expect((await cluster.getSystemHealth({})).servers.map((s) => s.serverId)).toEqual([server.server.serverId]);
      await redis.kill("SIGKILL");
      const down = await waitFor(
        async () => {
          const answer = await cluster.getSystemHealth({});
          return answer.redis?.status === DependencyStatus.UNAVAILABLE ? answer : undefined;
        },
        { timeoutMs: 10_000, message: "GetSystemHealth to find Redis unavailable" },
      );
      expect(down).toMatchObject({ status: SystemStatus.NOT_SERVING, servers: [] });
      expect(down.postgres?.status).toBe(DependencyStatus.OK);
      const ready = await fetch(`${server.httpBaseUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: "unavailable", checks: { postgres: "ok", redis: "unavailable" } });
      await waitFor(async () => (await health.check({ service: "" })).status === ServingStatus.NOT_SERVING, {
        timeoutMs: 10_000,
        message: "Health to be NOT_SERVING",
      });

      await redis.restart();
      await waitFor(async () => (await health.check({ service: "" })).status === ServingStatus.SERVING, {
        timeoutMs: 20_000,
        message: "Health to be SERVING again",
      });
      // The server publishes itself again at its next liveness refresh.
      await waitFor(async () => (await cluster.getSystemHealth({})).servers.length === 1, {
        timeoutMs: 10_000,
        message: "the server to be listed again",
      });
    } finally {
      await server.stop();
      await redis.stop();
    }
  }, 90_000);
});
