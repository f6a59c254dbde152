import { readdir, readFile } from "node:fs/promises";

/** CPU seconds of the postmaster and its children, split into backends and the rest. */
export interface CpuSnapshot {
  backends: number;
  total: number;
}

const CLOCK_TICKS = 100;

async function statFields(pid: number): Promise<string[] | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/**
 * Reads /proc: CPU seconds so far of the postmaster and its live children (backends, WAL
 * writer, checkpointer, …) plus the postmaster's cutime/cstime (children that exited).
 */
export async function postgresCpu(postmasterPid: number): Promise<CpuSnapshot> {
  let backends = 0;
  let total = 0;
  const master = await statFields(postmasterPid);
  // utime + stime of the postmaster, plus cutime + cstime: children that exited meanwhile.
  total += master ? [11, 12, 13, 14].reduce((sum, i) => sum + Number(master[i]), 0) : 0;
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = await statFields(Number(entry));
    if (!fields || Number(fields[1]) !== postmasterPid) continue;
    const ticks = Number(fields[11]) + Number(fields[12]);
    total += ticks;
    const title = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (/^postgres: \S+ \S+ \d/.test(title)) backends += ticks;
  }
  return { backends: backends / CLOCK_TICKS, total: total / CLOCK_TICKS };
}
