import type { RedisClient } from "./connection.js";
import { dispatchedTaskIds } from "./dispatch-listing.js";
import { DispatchKeys, type QueueKeys } from "./keys.js";
import { DISPATCH_LAYOUT_VERSION } from "./layout.js";
import type { NewTask } from "../engine/task-records.js";
import { settleLeaseEnds, type LeaseEndsPartlyFailedError } from "./lease-ends-settled.js";
import { parseCompleteReply, parseLeaseReply } from "./replies.js";
import { loadScripts, type ScriptCallObserver, type ScriptName, type ScriptRunner } from "./scripts.js";
import { encodeTaskDescriptor, readyScore } from "./task-descriptor.js";

import type { EnqueueItem, LeaseAllocation, QueueLimits, LeaseResult, LeaseEnd, CompletionInput, CancelOutcome, TaskRef, Promoted, ProbeFinding } from "./dispatch-records.js";

/** The records the store takes and returns, declared in dispatch-records.ts. */
export type { EnqueueItem, LeaseAllocation, QueueLimits, LeaseResult, LeasedRecord, LeaseEndHow, LeaseEnd, CompletionInput, CancelOutcome, TaskRef, Promoted, ProbeFinding } from "./dispatch-records.js";

/** Options for {@link QueueStore}. */
export interface QueueStoreOptions {
  redis: RedisClient;
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
 * The Redis dispatch state, behind typed calls to the Lua scripts. Every script call works on
 * one queue's keys (one hash slot) and on many tasks at once; calls spanning several queues
 * send one script call per queue, back to back (one round trip).
 */
export class QueueStore {
  private readonly run: ScriptRunner;
  private readonly now: () => number;
  private readonly random: () => number;
  readonly prefix: string;
  /** Every key name of this prefix. */
  readonly keys: DispatchKeys;

  constructor(private readonly options: QueueStoreOptions) {
    this.run = loadScripts(options.redis, options.observeScript);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.prefix = options.prefix;
    this.keys = new DispatchKeys(options.prefix);
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
    const now = String(this.now());
    const replace = options.replaceFinished ? "1" : "0";
    const byQueue = groupBy(items, (item) => item.task.queue);
    const queues = [...byQueue.keys()];
    const [, ...replies] = await Promise.all(
      this.writeTogether(() => [
        // The registry first: a queue holding tasks is always found by the sweeps over queues.
        this.options.redis.sadd(this.keys.queues, ...queues),
        ...queues.map((queue) => {
          const qk = this.keys.queue(queue);
          const args: Array<string | Buffer> = [qk.tagged, now, replace, queue];
          for (const { task, attempt, dueMs } of byQueue.get(queue)!) {
            args.push(
              task.id,
              task.type,
              String(readyScore(task.priority, task.createdMs)),
              enqueueExtras(task, attempt, dueMs),
              encodeTaskDescriptor(task),
              // An empty payload as a string keeps the whole command a string (no Buffer assembly).
              task.payload.length === 0 ? "" : task.payload,
            );
          }
          return this.run("enqueue", qk.scriptKeys, args) as Promise<[number, number]>;
        }),
      ]),
    );
    let added = 0;
    const readyQueues: string[] = [];
    (replies as Array<[number, number]>).forEach((reply, i) => {
      added += Number(reply[0]);
      if (Number(reply[1]) === 1) readyQueues.push(queues[i]!);
    });
    return { added, readyQueues };
  }

  /**
   * Leases ready tasks of `queue` to the given sessions, dealt in rotation in allocation order,
   * each task to a session that takes its type (see lease.lua). Tasks found past their start
   * deadline are expired instead and returned in `expired`. `limits` (see lease.lua) bound
   * the queue's RUNNING tasks and its starts per period, across every server.
   */
  async lease(queue: string, allocations: LeaseAllocation[], leaseMs: number, limits?: QueueLimits): Promise<LeaseResult> {
    const qk = this.keys.queue(queue);
    const keys = [...qk.scriptKeys, qk.rate];
    const rate = limits?.rateLimit;
    const args: Array<string | number> = [
      qk.tagged,
      this.now(),
      leaseMs,
      limits?.maxConcurrency ?? 0,
      rate ? rate.limit : 0,
      rate ? rate.periodMs : 0,
      limits?.maxPerKey ?? 0,
    ];
    for (const a of allocations) {
      keys.push(qk.session(a.sessionId));
      args.push(a.sessionId, a.workerId, a.count, a.tokenPrefix, a.taskTypes?.join(" ") ?? "");
    }
    const reply = (await this.run("lease", keys, args, true)) as Array<Buffer | number>;
    return parseLeaseReply(reply, queue, allocations);
  }

  /** Ends never-started tasks past their start deadline; returns them and the next deadline. */
  async expire(limit: number): Promise<{ expired: string[]; nextDeadlineMs: number | null }> {
    const replies = await this.eachKnownQueue((qk, now) => this.run("expire", qk.scriptKeys, [qk.tagged, now, limit]) as Promise<unknown[]>);
    const expired: string[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const reply of replies) {
      for (let i = 1; i < reply.length; i++) expired.push(String(reply[i]));
      if (Number(reply[0]) >= 0) next = Math.min(next, Number(reply[0]));
    }
    return { expired, nextDeadlineMs: next === Number.POSITIVE_INFINITY ? null : next };
  }

  /** Heartbeat: extends every lease the session holds in `queues`. Returns how many. */
  async extend(sessionId: string, queues: readonly string[], leaseMs: number): Promise<number> {
    const now = this.now();
    const replies = await this.eachQueue(queues, (qk) =>
      this.run("extend", [...qk.scriptKeys, qk.session(sessionId)], [qk.tagged, now, leaseMs, sessionId]),
    );
    return replies.reduce((n: number, r) => n + Number(r), 0);
  }

  /**
   * Fences and records results. `null` marks a stale result (nothing changed): its lease is
   * not current, or another session holds it, or the token is wrong.
   */
  async complete(inputs: CompletionInput[]): Promise<Array<LeaseEnd | null>> {
    const ends = new Array<LeaseEnd | null>(inputs.length).fill(null);
    const byQueue = groupBy(
      inputs.map((input, at) => ({ input, at })).filter((c) => c.input.queue !== ""),
      (c) => c.input.queue,
    );
    if (byQueue.size === 0) return ends;
    const now = this.now();
    const groups = [...byQueue.values()];
    const replies = await this.eachQueue([...byQueue.keys()], (qk, queue) => {
      const args: Array<string | number> = [qk.tagged, now, this.options.serverId];
      for (const { input: c } of byQueue.get(queue)!) {
        args.push(c.id, c.sessionId, c.leaseToken, c.how === "succeeded" ? "s" : c.how === "fatal" ? "x" : this.random());
      }
      return this.run("complete", qk.scriptKeys, args) as Promise<unknown[]>;
    });
    replies.forEach((reply, g) => {
      const group = groups[g]!;
      const parsed = parseCompleteReply(reply, group.map((c) => c.input));
      group.forEach((c, i) => (ends[c.at] = parsed[i]!));
    });
    return ends;
  }

  /**
   * The ids of the leases past their deadline as of `asOfMs` (this store's clock), by queue (at
   * most `limit` per queue): what {@link reap} with that `asOfMs` would end, read without
   * changing anything. Queues with none are left out.
   */
  async expiredLeases(limit: number): Promise<{ asOfMs: number; expired: Map<string, string[]> }> {
    const expired = new Map<string, string[]>();
    let asOfMs = this.now();
    await this.eachKnownQueue(async (qk, now, queue) => {
      asOfMs = now;
      const ids = await this.options.redis.zrangebyscore(qk.leases, "-inf", now, "LIMIT", 0, limit);
      if (ids.length > 0) expired.set(queue, ids);
    });
    return { asOfMs, expired };
  }

  /**
   * Ends expired leases (at most `limit` per queue) of `queues`, or of every known queue; with
   * `asOfMs`, only those expired by then (what {@link expiredLeases} listed), else by now. When
   * some queues fail, the others' lease ends come in a {@link LeaseEndsPartlyFailedError}.
   */
  async reap(limit: number, queues?: readonly string[], asOfMs?: number): Promise<LeaseEnd[]> {
    const names = queues ?? (await this.options.redis.smembers(this.keys.queues));
    const now = asOfMs ?? this.now();
    return settleLeaseEnds(
      this.eachQueueCalls(names, (qk) => this.run("reap", qk.scriptKeys, [qk.tagged, now, this.options.serverId, limit]) as Promise<unknown[]>),
    );
  }

  /**
   * Puts back every task a closed session held in `queues` (the queues its hello named). When
   * some queues fail, the others' lease ends come in a {@link LeaseEndsPartlyFailedError}.
   */
  async release(sessionId: string, queues: readonly string[]): Promise<LeaseEnd[]> {
    const now = this.now();
    return settleLeaseEnds(
      this.eachQueueCalls(
        queues,
        (qk) => this.run("release", [...qk.scriptKeys, qk.session(sessionId)], [qk.tagged, now, this.options.serverId, sessionId]) as Promise<unknown[]>,
      ),
    );
  }

  /** Moves due delayed tasks to their ready queues; returns them and the next due time. */
  async promote(limit: number): Promise<{ promoted: Promoted[]; nextDueMs: number | null }> {
    const queues: string[] = [];
    const replies = await this.eachKnownQueue((qk, now, queue) => {
      queues.push(queue);
      return this.run("promote", qk.scriptKeys, [qk.tagged, now, limit]) as Promise<unknown[]>;
    });
    const promoted: Promoted[] = [];
    let next = Number.POSITIVE_INFINITY;
    replies.forEach((reply, q) => {
      for (let i = 1; i < reply.length; i += 3) {
        promoted.push({
          id: String(reply[i]),
          queue: queues[q]!,
          attempt: Number(reply[i + 1]),
          previous: reply[i + 2] as Promoted["previous"],
        });
      }
      if (Number(reply[0]) >= 0) next = Math.min(next, Number(reply[0]));
    });
    return { promoted, nextDueMs: next === Number.POSITIVE_INFINITY ? null : next };
  }

  /** Cancels one task of `queue` in the dispatch state. */
  async cancel(queue: string, id: string, reason: string): Promise<CancelOutcome> {
    const qk = this.keys.queue(queue);
    const reply = (await this.run("cancel", qk.scriptKeys, [qk.tagged, this.now(), id, reason])) as string[];
    if (reply[0] === "running") return { kind: "running", sessionId: reply[1]!, leaseToken: reply[2]! };
    return { kind: reply[0] as "removed" | "absent" | "finished" };
  }

  /**
   * For tasks Postgres says are unfinished: those the dispatch state does not back (see
   * probe.lua for the kinds; a task finished here whose recording server is gone is 'lost',
   * and so is one in `unwritten`, whose outcome this server failed to record: by id, when the
   * recording failed (epoch ms). A task of `unwritten` that finished after that ended a later
   * lease, whose own writer is responsible for it). Tasks that are fine are not returned.
   */
  async inspect(tasks: readonly TaskRef[], unwritten?: ReadonlyMap<string, number>): Promise<ProbeFinding[]> {
    if (tasks.length === 0) return [];
    const byQueue = groupBy(tasks, (t) => t.queue);
    const now = this.now();
    const replies = await this.eachQueue(
      [...byQueue.keys()],
      (qk, queue) => this.run("probe", qk.scriptKeys, [qk.tagged, now, ...byQueue.get(queue)!.map((t) => t.id)]) as Promise<unknown[][]>,
    );
    const rows = replies.flat();
    // Finished here: lost only if the server writing the outcome is gone.
    const writers = [...new Set(rows.filter((r) => r[1] === "done").map((r) => String(r[3])))].filter((id) => id !== "");
    const alive = new Set<string>();
    if (writers.length > 0) {
      const values = await this.options.redis.mget(writers.map((id) => this.keys.server(id)));
      writers.forEach((id, i) => values[i] !== null && alive.add(id));
    }
    const findings: ProbeFinding[] = [];
    for (const r of rows) {
      // Finished, its writer alive: that writer records the outcome, unless it is this server's
      // failed recording (the task finished no later than the failure).
      const failedAtMs = unwritten?.get(String(r[0]));
      const failedHere = failedAtMs !== undefined && Number(r[4]) <= failedAtMs;
      if (r[1] === "done" && alive.has(String(r[3])) && !failedHere) continue;
      findings.push({ id: String(r[0]), kind: r[1] === "done" ? "lost" : (r[1] as ProbeFinding["kind"]), attempt: Number(r[2]) });
    }
    return findings;
  }

  /** The queues listed in the queue registry. */
  knownQueues(): Promise<string[]> {
    return this.options.redis.smembers(this.keys.queues);
  }

  /** The ids of `queue`'s leased, delayed and ready tasks, in pages (see dispatch-listing.ts). */
  dispatchedTaskIds(queue: string): AsyncGenerator<string[]> {
    return dispatchedTaskIds(this.options.redis, this.keys.queue(queue));
  }

  /**
   * Removes the dispatch state of tasks of `queue` that Postgres has finished (leased, queued or
   * delayed here because a failover lost the writes that ended them; see forget.lua): by id,
   * the finished marker to leave and the attempts Postgres has. Only leases granted before
   * `leasedBeforeMs` are removed. Returns how many tasks were removed.
   */
  async forgetFinished(
    queue: string,
    finished: ReadonlyMap<string, { marker: "done" | "cancelled" | "expired"; attempt: number }>,
    leasedBeforeMs = Number.POSITIVE_INFINITY,
  ): Promise<number> {
    if (finished.size === 0) return 0;
    const qk = this.keys.queue(queue);
    const args: string[] = [qk.tagged, String(this.now()), Number.isFinite(leasedBeforeMs) ? String(leasedBeforeMs) : ""];
    for (const [id, { marker, attempt }] of finished) args.push(id, marker, String(attempt));
    return Number(await this.run("forget", qk.scriptKeys, args));
  }

  /** Lists `queues` in the queue registry (the sweeps over queues go through it). */
  async registerQueues(queues: readonly string[]): Promise<void> {
    await this.options.redis.sadd(this.keys.queues, ...new Set(queues));
  }

  /** Sets the marker whose disappearance shows Redis lost its data. Returns true if it was missing. */
  async ensureEpochMarker(): Promise<boolean> {
    const set = await this.options.redis.set(this.keys.epoch, String(this.now()), "NX");
    if (set !== "OK") return false;
    // Redis lost its data: the state about to be rebuilt has this server's layout.
    await this.options.redis.set(this.keys.layout, DISPATCH_LAYOUT_VERSION, "NX");
    return true;
  }

  /** One script call per queue in `queues`, sent back to back; the replies in that order. */
  private eachQueue<T>(queues: readonly string[], call: (qk: QueueKeys, queue: string) => Promise<T>): Promise<T[]> {
    return Promise.all(this.eachQueueCalls(queues, call));
  }

  /** {@link eachQueue}'s calls, each settling on its own. */
  private eachQueueCalls<T>(queues: readonly string[], call: (qk: QueueKeys, queue: string) => Promise<T>): Array<Promise<T>> {
    return this.writeTogether(() => queues.map((queue) => call(this.keys.queue(queue), queue)));
  }

  /** {@link eachQueue} over every queue in the registry (for the periodic sweeps). */
  private async eachKnownQueue<T>(call: (qk: QueueKeys, now: number, queue: string) => Promise<T>): Promise<T[]> {
    const queues = await this.options.redis.smembers(this.keys.queues);
    const now = this.now();
    return Promise.all(this.writeTogether(() => queues.map((queue) => call(this.keys.queue(queue), now, queue))));
  }
}

/** Items grouped by `key`, groups in first-seen order. */
function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** enqueue.lua's extras field: '' when the task is due now, new and has no deadline, timeout or concurrency key. */
function enqueueExtras(task: NewTask, attempt: number, dueMs: number): string {
  const startDeadlineMs = task.startDeadline ? task.startDeadline.getTime() : 0;
  const timeoutMs = task.timeoutMs ?? 0;
  const key = task.concurrencyKey ?? "";
  if (dueMs <= 0 && attempt === 0 && startDeadlineMs <= 0 && timeoutMs <= 0 && key === "") return "";
  return `${Math.max(0, dueMs)}:${attempt}:${Math.max(0, startDeadlineMs)}:${Math.max(0, timeoutMs)}:${key}`;
}
