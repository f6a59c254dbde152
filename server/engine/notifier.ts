import type { Redis } from "ioredis";
import type { Logger } from "../observability/logger.js";

/** A cancel to deliver to whichever server holds the worker session. */
export interface CancelNotice {
  sessionId: string;
  taskId: string;
  leaseToken: string;
  reason: string;
}

/** Options for {@link Notifier}. */
export interface NotifierOptions {
  /** Connection used for PUBLISH. */
  publisher: Redis;
  /** A dedicated connection for SUBSCRIBE (it cannot run other commands). */
  subscriber: Redis;
  prefix: string;
  serverId: string;
  logger: Logger;
  onReady: (queue: string) => void;
  onDue: (dueMs: number) => void;
  onCancel: (notice: CancelNotice) => void;
}

/**
 * Tells the other servers sharing Redis about events they must act on: tasks became ready
 * in a queue (so an idle worker anywhere gets them at once), a delayed task is due, or a
 * running task was cancelled. Messages from this server itself are ignored.
 */
export class Notifier {
  private readonly channel: string;
  private readonly pendingReady = new Set<string>();

  constructor(private readonly options: NotifierOptions) {
    this.channel = `${options.prefix}events`;
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

  /** Announces queues that gained ready tasks (coalesced: one message per tick). */
  ready(queues: string[]): void {
    if (queues.length === 0) return;
    const first = this.pendingReady.size === 0;
    for (const q of queues) this.pendingReady.add(q);
    if (first) {
      setImmediate(() => {
        const all = [...this.pendingReady];
        this.pendingReady.clear();
        this.publish({ t: "ready", queues: all });
      });
    }
  }

  /** Announces the due time of a newly delayed task. */
  due(dueMs: number): void {
    this.publish({ t: "due", dueMs });
  }

  /** Asks the server holding `notice.sessionId` to push a cancel. */
  cancel(notice: CancelNotice): void {
    this.publish({ t: "cancel", ...notice });
  }

  private publish(body: Record<string, unknown>): void {
    const message = JSON.stringify({ ...body, from: this.options.serverId });
    this.options.publisher.publish(this.channel, message).catch((error: unknown) => {
      this.options.logger.warn({ err: error }, "publishing an event failed; the backstop poll covers it");
    });
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
