import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeTasks } from "../support/diagnostics.js";
import { FaultStack } from "../support/fault-stack.js";
import { checkInvariants, formatReport } from "../support/invariants.js";
import { echoTask, failTask, sleepTask, TaskLedger, type PlannedTask } from "../support/ledger.js";
import { WORKER_RESULT_NOT_ACCEPTED, type ServerProcess } from "../support/processes.js";
import type { RedisProcess } from "../../tools/local-services/redis-process.js";
import { startRedisCluster, type LocalRedisCluster } from "../../tools/local-services/redis-cluster.js";
import { readTask, type TaskRecord } from "../support/task-db.js";
import { waitFor } from "../support/wait-for.js";

// Masters of a real Redis Cluster (3 masters + 3 replicas, cluster-node-timeout 1000 ms) fail
// while tasks flow through two server processes, each with a worker process. Recovery's own
// timer is set far off (60 s), so what rebuilds the lost dispatch state in time is the
// servers noticing that a slot changed master.

const NODE_TIMEOUT_MS = 1_000;
const CHANGED_MASTER = "redis cluster: slots changed master (failover or restart); recovering their queues from Postgres";

let cluster: LocalRedisCluster;
let stack: FaultStack;
let servers: ServerProcess[];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: NODE_TIMEOUT_MS });
  stack = await FaultStack.create({
    redisUrl: `redis://127.0.0.1:${cluster.nodes[0]!.port}`,
    // Leases outlast a failover, as the README advises (LEASE_DURATION_MS above
    // cluster-node-timeout plus the election): here 2–3.5 s from the kill to a healthy
    // cluster. A lease shorter than that can expire while its slot has no master, and the
    // task then runs once more (the documented window, not what these tests are about).
    serverEnv: { REDIS_CLUSTER_NODES: cluster.seeds, RECOVERY_INTERVAL_MS: "60000", LEASE_DURATION_MS: "10000", REAPER_INTERVAL_MS: "200" },
  });
  servers = [await stack.startServer(), await stack.startServer()];
}, 90_000);

afterAll(async () => {
  await stack?.close();
  await cluster?.stop();
});

/** Log entries of `msg` printed by the servers since `since` (per server). */
function logged(msg: string, since: number[]) {
  return servers.flatMap((s, i) => s.process.logs().filter((e) => e.seq >= since[i]! && e.msg === msg));
}

/**
 * Tasks the servers' recovery sweeps restored since `since` (a sweep of the changed slots'
 * queues, or a full one when the cross-queue slot was among them).
 */
function restoredSince(since: number[]): number {
  return logged("recovery sweep done", since).reduce((n, e) => n + Number(e.fields.restored), 0);
}

/**
 * Waits until `key`'s slot is served by a master `isNew` accepts, and (unless `healthy` is
 * false: a paused node never says so) the cluster is healthy again.
 */
async function waitForNewMaster(key: string, isNew: (port: number) => boolean, healthy = true): Promise<void> {
  await waitFor(async () => isNew((await cluster.masterOf(key)).port), { timeoutMs: 20_000, intervalMs: 50, message: `a replica to take over ${key}'s slot` });
  if (healthy) await cluster.waitHealthy({ timeoutMs: 20_000, expectMasters: 3, message: "the cluster to be healthy after the failover" });
}

/**
 * Waits until `replica` holds everything `master` wrote, then stops it (SIGSTOP) and has the
 * master drop its link (what its socket buffers held would otherwise still reach it): the
 * master's next writes are its own. Returns the master's replication offset, read anew per call.
 */
async function isolateReplica(master: RedisProcess, replica: RedisProcess): Promise<() => Promise<number>> {
  const offset = async () => Number(/master_repl_offset:(\d+)/.exec(String(await cluster.call(master, "INFO", "replication")))![1]);
  const replicaOffset = async () => Number(/slave_repl_offset:(\d+)/.exec(String(await cluster.call(replica, "INFO", "replication")))![1]);
  await waitFor(async () => (await replicaOffset()) === (await offset()), { timeoutMs: 10_000, message: "the replica to catch up" });
  await replica.kill("SIGSTOP");
  await cluster.call(master, "CLIENT", "KILL", "TYPE", "replica");
  return offset;
}

/**
 * What explains the tasks named by `violations`: their rows and dispatch state, then the log
 * lines of every process that name them or warn, with their time after `t0` (epoch ms).
 */
async function explainViolations(violations: readonly string[], t0: number): Promise<string> {
  const ids = [...new Set(violations.map((v) => v.split(" ")[0]!))].slice(0, 5);
  const tasks = (await Promise.all(ids.map((id) => readTask(stack.pool, id)))).filter((t): t is TaskRecord => t !== undefined);
  const lines = [...stack.servers, ...stack.workers].flatMap((p) =>
    p.process
      .logs()
      .filter((e) => ids.some((id) => e.raw.includes(id)) || (e.level >= 40 && e.receivedAt >= t0 - 1_000))
      .map((e) => `${p.process.name} +${e.receivedAt - t0} ms: ${e.raw.slice(0, 400)}`),
  );
  return `${await describeTasks(stack.pool, tasks, stack)}\n${lines.slice(0, 80).join("\n")}`;
}

/** The invariants hold and no task ran more than planned. */
async function expectEachRanOnce(ledger: TaskLedger): Promise<void> {
  const report = await checkInvariants(stack.pool, ledger);
  expect(report.violations).toEqual([]);
  expect(report.maxExtraExecutions).toBe(0);
}

/** Starts `node` again and waits until every master has a linked replica. */
async function rejoin(node: RedisProcess): Promise<void> {
  await node.restart();
  await cluster.waitReplicasLinked(20_000);
}

describe("Redis Cluster failover", () => {
  it("SIGKILL of the master of busy queues mid-run (5,000 tasks, 20 queues): its replica takes over and every acknowledged task finishes once", async () => {
    // 20 queues spread over the 3 masters (7, 7 and 6), 250 tasks each, in 10 rounds.
    const queues = (await cluster.queuesOnEveryMaster(stack.redisPrefix, "busy", 7)).slice(0, 20);
    const workers = [await stack.startWorker(servers[0]!, { queues, concurrency: 16 }), await stack.startWorker(servers[1]!, { queues, concurrency: 16 })];
    const ledger = new TaskLedger();
    const victim = await cluster.masterOf(`{${stack.redisPrefix}${queues[0]}}:types`);
    const affected: string[] = [];
    for (const queue of queues) if ((await cluster.masterOf(`{${stack.redisPrefix}${queue}}:types`)).port === victim.port) affected.push(queue);
    const since = servers.map((s) => s.process.nextSeq);
    let killedAt = 0;
    let refused = 0;
    try {
      for (let round = 0; round < 10; round++) {
        const batch: PlannedTask[] = queues.flatMap((queue, q) => [
          ...Array.from({ length: 23 }, () => echoTask(queue)),
          sleepTask(queue, 100 + 10 * q),
          failTask(queue, 1),
        ]);
        // Submits during the failover may fail (not acknowledged): only answered ones count.
        await ledger.submitBatch(stack.client(servers[round % 2]!), batch).catch(() => refused++);
        if (round === 3) {
          await victim.kill("SIGKILL");
          killedAt = Date.now();
        }
      }
      await waitForNewMaster(`{${stack.redisPrefix}${queues[0]}}:types`, (port) => port !== victim.port);
      const failoverMs = Date.now() - killedAt;
      const final = await stack.waitAllDone(queues, ledger.expected.size, 120_000);
      const doneMs = Date.now() - killedAt;
      const report = await checkInvariants(stack.pool, ledger);
      // Dispatch resumed on the failed master's slots: the first attempt started there after the
      // kill. No replica takes over before cluster-node-timeout has passed, so starts recorded
      // earlier are leases the killed master granted (their RUNNING write may land a little late).
      const { rows } = await stack.pool.query<{ first: Date | null }>(
        "SELECT min(a.started_at) AS first FROM task_attempt_history a JOIN tasks t ON t.id = a.task_id WHERE t.queue = ANY($1) AND a.started_at > $2",
        [affected, new Date(killedAt + NODE_TIMEOUT_MS)],
      );
      const resumedMs = rows[0]!.first ? rows[0]!.first.getTime() - killedAt : NaN;
      // Results of leases the failover ended are refused (fenced), not recorded: counted from the workers' logs.
      // Leases and queued entries of tasks Postgres had finished, removed by the failover sweep.
      const forgotten = logged("recovery sweep done", since).reduce((n, e) => n + Number(e.fields.forgotten ?? 0), 0);
      const stale = workers.reduce((n, w) => n + w.process.find({ msg: WORKER_RESULT_NOT_ACCEPTED }).filter((e) => e.fields.status === "stale").length, 0);
      console.log(
        `cluster failover (SIGKILL): ${ledger.expected.size} acknowledged over ${queues.length} queues (${affected.length} on the killed master; ${refused} batches refused), ` +
          `cluster healthy ${failoverMs} ms after the kill, dispatch resumed on its slots ${resumedMs} ms after it, all done ${doneMs} ms after it, ${stale} stale results refused, ${forgotten} leftovers of finished tasks removed; ${formatReport(report)}`,
      );
      if (report.violations.length > 0) console.log(`cluster failover (SIGKILL): violations explained:\n${await explainViolations(report.violations, killedAt)}`);
      expect(ledger.expected.size).toBeGreaterThanOrEqual(4_000);
      expect(final).toEqual({ SUCCEEDED: ledger.expected.size });
      expect(report.violations).toEqual([]);
      expect(report.maxExtraExecutions).toBeLessThanOrEqual(2);
      expect(resumedMs).toBeGreaterThan(0);
      expect(logged(CHANGED_MASTER, since).length).toBeGreaterThan(0);
    } finally {
      // The old master comes back (empty, with its cluster config) as a replica of its
      // successor, whatever the outcome: the next tests need a replica behind every master.
      if (killedAt > 0) await rejoin(victim);
    }
  }, 240_000);

  it("a replica promoted without the last writes: the tasks its master had alone are rebuilt from Postgres", async () => {
    const [queue] = await cluster.queuesOnEveryMaster(stack.redisPrefix, "lagged", 1, 1);
    const master = await cluster.masterOf(`{${stack.redisPrefix}${queue}}:types`);
    const replica = await cluster.replicaOf(master);
    const client = stack.client(servers[0]!);
    const ledger = new TaskLedger();
    await ledger.submitBatch(client, Array.from({ length: 5 }, () => echoTask(queue!)));
    // The replica stops and is cut off: the master then acknowledges writes the replica lacks.
    const offset = await isolateReplica(master, replica);
    const frozenAt = await offset();
    await ledger.submitBatch(client, Array.from({ length: 30 }, () => echoTask(queue!)));
    await waitFor(async () => (await offset()) > frozenAt, { timeoutMs: 5_000, message: "the master to hold writes its replica lacks" });
    const since = servers.map((s) => s.process.nextSeq);
    await master.kill("SIGKILL");
    await replica.kill("SIGCONT");
    const killedAt = Date.now();
    await waitForNewMaster(`{${stack.redisPrefix}${queue}}:types`, (port) => port === replica.port);
    const promotedMs = Date.now() - killedAt;

    await stack.startWorker(servers[1]!, { queues: [queue!], concurrency: 8 });
    const final = await stack.waitAllDone([queue!], ledger.expected.size, 30_000);
    const restored = restoredSince(since);
    console.log(
      `cluster failover (lagging replica): promoted ${promotedMs} ms after the kill, ${restored} tasks restored by recovery, ` +
        `all ${ledger.expected.size} done ${Date.now() - killedAt} ms after the kill`,
    );
    expect(final).toEqual({ SUCCEEDED: ledger.expected.size });
    expect(logged(CHANGED_MASTER, since).length).toBeGreaterThan(0);
    expect(restored).toBeGreaterThan(0);
    await expectEachRanOnce(ledger);
    await rejoin(master);
  }, 120_000);

  it("a replica promoted without the master's last fenced results: the leases it still shows are removed and no task runs again", async () => {
    const [queue] = await cluster.queuesOnEveryMaster(stack.redisPrefix, "fenced", 1, 1);
    const qk = `{${stack.redisPrefix}${queue}}:`;
    const master = await cluster.masterOf(`${qk}types`);
    const replica = await cluster.replicaOf(master);
    // Leases longer than the outage (as with the defaults: 15 s leases, heartbeats every few
    // seconds), so that the leases the promoted replica shows are still current: a lease that
    // expired meanwhile is reaped and may run once more before the slot sweep (see the README).
    const server = await stack.startServer({ LEASE_DURATION_MS: "30000" });
    servers.push(server);
    const worker = await stack.startWorker(server, { queues: [queue!], concurrency: 20, logLevel: "debug" });
    const ledger = new TaskLedger();
    const count = 12;
    await ledger.submitBatch(stack.client(server), Array.from({ length: count }, () => sleepTask(queue!, 1_500)));
    const leases = async (node: typeof master) => Number(await cluster.call(node, "ZCARD", `${qk}leases`));
    await waitFor(async () => (await leases(master)) === count, { timeoutMs: 10_000, message: "every task to be leased" });
    // The replica stops with the leases and is cut off, the master alone fences the results, Postgres records them.
    await isolateReplica(master, replica);
    await stack.waitAllDone([queue!], count, 20_000);
    expect(await leases(master)).toBe(0);
    const since = servers.map((s) => s.process.nextSeq);
    await master.kill("SIGKILL");
    await replica.kill("SIGCONT");
    const killedAt = Date.now();
    await waitForNewMaster(`${qk}types`, (port) => port === replica.port);

    // The promoted replica came with the leases of tasks Postgres has finished: the slot sweep removes them.
    await waitFor(async () => (await leases(replica)) === 0, { timeoutMs: 15_000, message: "the leases of finished tasks to be removed" });
    const clearedMs = Date.now() - killedAt;
    // The sweep's log line follows the removal: wait for it.
    const forgottenSince = () => logged("recovery sweep done", since).reduce((n, e) => n + Number(e.fields.forgotten ?? 0), 0);
    await waitFor(() => forgottenSince() >= count, { timeoutMs: 5_000, message: "the sweep to report the leases it removed" });
    const forgotten = forgottenSince();
    expect(Number((await cluster.call(replica, "HGET", `${qk}counts`, "running")) ?? 0)).toBe(0);
    // Its stream ending would have put those leases back to run: stop the worker, let another serve the queue.
    await worker.kill("SIGTERM", 20_000);
    const next = await stack.startWorker(server, { queues: [queue!], concurrency: 20, logLevel: "debug" });
    await ledger.submitBatch(stack.client(server), [echoTask(queue!)]);
    const final = await stack.waitAllDone([queue!], ledger.expected.size, 20_000);
    const starts = new Map<string, number>();
    for (const w of [worker, next]) {
      for (const e of w.process.find({ msg: "task started" })) starts.set(String(e.fields.taskId), (starts.get(String(e.fields.taskId)) ?? 0) + 1);
    }
    console.log(`cluster failover (fenced results lost): leases of ${forgotten} finished tasks removed ${clearedMs} ms after the kill; ${starts.size} tasks started`);
    expect(final).toEqual({ SUCCEEDED: ledger.expected.size });
    expect(forgotten).toBe(count);
    expect(starts.size).toBe(ledger.expected.size);
    expect([...starts.values()].every((n) => n === 1)).toBe(true);
    await expectEachRanOnce(ledger);
    await rejoin(master);
  }, 120_000);

  it("a master restarted empty without a replica: its queues are rebuilt from Postgres, the other masters' untouched", async () => {
    const [queue, elsewhere] = await cluster.queuesOnEveryMaster(stack.redisPrefix, "emptied", 1, 2);
    const master = await cluster.masterOf(`{${stack.redisPrefix}${queue}}:types`);
    const replica = await cluster.replicaOf(master);
    const client = stack.client(servers[0]!);
    const ledger = new TaskLedger();
    await ledger.submitBatch(client, [...Array.from({ length: 20 }, () => echoTask(queue!)), ...Array.from({ length: 20 }, () => echoTask(elsewhere!))]);
    const since = servers.map((s) => s.process.nextSeq);
    await replica.kill("SIGKILL");
    await master.kill("SIGKILL");
    await master.restart();
    const restartedAt = Date.now();
    await cluster.waitHealthy({ timeoutMs: 20_000, expectMasters: 3, message: "the emptied master to serve its slots again" });
    expect((await cluster.masterOf(`{${stack.redisPrefix}${queue}}:types`)).port).toBe(master.port);

    await stack.startWorker(servers[1]!, { queues: [queue!, elsewhere!], concurrency: 8 });
    const final = await stack.waitAllDone([queue!, elsewhere!], ledger.expected.size, 30_000);
    const restored = restoredSince(since);
    console.log(`cluster master restarted empty: ${restored} tasks restored by recovery, all ${ledger.expected.size} done ${Date.now() - restartedAt} ms after the restart`);
    expect(final).toEqual({ SUCCEEDED: ledger.expected.size });
    // Only the emptied master's queue was rebuilt: the other's tasks were never lost.
    expect(restored).toBe(20);
    await expectEachRanOnce(ledger);
    await rejoin(replica);
  }, 120_000);

  it("a master paused (SIGSTOP) longer than cluster-node-timeout: its replica takes over, it comes back as a replica, every task finishes", async () => {
    const queues = await cluster.queuesOnEveryMaster(stack.redisPrefix, "paused", 1);
    for (const server of servers.slice(0, 2)) await stack.startWorker(server, { queues, concurrency: 8 });
    const ledger = new TaskLedger();
    const frozen = await cluster.masterOf(`{${stack.redisPrefix}${queues[0]}}:types`);
    let frozenAt = 0;
    for (let round = 0; round < 8; round++) {
      const batch = queues.flatMap((queue) => [...Array.from({ length: 8 }, () => echoTask(queue)), sleepTask(queue, 100), failTask(queue, 1)]);
      await ledger.submitBatch(stack.client(servers[round % 2]!), batch).catch(() => undefined);
      if (round === 3) {
        await frozen.kill("SIGSTOP");
        frozenAt = Date.now();
      }
    }
    await waitForNewMaster(`{${stack.redisPrefix}${queues[0]}}:types`, (port) => port !== frozen.port, false);
    const promotedMs = Date.now() - frozenAt;
    await frozen.kill("SIGCONT");
    await cluster.waitHealthy({ timeoutMs: 20_000, expectMasters: 3, message: "the paused master to come back as a replica" });
    await cluster.waitReplicasLinked(20_000);
    const final = await stack.waitAllDone(queues, ledger.expected.size, 60_000);
    const report = await checkInvariants(stack.pool, ledger);
    console.log(`cluster master paused: replica promoted ${promotedMs} ms after SIGSTOP, all done ${Date.now() - frozenAt} ms after it; ${formatReport(report)}`);
    expect(final).toEqual({ SUCCEEDED: ledger.expected.size });
    expect(report.violations).toEqual([]);
    expect(report.maxExtraExecutions).toBeLessThanOrEqual(2);
  }, 120_000);
});
