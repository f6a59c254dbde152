import type { ChildHandle } from "../child-handle.js";
import { childPids, CpuMeter, type PidSource } from "../cpu-meter.js";
import { ProcessMeter } from "../process-meter.js";
import type { Stack } from "../stack.js";

/** Processes of one run to meter besides the stack. */
export interface RunProcesses {
  workers?: readonly ChildHandle[];
  producers?: readonly ChildHandle[];
  /** Count the server's CPU and memory (false when it is not involved, e.g. bullmq). */
  server?: boolean;
}

/**
 * Starts metering a run: CPU per role (server, postgres and its backends, redis — or each
 * Redis Cluster master, `redis_m1`…, and their sum as `redis` —, workers, producers, the whole
 * machine and the rest), the server's peak RSS and how many warnings it
 * logged. Given the tasks done in the window, it also gives CPU µs per task per role
 * (`cpu_us_per_task_server`, …, `cpu_us_per_task_total` over the roles metered). The returned function
 * ends the window and gives metrics such as `cpu_server_pct` (percent of one core).
 */
export async function meterRun(stack: Stack, processes: RunProcesses): Promise<(tasks: number) => Promise<Record<string, number>>> {
  const groups: Record<string, PidSource> = {};
  const withServer = processes.server ?? true;
  if (withServer) groups.server = () => [stack.server.pid];
  const postgresPid = stack.postgresPid;
  if (postgresPid !== undefined) groups.postgres = async () => [postgresPid, ...(await childPids(postgresPid))];
  if (stack.redisPid !== undefined) groups.redis = () => [stack.redisPid!];
  const masters = stack.redisMasterPids ?? [];
  masters.forEach((pid, i) => (groups[`redis_m${i + 1}`] = () => [pid]));
  const replicas = stack.redisReplicaPids ?? [];
  if (replicas.length > 0) groups.redis_replicas = () => replicas;
  if (processes.workers) groups.workers = () => processes.workers!.map((c) => c.pid);
  if (processes.producers) groups.producers = () => processes.producers!.map((c) => c.pid);
  const cpu = new CpuMeter(groups);
  const memory = withServer ? new ProcessMeter(stack.server.pid) : undefined;
  await Promise.all([cpu.start(), memory?.start()]);
  const warningsBefore = stack.server.warnings();
  const startedAt = Date.now();
  return async (tasks: number) => {
    const [shares, serverMemory] = await Promise.all([cpu.stop(), memory?.stop()]);
    const seconds = (Date.now() - startedAt) / 1000;
    const metrics: Record<string, number> = {};
    for (const [name, pct] of Object.entries(shares)) metrics[`cpu_${name}_pct`] = pct;
    // CPU per task is far less sensitive to other load on the machine than tasks/s.
    let total = 0;
    for (const name of Object.keys(groups)) {
      const us = ((shares[name]! / 100) * seconds * 1e6) / tasks;
      metrics[`cpu_us_per_task_${name}`] = us;
      total += us;
    }
    metrics.cpu_us_per_task_total = total;
    if (masters.length > 0) {
      // A cluster's Redis figures are its masters' sum (each master also has its own above;
      // its replicas are `redis_replicas`, in the total but not here).
      const masterNames = masters.map((_, i) => `redis_m${i + 1}`);
      metrics.cpu_redis_pct = masterNames.reduce((sum, name) => sum + shares[name]!, 0);
      metrics.cpu_us_per_task_redis = masterNames.reduce((sum, name) => sum + metrics[`cpu_us_per_task_${name}`]!, 0);
    }
    if (serverMemory) metrics.server_peak_rss_mb = serverMemory.peakRssMb;
    if (withServer) metrics.server_log_warnings = stack.server.warnings() - warningsBefore;
    return metrics;
  };
}
