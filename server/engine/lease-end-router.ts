import type { LeaseEnd } from "../redis/queue-store.js";
import type { Dispatcher } from "./dispatcher.js";
import type { CancelNotice, Notifier } from "./notifier.js";
import type { Scheduler } from "./scheduler.js";

/** Who is told about lease ends, ready queues, due times and cancels (see {@link LeaseEndRouter}). */
export interface LeaseEndTargets {
  /** This server's dispatch: wakes queues, forgets ended leases, reaches connected streams. */
  dispatcher: Pick<Dispatcher, "wake" | "forget" | "connected">;
  /** Arms the back-off timers of this server. */
  scheduler: Pick<Scheduler, "notifyDue">;
  /** Tells the other servers. */
  notifier: Pick<Notifier, "ready" | "due" | "cancel">;
  /** Told about every lease end (metrics). */
  record: (ends: readonly LeaseEnd[]) => void;
}

/** A router used before {@link LeaseEndRouter.attach}: the composition root is wired wrong. */
export class LeaseEndRouterUnwiredError extends Error {
  constructor() {
    super("lease-end router used before its targets were attached");
    this.name = "LeaseEndRouterUnwiredError";
  }
}

/** Whether other servers are told too. */
export interface Announce {
  /** True: the other servers are told as well (through the notifier). */
  announce: boolean;
}

/**
 * Routes what follows a lease end (and the same signals from elsewhere) to the components
 * concerned: requeued tasks wake their queues here and on the other servers; a failure's
 * back-off arms the schedulers; the dispatcher forgets ended leases; a lease that timed out
 * or expired, and may still run on a live worker, is cancelled on its stream. The router
 * exists before the components it tells (they are told by components it is given to), so
 * they are attached once built, before anything starts.
 */
export class LeaseEndRouter {
  private targets: LeaseEndTargets | undefined;

  /** Names who is told; called once, before any component starts. */
  attach(targets: LeaseEndTargets): void {
    this.targets = targets;
  }

  /** Leases ended (reaped, released, answered or cancelled). */
  leaseEnds(ends: LeaseEnd[]): void {
    const t = this.attached();
    t.record(ends);
    this.ready([...new Set(ends.filter((e) => e.state === "QUEUED").map((e) => e.queue))], { announce: true });
    const dues = ends.filter((e) => e.state === "FAILED").map((e) => e.dueMs);
    if (dues.length > 0) this.due(Math.min(...dues), { announce: true });
    t.dispatcher.forget(ends);
    // A lease that timed out or expired may still be running on a live worker: tell it to stop.
    for (const e of ends) {
      if ((e.how === "timeout" || e.how === "expired") && e.sessionId) {
        const reason = e.how === "timeout" ? "attempt timed out" : "lease expired";
        this.cancel({ sessionId: e.sessionId, taskId: e.id, leaseToken: e.leaseToken, reason }, { announce: true });
      }
    }
  }

  /** `queues` gained ready tasks: wakes their dispatch here (and announces them). */
  ready(queues: string[], options: Announce): void {
    const t = this.attached();
    for (const q of queues) t.dispatcher.wake(q);
    if (options.announce) t.notifier.ready(queues);
  }

  /** A delayed task falls due at `dueMs`: arms the scheduler here (and tells the others). */
  due(dueMs: number, options: Announce): void {
    const t = this.attached();
    t.scheduler.notifyDue(dueMs);
    if (options.announce) t.notifier.due(dueMs);
  }

  /** Cancels a lease on its stream if connected here (and tells the others, where it may be). */
  cancel(notice: CancelNotice, options: Announce): void {
    const t = this.attached();
    t.dispatcher.connected.get(notice.sessionId)?.cancel(notice.taskId, notice.leaseToken, notice.reason);
    if (options.announce) t.notifier.cancel(notice);
  }

  private attached(): LeaseEndTargets {
    if (!this.targets) throw new LeaseEndRouterUnwiredError();
    return this.targets;
  }
}
