import { readdir, readFile } from "node:fs/promises";
import { sampleProcess } from "./probes.js";

/** Gives the process ids of one group (read at the start and at the end of the window). */
export type PidSource = () => Promise<readonly number[]> | readonly number[];

/** Kernel clock ticks per second in /proc/stat (USER_HZ). */
const CLOCK_TICKS = 100;

/** Busy and total CPU seconds of the whole machine so far (all cores), from /proc/stat. */
export async function machineCpuSeconds(): Promise<{ busy: number; total: number }> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n", 1)[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy: busy / CLOCK_TICKS, total: (busy + idle! + iowait!) / CLOCK_TICKS };
}

/** Process ids whose parent is `ppid` (e.g. the backends of a postmaster). */
export async function childPids(ppid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) === ppid) pids.push(Number(entry));
  }
  return pids;
}

async function cpuOf(pids: readonly number[]): Promise<Map<number, number>> {
  const samples = await Promise.all(pids.map((pid) => sampleProcess(pid).then((s) => [pid, s.cpuSeconds] as const, () => undefined)));
  return new Map(samples.filter((s): s is readonly [number, number] => s !== undefined));
}

/**
 * CPU used by groups of processes over a window, in percent of one core, plus the whole
 * machine's busy time (`machine`) and what no group accounts for (`other`: the harness and
 * anything else running on the machine).
 */
export class CpuMeter {
  private startAt = 0;
  private startMachine = { busy: 0, total: 0 };
  private readonly startCpu = new Map<string, Map<number, number>>();

  constructor(private readonly groups: Readonly<Record<string, PidSource>>) {}

  /** Samples every group and the machine. */
  async start(): Promise<void> {
    for (const [name, source] of Object.entries(this.groups)) this.startCpu.set(name, await cpuOf(await source()));
    this.startMachine = await machineCpuSeconds();
    this.startAt = Date.now();
  }

  /** Samples again; returns percent of one core per group, `machine` and `other`. */
  async stop(): Promise<Record<string, number>> {
    const machine = await machineCpuSeconds();
    const seconds = (Date.now() - this.startAt) / 1000;
    const result: Record<string, number> = {};
    let ours = 0;
    for (const [name, source] of Object.entries(this.groups)) {
      const before = this.startCpu.get(name) ?? new Map<number, number>();
      const after = await cpuOf(await source());
      let used = 0;
      for (const [pid, cpu] of after) used += cpu - (before.get(pid) ?? 0);
      result[name] = (100 * used) / seconds;
      ours += result[name]!;
    }
    result.machine = (100 * (machine.busy - this.startMachine.busy)) / seconds;
    result.other = Math.max(0, result.machine - ours);
    return result;
  }
}
