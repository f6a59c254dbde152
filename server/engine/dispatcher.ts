import type { Logger } from "../observability/logger.js";
import type { LeaseAllocation, LeasedRecord, QueueStore } from "../redis/queue-store.js";
import type { DurableTransitions } from "./durable-transitions.js";
import { expiredTransition } from "./expiry.js";
import { randomToken } from "./ids.js";
import { PeriodicTask } from "./periodic-task.js";
import type { Service } from "./service.js";
import type { DispatchSession } from "./session.js";
import { bareTransition, type TaskTransition } from "./task-records.js";

/**
 * How long a RUNNING mark waits before it is written to Postgres: a task that finishes
 * sooner is recorded once, by its outcome.
 */
const RUNNING_MARK_DELAY_MS = 100;

/** Options for {@link Dispatcher}. */
export interface DispatcherOptions {
  store: QueueStore;
  transitions: DurableTransitions;
  logger: Logger;
  leaseDurationMs: number;
  /** Backstop: how often queues with waiting credit are re-checked, ms. */
  pollMs: number;
  /** Most tasks leased by one script call. */
  maxLeaseBatch?: number;
  /**
   * Called when tasks were leased to a session that closed meanwhile: release its leases in
   * `queues`, recording `cause` on the attempts.
   */
  releaseSession: (sessionId: string, queues: readonly string[], cause: string) => void;
  /** Told about every delivered batch (metrics). */
  onDelivered?: (queue: string, tasks: LeasedRecord[]) => void;
}

/**
 * Pushes queued tasks to connected workers within their credits. Dispatch is driven by
 * events — a task became ready (locally or on another server), a worker granted credit —
 * with a slow poll as a backstop only. One lease pass per queue runs at a time; a wake
 * during a pass makes it run again.
 */
export class Dispatcher implements Service {
  private readonly sessions = new Map<string, DispatchSession>();
  private readonly holders = new Map<string, DispatchSession>();
  private readonly running = new Set<string>();
  private readonly rerun = new Set<string>();
  private readonly rotation = new Map<string, number>();
  private readonly starved = new Set<string>();
  /** Queues whose last lease pass found them empty, with no sign of new tasks since. */
  private readonly drained = new Set<string>();
  private idleWaiters: Array<() => void> = [];
  private readonly passes = new Set<Promise<void>>();
  private readonly poller: PeriodicTask;
  private stopped = false;

  constructor(private readonly options: DispatcherOptions) {
    this.poller = new PeriodicTask({
      name: "dispatch poll",
      run: async () => {
        for (const queue of this.queuesWithCredit()) this.wake(queue);
      },
      intervalMs: options.pollMs,
      logger: options.logger,
    });
  }

  /** Starts the backstop poll. */
  start(): void {
    this.poller.start();
  }

  /** Stops leasing (in-flight passes finish) and the poll. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.poller.stop();
    await Promise.allSettled([...this.passes]);
  }

  /**
   * Resolves once no session holds a task (every lease answered, ended or released), or
   * after `timeoutMs`: a draining server waits on it for in-flight results.
   */
  whenNothingHeld(timeoutMs: number): Promise<void> {
    if (this.holders.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.idleWaiters.push(done);
    });
  }

  /** Credits granted and not yet used, over all sessions. */
  get waitingCredits(): number {
    let total = 0;
    for (const s of this.sessions.values()) total += s.credits;
    return total;
  }

  /** Connected sessions. */
  get connected(): ReadonlyMap<string, DispatchSession> {
    return this.sessions;
  }

  /** Adds a session (after its hello). */
  register(session: DispatchSession): void {
    this.sessions.set(session.id, session);
  }

  /** Removes a session; its leases are released by the caller. */
  unregister(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    this.sessions.delete(sessionId);
    if (session) for (const id of session.held.keys()) this.holders.delete(id);
    this.notifyIfNothingHeld();
  }

  /**
   * Leases that ended (expired, released, answered, or a recorded result's): their holders let
   * go of them. A session holding the task under another token keeps it: that is a newer lease
   * (the task leased again, to it or another session, while the end was being committed), or
   * the result was a stale or forged one for a lease that still stands.
   */
  forget(leases: Iterable<{ id: string; leaseToken: string }>): void {
    for (const { id, leaseToken } of leases) {
      const holder = this.holders.get(id);
      if (!holder || holder.held.get(id)?.leaseToken !== leaseToken) continue;
      holder.held.delete(id);
      this.holders.delete(id);
    }
    this.notifyIfNothingHeld();
  }

  /**
   * Leases that ended in Redis (results fenced, not yet committed): their sessions let go of
   * the tasks at once, and sessions with credit waiting get their room filled.
   */
  leasesEnded(ends: ReadonlyArray<{ id: string; sessionId: string; leaseToken: string }>): void {
    const freed = new Set<DispatchSession>();
    for (const end of ends) {
      const holder = this.holders.get(end.id);
      if (!holder || holder.id !== end.sessionId || holder.held.get(end.id)?.leaseToken !== end.leaseToken) continue;
      holder.held.delete(end.id);
      this.holders.delete(end.id);
      freed.add(holder);
    }
    this.notifyIfNothingHeld();
    for (const session of freed) if (session.credits > 0) this.wakeSession(session);
  }

  private notifyIfNothingHeld(): void {
    if (this.holders.size > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Adds credit to a session and wakes its queues. Unused credit is capped at the session's
   * capacity: a worker's grant may run ahead of the recording of its results, and a worker
   * cannot bank more than it could ever hold.
   */
  grant(session: DispatchSession, credits: number): void {
    session.credits = Math.min(session.capacity, session.credits + credits);
    this.wakeSession(session);
  }

  /**
   * Gives back credit allocated to a lease pass that did not use it, within the capacity (a
   * grant that arrived during the pass may have refilled it meanwhile).
   */
  private refund(session: DispatchSession, credits: number): void {
    session.credits = Math.min(session.capacity, session.credits + credits);
  }

  /**
   * The session has room or credit again: a lease pass on each of its queues, except those
   * known to be empty (a pass found them empty and no task has arrived since).
   */
  wakeSession(session: DispatchSession): void {
    for (const queue of session.queues) this.wakeForRoom(queue);
  }

  /**
   * Tasks may have become ready in `queue` (submitted, requeued, promoted, recovered, or
   * announced by another server; the backstop poll counts as well): asks for a lease pass.
   */
  wake(queue: string): void {
    this.drained.delete(queue);
    this.schedulePass(queue);
  }

  private wakeForRoom(queue: string): void {
    if (!this.drained.has(queue)) this.schedulePass(queue);
  }

  /** Runs a lease pass on `queue`, or another one after the pass running now (coalesced). */
  private schedulePass(queue: string): void {
    if (this.stopped) return;
    if (this.running.has(queue)) {
      this.rerun.add(queue);
      return;
    }
    this.running.add(queue);
    const pass = this.runPasses(queue);
    this.passes.add(pass);
    void pass.finally(() => this.passes.delete(pass));
  }

  /** Credit came back to a session: wake its queues whose passes found no room. */
  private wakeStarved(session: DispatchSession): void {
    for (const queue of session.queues) {
      if (this.starved.delete(queue)) this.wakeForRoom(queue);
    }
  }

  private queuesWithCredit(): Set<string> {
    const queues = new Set<string>();
    for (const s of this.sessions.values()) {
      if (s.credits > 0 && !s.closed && !s.draining && !s.blocked) for (const q of s.queues) queues.add(q);
    }
    return queues;
  }

  private async runPasses(queue: string): Promise<void> {
    try {
      do {
        this.rerun.delete(queue);
        while (!this.stopped && (await this.leaseOnce(queue))) {
          // a full batch was leased: there may be more
        }
      } while (this.rerun.has(queue) && !this.stopped);
    } catch (error) {
      this.options.logger.warn({ err: error, queue }, "dispatch pass failed; the poll will retry");
    } finally {
      this.running.delete(queue);
    }
  }

  /** One script call. Returns true when every requested task was found (try again). */
  private async leaseOnce(queue: string): Promise<boolean> {
    const allocations = this.allocate(queue);
    if (allocations.length === 0) return false;
    const requested = allocations.reduce((n, a) => n + a.count, 0);
    let leased: LeasedRecord[];
    try {
      const result = await this.options.store.lease(queue, allocations, this.options.leaseDurationMs);
      leased = result.leased;
      if (result.expired.length > 0) {
        const now = new Date();
        this.options.transitions.writeInBackground(result.expired.map((id) => expiredTransition(id, now)));
      }
    } catch (error) {
      for (const a of allocations) {
        const s = this.sessions.get(a.sessionId);
        if (s) this.refund(s, a.count);
      }
      throw error;
    }
    // Fewer tasks than asked for: the queue was empty when the script ran, and room freed
    // later need not look again. Tasks announced meanwhile (a wake during this pass) make the
    // pass run again, which looks anew.
    if (leased.length < requested) this.drained.add(queue);
    this.deliver(allocations, leased);
    // Next pass starts after the last session that got a task.
    const served = new Set(leased.map((t) => t.sessionId)).size;
    this.rotation.set(queue, (this.rotation.get(queue) ?? 0) + served);
    return leased.length === requested;
  }

  /**
   * Splits up to one batch of credit among the queue's sessions: an even share each (the
   * remainder to whoever has credit left), starting after the last session served. The lease
   * script deals the tasks it finds in rotation over these allocations, so that when tasks
   * are scarce every stream gets some.
   */
  private allocate(queue: string): LeaseAllocation[] {
    const subscribed = [...this.sessions.values()].filter((s) => !s.closed && !s.draining && !s.blocked && s.queues.includes(queue));
    const eligible = subscribed.filter((s) => room(s) > 0);
    if (eligible.length === 0) {
      // Sessions exist but have no room: wake this queue when one of them gets some back.
      if (subscribed.length > 0) this.starved.add(queue);
      return [];
    }
    const start = (this.rotation.get(queue) ?? 0) % eligible.length;
    const ordered = [...eligible.slice(start), ...eligible.slice(0, start)];
    let remaining = this.options.maxLeaseBatch ?? 500;
    const counts = new Map<DispatchSession, number>();
    while (remaining > 0) {
      const wanting = ordered.filter((s) => room(s) - (counts.get(s) ?? 0) > 0);
      if (wanting.length === 0) break;
      const share = Math.max(1, Math.floor(remaining / wanting.length));
      for (const s of wanting) {
        if (remaining === 0) break;
        const count = Math.min(share, room(s) - (counts.get(s) ?? 0), remaining);
        counts.set(s, (counts.get(s) ?? 0) + count);
        remaining -= count;
      }
    }
    const allocations: LeaseAllocation[] = [];
    for (const [s, count] of counts) {
      s.credits -= count;
      // A fresh random token prefix per session: a worker cannot derive another's tokens.
      allocations.push({ sessionId: s.id, workerId: s.workerId, count, tokenPrefix: randomToken() });
    }
    return allocations;
  }

  private deliver(allocations: LeaseAllocation[], leased: LeasedRecord[]): void {
    const bySession = new Map<string, LeasedRecord[]>();
    for (const record of leased) {
      const list = bySession.get(record.sessionId) ?? [];
      list.push(record);
      bySession.set(record.sessionId, list);
    }
    const running: TaskTransition[] = [];
    for (const a of allocations) {
      const tasks = bySession.get(a.sessionId) ?? [];
      const session = this.sessions.get(a.sessionId);
      if (!session || session.closed) {
        // The stream ended while the script ran: give its tasks back at once.
        if (tasks.length > 0) this.options.releaseSession(a.sessionId, [tasks[0]!.queue], "it closed while its tasks were being leased");
        continue;
      }
      const unused = a.count - tasks.length;
      this.refund(session, unused);
      if (unused > 0) this.wakeStarved(session);
      if (tasks.length === 0) continue;
      for (const t of tasks) {
        session.held.set(t.id, { queue: t.queue, leaseToken: t.leaseToken });
        this.holders.set(t.id, session);
      }
      // The worker first; the bookkeeping after.
      session.deliver(tasks);
      for (const t of tasks) running.push(runningTransition(t, a.workerId));
      this.options.onDelivered?.(tasks[0]!.queue, tasks);
    }
    this.options.transitions.writeDeferred(running, RUNNING_MARK_DELAY_MS);
  }
}

function runningTransition(t: LeasedRecord, workerId: string): TaskTransition {
  return { ...bareTransition(t.id, "RUNNING", t.attempt), workerId, startedAt: new Date() };
}

/** How many more tasks a session can take now: its credit, bounded by its capacity. */
function room(s: DispatchSession): number {
  return Math.min(s.credits, s.capacity - s.held.size);
}
