import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeadLetterService } from "../gen/taskqueue/v1/dead_letter_service_pb.js";
import { type QueueInfo, QueueService } from "../gen/taskqueue/v1/queue_service_pb.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { RawWorker } from "./support/raw-worker.js";
import { waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

// ListQueues and GetQueue answer from a snapshot shared for QUEUE_OVERVIEW_CACHE_MS (default
// 1000 ms): these tests show that concurrent calls share one read, that every control write
// made through a server is seen by its next call (re-reading the written queues only), that
// its submits show in GetQueue at once and in ListQueues within the window (a new queue at
// once), and that a change made elsewhere shows once the window has passed.

const servers: TestServer[] = [];
const workers: RawWorker[] = [];

afterAll(async () => {
  for (const w of workers) w.cancel();
  for (const s of servers.reverse()) await s.stop().catch(() => undefined);
});

function queuesOf(ts: TestServer): Client<typeof QueueService> {
  return createClient(QueueService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
}

/** The queue as ListQueues shows it (every page). */
async function listed(client: Client<typeof QueueService>, name: string): Promise<QueueInfo | undefined> {
  return (await client.listQueues({ pageSize: 1000 })).queues.find((q) => q.name === name);
}

describe("ListQueues/GetQueue snapshot", () => {
  let ts: TestServer;
  let other: TestServer;
  let queues: Client<typeof QueueService>;

  beforeAll(async () => {
    ts = await startTestServer();
    servers.push(ts);
    other = await startTestServer({}, { databaseUrl: ts.databaseUrl, redisPrefix: ts.redisPrefix });
    servers.push(other);
    queues = queuesOf(ts);
  });

  it("serves concurrent ListQueues calls, over gRPC and Connect, from one read (single flight)", async () => {
    const names = [uniqueQueue("flight-a"), uniqueQueue("flight-b")];
    for (const queue of names) await other.grpc.submitTask({ queue, type: "echo" });
    const before = ts.server.queueOverviewReads();
    expect(before).toEqual({ full: 0, partial: 0 });
    const connect = createClient(QueueService, createConnectTransport({ baseUrl: ts.httpBaseUrl, httpVersion: "1.1" }));
    const answers = await Promise.all([
      ...Array.from({ length: 10 }, () => queues.listQueues({})),
      ...Array.from({ length: 10 }, () => connect.listQueues({})),
      // GetQueue answers from a fresh snapshot, else reads its queue alone: never a read of every queue.
      ...Array.from({ length: 10 }, (_, i) => queues.getQueue({ name: names[i % 2]! })),
    ]);
    expect(ts.server.queueOverviewReads()).toEqual({ full: 1, partial: 0 });
    for (const answer of answers.slice(0, 20)) {
      expect("queues" in answer && answer.queues.map((q) => [q.name, q.counts!.queued])).toEqual(names.map((n) => [n, 1n]));
    }
    for (const answer of answers.slice(20)) expect("queue" in answer && answer.queue!.counts!.queued).toBe(1n);
  });

  it("reads on every call when QUEUE_OVERVIEW_CACHE_MS is 0", async () => {
    const uncached = await startTestServer({ queueOverviewCacheMs: 0 });
    servers.push(uncached);
    const client = queuesOf(uncached);
    await Promise.all(Array.from({ length: 5 }, () => client.listQueues({})));
    expect(uncached.server.queueOverviewReads()).toEqual({ full: 5, partial: 0 });
  });

  it("shows every write made through this server in the next call, re-reading only the written queues", async () => {
    const queue = uniqueQueue("writes");
    const bystander = uniqueQueue("bystander");
    await ts.grpc.submitTask({ queue, type: "echo" });
    await ts.grpc.submitTask({ queue: bystander, type: "echo" });
    expect((await listed(queues, queue))!.counts!.queued).toBe(1n);
    const reads = ts.server.queueOverviewReads();

    // Submit: GetQueue counts it at once; ListQueues, like for dispatch, within the window.
    const { task } = await ts.grpc.submitTask({ queue, type: "echo" });
    expect((await queues.getQueue({ name: queue })).queue!.counts!.queued).toBe(2n);
    await waitFor(async () => ((await listed(queues, queue))!.counts!.queued === 2n ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 50,
      message: `${queue} to be listed with 2 queued`,
    });
    const submitTasks = await ts.grpc.submitTasks({ tasks: [{ queue, type: "echo" }, { queue, type: "echo" }] });
    expect(submitTasks.results).toHaveLength(2);
    expect((await queues.getQueue({ name: queue })).queue!.counts!.queued).toBe(4n);

    // Pause, settings, resume.
    await queues.pauseQueue({ name: queue, reason: "maintenance" });
    const paused = (await listed(queues, queue))!;
    expect([paused.paused, paused.pauseReason]).toEqual([true, "maintenance"]);
    await queues.updateQueue({ name: queue, settings: { defaultPriority: 7 }, updateMask: { paths: ["default_priority"] } });
    expect((await listed(queues, queue))!.settings!.defaultPriority).toBe(7);
    expect((await queues.getQueue({ name: queue })).queue!.settings!.defaultPriority).toBe(7);
    await queues.resumeQueue({ name: queue });
    expect((await listed(queues, queue))!.paused).toBe(false);

    // Cancel.
    await ts.grpc.cancelTask({ id: task!.id });
    expect((await listed(queues, queue))!.counts!.queued).toBe(3n);

    // A queue this server has never shown appears at once.
    const fresh = uniqueQueue("fresh");
    await ts.grpc.submitTask({ queue: fresh, type: "echo" });
    expect((await listed(queues, fresh))?.counts!.queued).toBe(1n);

    // The written queues were re-read on their own (partial reads), the bystander kept its figures.
    const after = ts.server.queueOverviewReads();
    expect(after.partial).toBeGreaterThan(reads.partial);
    expect((await listed(queues, bystander))!.counts!.queued).toBe(1n);
  });

  it("shows a redrive and a purge made through this server in the next call", async () => {
    const queue = uniqueQueue("dead");
    const ids = [];
    for (let i = 0; i < 2; i++) ids.push((await ts.grpc.submitTask({ queue, type: "echo", retryPolicy: { maxAttempts: 1 } })).task!.id);
    const w = new RawWorker(ts.grpcAddress);
    workers.push(w);
    await w.hello([queue]);
    w.send({ case: "credit", value: { credits: 2 } });
    const leased = await w.tasks(2);
    w.send({
      case: "results",
      value: {
        results: leased.map((t) => ({ taskId: t.taskId, leaseToken: t.leaseToken, outcome: { case: "failure" as const, value: { message: "bad input", nonRetryable: true } } })),
      },
    });
    for (const id of ids) await waitForState(ts.grpc, id, TaskState.DEAD);
    w.cancel();
    // Results recorded by this server are not writes the snapshot tracks: they show within the window.
    await waitFor(async () => ((await queues.getQueue({ name: queue })).queue!.counts!.dead === 2n ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 50,
      message: `${queue} to show 2 DEAD`,
    });

    const deadLetters = createClient(DeadLetterService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
    await deadLetters.redriveDeadTasks({ ids: [ids[0]!] });
    expect((await queues.getQueue({ name: queue })).queue!.counts).toMatchObject({ dead: 1n, queued: 1n });
    await deadLetters.purgeDeadTasks({ ids: [ids[1]!] });
    expect((await listed(queues, queue))!.counts).toMatchObject({ dead: 0n, queued: 1n });
  });

  it("shows a change made through another server once the window has passed", async () => {
    const queue = uniqueQueue("elsewhere");
    await ts.grpc.submitTask({ queue, type: "echo" });
    expect((await queues.getQueue({ name: queue })).queue!.counts!.queued).toBe(1n);
    await other.grpc.submitTask({ queue, type: "echo" });
    await queuesOf(other).pauseQueue({ name: queue, reason: "elsewhere" });
    // Each server sees its own writes at once.
    expect((await queuesOf(other).getQueue({ name: queue })).queue).toMatchObject({ paused: true, counts: { queued: 2n } });
    const seen = await waitFor(
      async () => {
        const q = (await queues.getQueue({ name: queue })).queue!;
        return q.paused && q.counts!.queued === 2n ? q : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50, message: `${queue} on the first server to show the other's submit and pause` },
    );
    expect(seen.pauseReason).toBe("elsewhere");
  });
});
