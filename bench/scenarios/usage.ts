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
 * Starts metering a run: CPU per role (server, postgres and its backends, redis, workers,
 * producers, the whole machine and the rest) and the server's peak RSS. The returned function
 * ends the window and gives metrics such as `cpu_server_pct` (percent of one core).
 */
export async function meterRun(stack: Stack, processes: RunProcesses): Promise<() => Promise<Record<string, number>>> {
  const groups: Record<string, PidSource> = {};
  const withServer = processes.server ?? true;
  if (withServer) groups.server = () => [stack.server.pid];
  const postgresPid = stack.postgresPid;
  if (postgresPid !== undefined) groups.postgres = async () => [postgresPid, ...(await childPids(postgresPid))];
  if (stack.redisPid !== undefined) groups.redis = () => [stack.redisPid!];
  if (processes.workers) groups.workers = () => processes.workers!.map((c) => c.pid);
  if (processes.producers) groups.producers = () => processes.producers!.map((c) => c.pid);
  const cpu = new CpuMeter(groups);
  const memory = withServer ? new ProcessMeter(stack.server.pid) : undefined;
  await Promise.all([cpu.start(), memory?.start()]);
  return async () => {
    const [shares, serverMemory] = await Promise.all([cpu.stop(), memory?.stop()]);
    const metrics: Record<string, number> = {};
    for (const [name, pct] of Object.entries(shares)) metrics[`cpu_${name}_pct`] = pct;
    if (serverMemory) metrics.server_peak_rss_mb = serverMemory.peakRssMb;
    return metrics;
  };
}
