import { DispatchKeys } from "../redis/keys.js";
import type { EventPublisher, EventSubscriber } from "../redis/event-channel.js";
import type { Logger } from "../observability/logger.js";

/** A cancel to deliver to whichever server holds the worker session. */
export interface CancelNotice {
  sessionId: string;
  taskId: string;
  leaseToken: string;
  reason: string;
}

/**
 * While no other server listens, "ready" announcements are skipped, except one probe per
 * this many ms: a server that starts meanwhile hears of new tasks within that time (and its
 * backstop poll finds them as soon).
 */
export const READY_PROBE_MS = 1_000;

/** Options for {@link Notifier}. */
export interface NotifierOptions {
  /** Connection used for PUBLISH (SPUBLISH in a Redis Cluster, see event-channel.ts). */
  publisher: EventPublisher;
  /** A dedicated connection for SUBSCRIBE (it cannot run other commands). */
  subscriber: EventSubscriber;
  prefix: string;
  serverId: string;
  logger: Logger;
  onReady: (queue: string) => void;
  onDue: (dueMs: number) => void;
  onCancel: (notice: CancelNotice) => void;
  /** Another server changed a queue's stored settings. */
  onSettings?: () => void;
  /** Another server created, changed or deleted a schedule. */
  onSchedules?: () => void;
  /** Another server created or revoked an API token. */
  onTokens?: () => void;
  /** Clock in ms (injected so tests can control time). */
  now?: () => number;
}

/**
 * Tells the other servers sharing Redis about events they must act on: tasks became ready
 * in a queue (so an idle worker anywhere gets them at once), a delayed task is due, a
 * running task was cancelled, or a queue's stored settings changed. Messages from this
 * server itself are ignored. "Ready" announcements, one per submit at low rates, are not sent
 * while PUBLISH reports that no other server listens (see {@link READY_PROBE_MS}), unless
 * forced (a resumed queue).
 */
export class Notifier {
  private readonly channel: string;
  private readonly pendingReady = new Set<string>();
  /** Whether the last "ready" announcement reached another server. */
  private othersListening = true;
  private lastReadyAt = Number.NEGATIVE_INFINITY;
  /** Whether the pending "ready" announcement must be sent whoever listens. */
  private forceReady = false;

  constructor(private readonly options: NotifierOptions) {
    this.channel = new DispatchKeys(options.prefix).eventsChannel;
  }

  /** Subscribes. */
  async start(): Promise<void> {
    this.options.subscriber.on("message", (_channel: string, message: string) => this.receive(message));
    await this.options.subscriber.subscribe(this.channel);
  }

  /** Unsubscribes. */
  async stop(): Promise<void> {
    await this.options.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }

  /**
   * Announces queues that gained ready tasks (coalesced: one message per tick). With `force`
   * (a resumed queue) the message is sent even while no other server seemed to listen.
   */
  ready(queues: string[], options: { force?: boolean } = {}): void {
    if (queues.length === 0) return;
    if (options.force) this.forceReady = true;
    const first = this.pendingReady.size === 0;
    for (const q of queues) this.pendingReady.add(q);
    if (first) {
      setImmediate(() => {
        const all = [...this.pendingReady];
        this.pendingReady.clear();
        const now = (this.options.now ?? Date.now)();
        const force = this.forceReady;
        this.forceReady = false;
        if (!force && !this.othersListening && now - this.lastReadyAt < READY_PROBE_MS) return;
        this.lastReadyAt = now;
        this.publish({ t: "ready", queues: all }, (receivers) => {
          // This server's own subscription is one of the receivers.
          this.othersListening = receivers > 1;
        });
      });
    }
  }

  /** Announces the due time of a newly delayed task. */
  due(dueMs: number): void {
    this.publish({ t: "due", dueMs });
  }

  /** Tells the other servers that a queue's stored settings changed (they reload them). */
  settingsChanged(): void {
    this.publish({ t: "settings" });
  }

  /** Tells the other servers that a schedule was created, changed or deleted (they re-arm their timers). */
  schedulesChanged(): void {
    this.publish({ t: "schedules" });
  }

  /** Tells the other servers that an API token was created or revoked (they reload theirs). */
  tokensChanged(): void {
    this.publish({ t: "tokens" });
  }

  /** Asks the server holding `notice.sessionId` to push a cancel. */
  cancel(notice: CancelNotice): void {
    this.publish({ t: "cancel", ...notice });
  }

  private publish(body: Record<string, unknown>, onReceivers?: (receivers: number) => void): void {
    const message = JSON.stringify({ ...body, from: this.options.serverId });
    this.options.publisher.publish(this.channel, message).then(
      (receivers) => onReceivers?.(receivers),
      (error: unknown) => {
        this.options.logger.warn({ err: error }, "publishing an event failed; the backstop poll covers it");
      },
    );
  }

  private receive(message: string): void {
    let event: { from?: string; t?: string; queues?: string[]; dueMs?: number } & Partial<CancelNotice>;
    try {
      event = JSON.parse(message) as typeof event;
    } catch {
      return;
    }
    if (event.from === this.options.serverId) return;
    if (event.t === "ready" && Array.isArray(event.queues)) event.queues.forEach((q) => this.options.onReady(q));
    else if (event.t === "due" && typeof event.dueMs === "number") this.options.onDue(event.dueMs);
    else if (event.t === "settings") this.options.onSettings?.();
    else if (event.t === "schedules") this.options.onSchedules?.();
    else if (event.t === "tokens") this.options.onTokens?.();
    else if (event.t === "cancel" && event.sessionId && event.taskId && event.leaseToken !== undefined) {
      this.options.onCancel({
        sessionId: event.sessionId,
        taskId: event.taskId,
        leaseToken: event.leaseToken,
        reason: event.reason ?? "",
      });
    }
  }
}
