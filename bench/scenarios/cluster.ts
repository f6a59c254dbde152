import { startClusterStack, type ClusterStack } from "../cluster-stack.js";
import type { Stack } from "../stack.js";
import { crossQueueMasterIndex, masterIndexOfQueue, spreadQueues } from "../cluster-queues.js";
import { masterSplit } from "../cluster-split.js";
import { countByQueue } from "../probes.js";
import { uniqueQueue, type Scenario, type ScenarioContext, type ScenarioResult } from "./context.js";
import { throughputBatch, throughputBatchOn } from "./throughput.js";

/** Masters of the cluster. */
const MASTERS = 3;
/** Queues of the spread part. */
const SPREAD_QUEUES = 20;

/** The figures of a throughput run the cluster entry keeps (under a prefix). */
const KEPT = /^(tasks_per_s|duration_s|cpu_us_per_task_.+|cpu_redis(_m\d+)?_pct|cpu_machine_pct|cpu_other_pct)$/;

/**
 * cluster: throughput_batch's workload on single Redis (the run's stack, `single_*`), then on
 * a private 3-master Redis Cluster (no replicas unless `--cluster-replicas`) with a second server on it (`cluster_*`:
 * one queue, on a master other than the one of the cross-queue keys), then spread over 20
 * queues chosen by key slot so that each master holds 6 or 7 (`spread_*`): tasks/s, CPU µs
 * per task of every process, Redis CPU per task summed over the masters
 * (`cpu_us_per_task_redis`) and per master (`_redis_m1`…), and in the spread part each
 * master's share of the Redis CPU and its CPU per task of its queues. The cluster and its
 * server are started by the first run, warmed up with both servers, and kept for the next.
 */
export const cluster: Scenario = async (context) => {
  const { options } = context;
  const clusterStack = await sharedClusterStack(context);
  const onCluster = { ...context, stack: clusterStack.stack };
  const slots = clusterStack.masterSlots;
  const single = await throughputBatch(context);
  const oneQueue = spreadQueues(slots, 1, "bench-cluster1").queues[0]!;
  const one = await throughputBatchOn(onCluster, "cluster1", [oneQueue], "one queue on a 3-master Redis Cluster");
  const spread = spreadQueues(slots, SPREAD_QUEUES, "bench-cluster20");
  // Every producer sends at least one call to each queue.
  const batchSize = Math.max(1, Math.min(options.batchSize, Math.floor(options.tasks / (options.producers * SPREAD_QUEUES))));
  const twenty = await throughputBatchOn(
    { ...onCluster, options: { ...options, batchSize } },
    "cluster20",
    spread.queues,
    `${SPREAD_QUEUES} queues on a 3-master Redis Cluster, ${spread.perMaster.join("/")} per master, SubmitTasks of ${batchSize} to one queue each`,
  );
  const byQueue = await countByQueue(clusterStack.stack.pool, spread.queues);
  const ownTasks = spread.perMaster.map((_, m) => spread.queues.reduce((n, q, i) => n + (spread.masterOf[i] === m ? (byQueue.get(q) ?? 0) : 0), 0));
  const split = masterSplit(
    slots.map((_, m) => twenty.metrics[`cpu_us_per_task_redis_m${m + 1}`]!),
    ownTasks,
    twenty.metrics.tasks!,
  );
  const perMaster: Record<string, number> = {};
  slots.forEach((_, m) => {
    perMaster[`spread_m${m + 1}_queues`] = spread.perMaster[m]!;
    perMaster[`spread_m${m + 1}_tasks`] = ownTasks[m]!;
    perMaster[`spread_m${m + 1}_redis_share_pct`] = split.sharePct[m]!;
    perMaster[`spread_m${m + 1}_redis_us_per_own_task`] = split.usPerOwnTask[m]!;
  });
  return {
    metrics: {
      tasks: single.metrics.tasks!,
      ...kept("single_", single),
      ...kept("cluster_", one),
      cluster_queue_master: masterIndexOfQueue(slots, oneQueue) + 1,
      cross_queue_master: crossQueueMasterIndex(slots) + 1,
      ...kept("spread_", twenty),
      ...perMaster,
      spread_redis_share_max_min: split.shareMaxMin,
      spread_redis_us_per_own_task_max_min: split.usPerOwnTaskMaxMin,
      tasks_per_s_cluster_vs_single: one.metrics.tasks_per_s! / single.metrics.tasks_per_s!,
    },
    notes: [
      `cluster: single Redis, then a ${MASTERS}-master Redis Cluster (${options.clusterReplicas === 0 ? "no replicas" : `${options.clusterReplicas} replica(s) each, their CPU in redis_replicas`}, redis-server --cluster-enabled yes on this machine) with its own server and database on the same Postgres; m1…m${MASTERS} are the masters in slot order, cross_queue_master holds the {tq:} keys`,
      ...(single.notes ?? []),
      ...(twenty.notes ?? []),
    ],
  };
};

/** The cluster stack of each run's stack: started, and both servers warmed up, by the first cluster run. */
const clusterStacks = new WeakMap<Stack, Promise<ClusterStack>>();

function sharedClusterStack(context: ScenarioContext): Promise<ClusterStack> {
  const { stack, options, logger } = context;
  let started = clusterStacks.get(stack);
  if (started === undefined) {
    started = (async () => {
      const clusterStack = await startClusterStack(stack, { masters: MASTERS, replicas: options.clusterReplicas, serverEnv: options.serverEnv, serverNodeArgs: options.serverNodeArgs, serverCpuProfDir: options.serverCpuProfDir, logger });
      stack.onStop(() => clusterStack.stop());
      // A fifth of the workload on each server, so that neither is measured while its code compiles.
      const warmUp = { ...options, tasks: Math.max(1_000, Math.round(options.tasks / 5)) };
      await throughputBatch({ ...context, options: warmUp });
      await throughputBatchOn({ ...context, stack: clusterStack.stack, options: warmUp }, "cluster-warmup", [uniqueQueue("cluster-warmup")], "warm-up");
      return clusterStack;
    })();
    clusterStacks.set(stack, started);
    started.catch(() => clusterStacks.delete(stack));
  }
  return started;
}

function kept(prefix: string, result: ScenarioResult): Record<string, number> {
  return Object.fromEntries(Object.entries(result.metrics).filter(([name]) => KEPT.test(name)).map(([name, value]) => [`${prefix}${name}`, value]));
}
