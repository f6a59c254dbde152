import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { ClusterService } from "../gen/taskqueue/v1/cluster_service_pb.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { RawWorker } from "./support/raw-worker.js";
import { waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/**
 * ListServers while a server drains: the other servers show it `draining: true` for as long
 * as a worker holds a task on it, and drop it once it has stopped.
 */

const servers: TestServer[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

describe("ListServers during a drain", () => {
  it("shows a draining server as draining to the other servers, then drops it", async () => {
    const observer = await startTestServer();
    servers.push(observer);
    const drained = await startTestServer({ drainTimeoutMs: 30_000 }, { databaseUrl: observer.databaseUrl, redisPrefix: observer.redisPrefix });
    servers.push(drained);
    const cluster = createClient(ClusterService, createGrpcTransport({ baseUrl: `http://${observer.grpcAddress}` }));
    const drainingOf = async (): Promise<boolean | undefined> =>
      (await cluster.listServers({})).servers.find((s) => s.serverId === drained.server.serverId)?.draining;

    // A worker on the drained server holds a task, so its drain waits for the result.
    const queue = uniqueQueue("draining");
    const worker = new RawWorker(drained.grpcAddress);
    try {
      await worker.hello([queue]);
      const { task } = await drained.grpc.submitTask({ queue, type: "echo" });
      worker.send({ case: "credit", value: { credits: 1 } });
      const [leased] = await worker.tasks(1);
      await waitFor(async () => ((await drainingOf()) === false ? true : undefined), { timeoutMs: 10_000, message: "the server listed, not draining" });

      const stopped = drained.server.stop();
      await worker.next((m) => m.message.case === "drain", "the drain notice");
      await waitFor(async () => ((await drainingOf()) === true ? true : undefined), { timeoutMs: 5_000, message: "the server listed as draining" });
      const listed = (await cluster.listServers({})).servers.find((s) => s.serverId === drained.server.serverId)!;
      expect(listed).toMatchObject({ draining: true, connectedWorkers: 1, address: drained.grpcAddress });
      expect((await cluster.listServers({})).servers.find((s) => s.serverId === observer.server.serverId)?.draining).toBe(false);

      // The held task finishes, the drain completes and the server leaves the list.
      worker.send({
        case: "results",
        value: { results: [{ taskId: leased!.taskId, leaseToken: leased!.leaseToken, outcome: { case: "success", value: {} } }] },
      });
      expect(await stopped).toMatchObject({ complete: true });
      await waitForState(observer.grpc, task!.id, TaskState.SUCCEEDED);
      expect((await cluster.listServers({})).servers.map((s) => s.serverId)).toEqual([observer.server.serverId]);
    } finally {
      worker.close();
    }
  }, 60_000);
});
