import { readdir, readFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { ProcessTimeoutError } from "./errors.js";

/** How often the process table is re-read while waiting for a state change. */
const RECHECK_INTERVAL_MS = 10;

/** One entry of the process table, as read from `/proc/<pid>/stat`. */
export interface ProcessInfo {
  /** Process id. */
  pid: number;
  /** Parent process id. */
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** One-letter state: R, S, D, T (stopped), t, Z (zombie), X (dead), … */
  state: string;
}

/** Tells whether this machine exposes a Linux-style `/proc`. */
export async function hasProcFs(): Promise<boolean> {
  return (await readProcessInfo(process.pid)) !== undefined;
}

/** Reads `/proc/<pid>/stat`; undefined when the process does not exist (or there is no /proc). */
export async function readProcessInfo(pid: number): Promise<ProcessInfo | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // Format: "pid (comm) state ppid pgrp …"; comm may contain spaces and parentheses.
  const [state, ppid, pgid] = text.slice(text.lastIndexOf(")") + 2).split(" ");
  if (state === undefined || ppid === undefined || pgid === undefined) return undefined;
  return { pid, ppid: Number(ppid), pgid: Number(pgid), state };
}

/** True for a process that exists and is neither a zombie nor dead. */
export function isLive(info: ProcessInfo | undefined): info is ProcessInfo {
  return info !== undefined && info.state !== "Z" && info.state !== "X";
}

/** Reads the whole process table from /proc (empty without /proc). */
export async function listProcesses(): Promise<ProcessInfo[]> {
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return [];
  }
  const infos = await Promise.all(entries.filter((entry) => /^\d+$/.test(entry)).map((entry) => readProcessInfo(Number(entry))));
  return infos.filter((info): info is ProcessInfo => info !== undefined);
}

/**
 * Lists the live processes descending from `pid`, plus the live members of process group
 * `pid` (a process started detached leads its own group). Services such as Postgres put each
 * child in its own session, so the process tree is the reliable way to find them all.
 */
export async function listProcessTree(pid: number): Promise<number[]> {
  const table = (await listProcesses()).filter(isLive);
  const found = new Set<number>();
  const pending = [pid];
  while (pending.length > 0) {
    const parent = pending.pop() as number;
    for (const info of table) {
      if (info.ppid === parent && !found.has(info.pid)) {
        found.add(info.pid);
        pending.push(info.pid);
      }
    }
  }
  for (const info of table) if (info.pgid === pid && info.pid !== pid) found.add(info.pid);
  return [...found];
}

/**
 * Waits until none of `pids` is live any more (zombies count as gone), re-reading the process
 * table, and fails with {@link ProcessTimeoutError} after `timeoutMs`. Without /proc it uses
 * `kill(pid, 0)`, which also counts zombies.
 */
export async function waitForProcessesGone(pids: readonly number[], timeoutMs: number): Promise<void> {
  const procFs = await hasProcFs();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive: number[] = [];
    for (const pid of pids) {
      if (procFs ? isLive(await readProcessInfo(pid)) : signalZero(pid)) alive.push(pid);
    }
    if (alive.length === 0) return;
    if (Date.now() >= deadline) {
      throw new ProcessTimeoutError(`processes ${alive.join(", ")} still alive after ${timeoutMs} ms`);
    }
    await delay(RECHECK_INTERVAL_MS);
  }
}

/**
 * Waits until `predicate` holds for the state letter of `pid` (re-reading /proc), failing with
 * {@link ProcessTimeoutError} after `timeoutMs`. Resolves at once when /proc is unavailable.
 */
export async function waitForProcessState(
  pid: number,
  predicate: (state: string | undefined) => boolean,
  description: string,
  timeoutMs: number,
): Promise<void> {
  if (!(await hasProcFs())) return;
  const deadline = Date.now() + timeoutMs;
  while (!predicate((await readProcessInfo(pid))?.state)) {
    if (Date.now() >= deadline) {
      throw new ProcessTimeoutError(`process ${pid} did not become ${description} within ${timeoutMs} ms`);
    }
    await delay(RECHECK_INTERVAL_MS);
  }
}

function signalZero(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
