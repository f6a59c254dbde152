import { readdir, readFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { ProcessTimeoutError } from "./errors.js";

/** How often the process table is re-read while waiting for a state change. */
const RECHECK_INTERVAL_MS = 10;

/** One entry of the process table, as read from `/proc/<pid>/stat`. */
export interface ProcessInfo {
  /** Process id. */
  pid: number;
  /** Process group id. */
  pgid: number;
  /** One-letter state: R, S, D, T (stopped), t, Z (zombie), X (dead), … */
  state: string;
}

/** Tells whether this machine exposes a Linux-style `/proc`. */
export async function hasProcFs(): Promise<boolean> {
  try {
    await readFile("/proc/self/stat", "utf8");
    return true;
  } catch {
    return false;
  }
}

/** Reads `/proc/<pid>/stat`; undefined when the process does not exist (or no /proc). */
export async function readProcessInfo(pid: number): Promise<ProcessInfo | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // Format: "pid (comm) state ppid pgrp …"; comm may contain spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const pgid = Number(fields[2]);
  if (state === undefined || !Number.isFinite(pgid)) return undefined;
  return { pid, pgid, state };
}

/** Lists the live (not zombie, not dead) processes of process group `pgid`, using /proc. */
export async function listLiveGroupMembers(pgid: number): Promise<ProcessInfo[]> {
  const entries = await readdir("/proc");
  const members: ProcessInfo[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const info = await readProcessInfo(Number(entry));
    if (info !== undefined && info.pgid === pgid && info.state !== "Z" && info.state !== "X") members.push(info);
  }
  return members;
}

/**
 * Tells whether any live process remains in group `pgid`. Without /proc it falls back to
 * `kill(-pgid, 0)`, which also counts zombies.
 */
export async function isGroupAlive(pgid: number): Promise<boolean> {
  if (await hasProcFs()) return (await listLiveGroupMembers(pgid)).length > 0;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until no live process remains in group `pgid` (re-reading the process table),
 * failing with {@link ProcessTimeoutError} after `timeoutMs`.
 */
export async function waitForGroupGone(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await isGroupAlive(pgid)) {
    if (Date.now() >= deadline) {
      throw new ProcessTimeoutError(`process group ${pgid} still has live processes after ${timeoutMs} ms`);
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
