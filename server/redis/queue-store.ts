import type { Redis } from "ioredis";
import { DISPATCH_LAYOUT_VERSION } from "./layout.js";
import type { NewTask, TraceContext } from "../engine/task-records.js";
import { parseCompleteReply, parseLeaseEnds, parseLeaseReply } from "./replies.js";
import { loadScripts, type ScriptCallObserver, type ScriptName, type ScriptRunner } from "./scripts.js";
import { encodeTaskDescriptor, readyScore } from "./task-descriptor.js";

/** A task to put into the dispatch state (new, or rebuilt from Postgres). */
export interface EnqueueItem {
  task: NewTask;
  /** Attempts already made (0 for a new task). */
  attempt: number;
  /** Not before this time (ms); 0 = now. */
  dueMs: number;
}

/** Which sessions want how many tasks of a queue. */
export interface LeaseAllocation {
  sessionId: string;
  workerId: string;
  count: number;
  /**
   * Random prefix of the lease tokens this allocation's tasks get (`<prefix>.<k>`), fresh for
   * each allocation so that no session can tell another's tokens from its own.
   */
  tokenPrefix: string;
}

/** A task leased to a session by {@link QueueStore.lease}. */
export interface LeasedRecord {
  sessionId: string;
  queue: string;
  id: string;
  leaseToken: string;
  attempt: number;
  deadlineMs: number;
  type: string;
  payloadFormat: number;
  payload: Buffer;
  maxAttempts: number;
  timeoutMs: number;
  labels: Record<string, string>;
  createdMs: number;
  /** The submit's trace context, when it carried one (handed to the worker). */
  trace?: TraceContext;
}

/** How a lease ended, as the scripts report it. */
export type LeaseEndHow = "succeeded" | "failed" | "fatal" | "expired" | "timeout" | "lost";

/** New state of a task whose lease ended. */
export interface LeaseEnd {
  id: string;
  state: "SUCCEEDED" | "FAILED" | "QUEUED" | "DEAD" | "CANCELLED";
  attempt: number;
  workerId: string;
  startedMs: number;
  /** For FAILED: when the retry is due (ms). */
  dueMs: number;
  how: LeaseEndHow;
  queue: string;
  /** Session that held the lease. */
  sessionId: string;
  /** The lease that ended. */
  leaseToken: string;
}

/** A result to fence and record. */
export interface CompletionInput {
  id: string;
  /** The session (stream) that reported it: only the one holding the lease counts. */
  sessionId: string;
  leaseToken: string;
  how: "succeeded" | "failed" | "fatal";
}

/** Outcome of {@link QueueStore.cancel}. */
export type CancelOutcome =
  | { kind: "removed" }
  | { kind: "absent" }
  | { kind: "finished" }
  | { kind: "running"; sessionId: string; leaseToken: string };

/** A task moved from the delayed set to its ready queue. */
export interface Promoted {
  id: string;
  queue: string;
  attempt: number;
  previous: "scheduled" | "failed";
}

/** What recovery must do about one unfinished task (see probe.lua). */
export interface ProbeFinding {
  id: string;
  kind: "absent" | "lost" | "cancelled" | "expired";
  /** The attempt count Redis had (0 when absent). */
  attempt: number;
}

/** Options for {@link QueueStore}. */
export interface QueueStoreOptions {
  redis: Redis;
  prefix: string;
  /** Clock in ms (injected so tests can control time). */
  now?: () => number;
  /** Source of jitter in [0,1). */
  random?: () => number;
  /** This server's id, recorded on the outcomes it will write to Postgres. */
  serverId: string;
  /** Told about every script call, by script (metrics). */
  observeScript?: (name: ScriptName) => ScriptCallObserver;
}

/**
 * The Redis dispatch state, behind typed calls to the Lua scripts. Every call works on
 * many tasks at once (one round trip).
 */
export class QueueStore {
  private readonly run: ScriptRunner;
  private readonly now: () => number;
  private readonly random: () => number;
  readonly prefix: string;

  constructor(private readonly options: QueueStoreOptions) {
    this.run = loadScripts(options.redis, options.observeScript);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.prefix = options.prefix;
  }

  /**
   * Runs `send`, whose commands then leave in one socket write instead of one each (the
   * socket is corked around it); `send` must not wait for anything. For commands issued back
   * to back, such as an enqueue and the lease pass right behind it.
   */
  writeTogether<T>(send: () => T): T {
    // ioredis keeps its connection's socket as `stream`.
    const socket = (this.options.redis as unknown as { stream?: { cork?(): void; uncork?(): void } }).stream;
    if (this.options.redis.status !== "ready" || !socket?.cork || !socket.uncork) return send();
    socket.cork();
    try {
      return send();
    } finally {
      socket.uncork();
    }
  }

  /**
   * Adds tasks, skipping any already present (with `replaceFinished`, a finished task's
   * leftover hash is replaced: a re-drive). Returns the queues that gained ready tasks.
   */
  async enqueue(items: EnqueueItem[], options: { replaceFinished?: boolean } = {}): Promise<{ added: number; readyQueues: string[] }> {
    if (items.length === 0) return { added: 0, readyQueues: [] };
    const args: Array<string | Buffer> = [this.prefix, String(this.now()), options.replaceFinished ? "1" : "0"];
    for (const { task, attempt, dueMs } of items) {
      args.push(
        task.id,
        task.queue,
        String(readyScore(task.priority, task.createdMs)),
        enqueueExtras(task, attempt, dueMs),
        encodeTaskDescriptor(task),
        // An empty payload as a string keeps the whole command a string (no Buffer assembly).
        task.payload.length === 0 ? "" : task.payload,
      );
    }
    const reply = (await this.run("enqueue", args)) as [number, ...string[]];
    return { added: Number(reply[0]), readyQueues: reply.slice(1) as string[] };
  }

  /**
   * Leases ready tasks of `queue` to the given sessions, dealt in rotation in allocation order
   * (see lease.lua). Tasks found past their start deadline are expired instead and returned
   * in `expired`.
   */
  async lease(queue: string, allocations: LeaseAllocation[], leaseMs: number): Promise<{ leased: LeasedRecord[]; expired: string[] }> {
    const args: Array<string | number> = [this.prefix, this.now(), leaseMs, queue];
    for (const a of allocations) args.push(a.sessionId, a.workerId, a.count, a.tokenPrefix);
    const reply = (await this.run("lease", args, true)) as Array<Buffer | number>;
    return parseLeaseReply(reply, queue, allocations);
  }

  /** Ends never-started tasks past their start deadline; returns them and the next deadline. */
  async expire(limit: number): Promise<{ expired: string[]; nextDeadlineMs: number | null }> {
    const reply = (await this.run("expire", [this.prefix, this.now(), limit])) as unknown[];
    const next = Number(reply[0]);
    return { expired: reply.slice(1).map(String), nextDeadlineMs: next < 0 ? null : next };
  }

  /** Heartbeat: extends every lease the session holds. Returns how many. */
  async extend(sessionId: string, leaseMs: number): Promise<number> {
    return Number(await this.run("extend", [this.prefix, this.now(), leaseMs, sessionId]));
  }

  /**
   * Fences and records results. `null` marks a stale result (nothing changed): its lease is
   * not current, or another session holds it.
   */
  async complete(inputs: CompletionInput[]): Promise<Array<LeaseEnd | null>> {
    if (inputs.length === 0) return [];
    const args: Array<string | number> = [this.prefix, this.now(), this.options.serverId];
    for (const c of inputs) args.push(c.id, c.sessionId, c.leaseToken, c.how === "succeeded" ? "s" : c.how === "fatal" ? "x" : this.random());
    const reply = (await this.run("complete", args)) as unknown[];
    return parseCompleteReply(reply, inputs);
  }

  /** Ends expired leases (at most `limit`). */
  async reap(limit: number): Promise<LeaseEnd[]> {
    const reply = (await this.run("reap", [this.prefix, this.now(), this.options.serverId, limit])) as unknown[];
    return parseLeaseEnds(reply);
  }

  /** Puts back every task a closed session held. */
  async release(sessionId: string): Promise<LeaseEnd[]> {
    const reply = (await this.run("release", [this.prefix, this.now(), this.options.serverId, sessionId])) as unknown[];
    return parseLeaseEnds(reply);
  }

  /** Moves due delayed tasks to their ready queues; returns them and the next due time. */
  async promote(limit: number): Promise<{ promoted: Promoted[]; nextDueMs: number | null }> {
    const reply = (await this.run("promote", [this.prefix, this.now(), limit])) as unknown[];
    const promoted: Promoted[] = [];
    for (let i = 1; i < reply.length; i += 4) {
      promoted.push({
        id: String(reply[i]),
        queue: String(reply[i + 1]),
        attempt: Number(reply[i + 2]),
        previous: reply[i + 3] as Promoted["previous"],
      });
    }
    const next = Number(reply[0]);
    return { promoted, nextDueMs: next < 0 ? null : next };
  }

  /** Cancels one task in the dispatch state. */
  async cancel(id: string, reason: string): Promise<CancelOutcome> {
    const reply = (await this.run("cancel", [this.prefix, this.now(), id, reason])) as string[];
    if (reply[0] === "running") return { kind: "running", sessionId: reply[1]!, leaseToken: reply[2]! };
    return { kind: reply[0] as "removed" | "absent" | "finished" };
  }

  /**
   * For tasks Postgres says are unfinished: those the dispatch state does not back (see
   * probe.lua for the kinds). Tasks that are fine are not returned.
   */
  async inspect(ids: string[]): Promise<ProbeFinding[]> {
    if (ids.length === 0) return [];
    const reply = (await this.run("probe", [this.prefix, this.now(), ...ids])) as unknown[][];
    return reply.map((r) => ({ id: String(r[0]), kind: r[1] as ProbeFinding["kind"], attempt: Number(r[2]) }));
  }

  /** Sets the marker whose disappearance shows Redis lost its data. Returns true if it was missing. */
  async ensureEpochMarker(): Promise<boolean> {
    const set = await this.options.redis.set(`${this.prefix}epoch`, String(this.now()), "NX");
    if (set !== "OK") return false;
    // Redis lost its data: the state about to be rebuilt has this server's layout.
    await this.options.redis.set(`${this.prefix}layout`, DISPATCH_LAYOUT_VERSION, "NX");
    return true;
  }
}

/** enqueue.lua's extras field: '' when the task is due now, new and has no deadline or timeout. */
function enqueueExtras(task: NewTask, attempt: number, dueMs: number): string {
  const startDeadlineMs = task.startDeadline ? task.startDeadline.getTime() : 0;
  const timeoutMs = task.timeoutMs ?? 0;
  if (dueMs <= 0 && attempt === 0 && startDeadlineMs <= 0 && timeoutMs <= 0) return "";
  return `${Math.max(0, dueMs)}:${attempt}:${Math.max(0, startDeadlineMs)}:${Math.max(0, timeoutMs)}`;
}
