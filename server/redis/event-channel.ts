import { Redis, type Cluster, type RedisOptions } from "ioredis";
import type { Logger } from "../observability/logger.js";
import { isCluster, type RedisClient } from "./connection.js";
import { keySlot } from "./key-slot.js";

/** Sends a message on the servers' events channel; resolves with how many connections received it. */
export interface EventPublisher {
  publish(channel: string, message: string): Promise<number>;
}

/** Receives the servers' events channel (a connection of its own: a subscribed one runs nothing else). */
export interface EventSubscriber {
  on(event: "message", listener: (channel: string, message: string) => void): unknown;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
}

/** The events channel's two ends and how to close the subscriber's connection. */
export interface EventChannel {
  publisher: EventPublisher;
  subscriber: EventSubscriber;
  close(): Promise<void>;
}

/**
 * The servers' events channel (wake-ups, cancels, settings) over `commands`' Redis. One Redis:
 * PUBLISH / SUBSCRIBE, the subscriber on a connection `openSingle` opens. A
 * Redis Cluster: sharded pub/sub, SPUBLISH / SSUBSCRIBE, on the master holding the channel's
 * slot (the cross-queue slot `{<prefix>}`): a message travels to that master only instead of
 * being broadcast over the cluster bus to every node, and SPUBLISH's count of receivers is
 * that of every server (they all subscribe there), which the notifier relies on.
 */
export function openEventChannel(commands: RedisClient, openSingle: () => Redis, logger: Logger): EventChannel {
  if (!isCluster(commands)) {
    const subscriber = openSingle();
    return { publisher: commands, subscriber, close: () => closeConnection(subscriber) };
  }
  // The node connections' options: credentials and TLS.
  const subscriber = new ShardedSubscriber(commands, commands.options.redisOptions ?? {}, logger);
  return {
    publisher: { publish: async (channel, message) => Number(await commands.spublish(channel, message)) },
    subscriber,
    close: async () => subscriber.close(),
  };
}

/** Closes a Redis connection: QUIT when it is up (pending replies arrive first), else at once. */
export async function closeConnection(connection: RedisClient): Promise<void> {
  if (connection.status === "ready") await connection.quit().catch(() => undefined);
  connection.disconnect();
}

/** Wait before connecting again to the channel's master after losing it, ms. */
const RECONNECT_MS = 200;

/**
 * SSUBSCRIBE to one channel on whichever master holds its slot, following the cluster: when
 * the connection ends (the master failed) or the slot map shows another owner (a failover,
 * a resharding), it subscribes again on the current owner. Messages published meanwhile are
 * missed: the dispatcher's and scheduler's backstop polls cover them, as for any lost message.
 */
class ShardedSubscriber implements EventSubscriber {
  private channel: string | undefined;
  private connection: Redis | undefined;
  private owner: string | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;
  /** Whether the last attempt failed (a failure is logged once, not on every retry). */
  private failing = false;
  private readonly listeners: Array<(channel: string, message: string) => void> = [];

  constructor(
    private readonly cluster: Cluster,
    private readonly nodeOptions: RedisOptions,
    private readonly logger: Logger,
  ) {
    // A subscription standing on a node that no longer owns the slot moves; one lost is
    // retried by its timer.
    cluster.on("refresh", () => {
      if (this.connection !== undefined && !this.closed && this.ownerOfChannel() !== this.owner) void this.connect();
    });
  }

  on(_event: "message", listener: (channel: string, message: string) => void): this {
    this.listeners.push(listener);
    return this;
  }

  subscribe(channel: string): Promise<void> {
    this.channel = channel;
    return this.connect();
  }

  async unsubscribe(): Promise<void> {
    this.close();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.connection?.disconnect();
    this.connection = undefined;
  }

  private ownerOfChannel(): string | undefined {
    return this.cluster.slots[keySlot(this.channel!)]?.[0];
  }

  private connect(): Promise<void> {
    this.connection?.disconnect();
    this.connection = undefined;
    const owner = this.ownerOfChannel();
    this.owner = owner;
    if (owner === undefined || this.closed) {
      this.later();
      return Promise.resolve();
    }
    const at = owner.lastIndexOf(":");
    const connection = new Redis({
      ...this.nodeOptions,
      host: owner.slice(0, at),
      port: Number(owner.slice(at + 1)),
      // This class reconnects, to the slot's current owner.
      retryStrategy: () => null,
      maxRetriesPerRequest: null,
    });
    this.connection = connection;
    connection.on("smessage", (channel: string, message: string) => {
      for (const listener of this.listeners) listener(channel, message);
    });
    connection.on("error", (error: Error) => this.logger.debug({ err: error, node: owner }, "events subscriber connection error"));
    const lost = () => {
      if (this.connection !== connection) return;
      this.connection = undefined;
      this.owner = undefined;
      this.cluster.refreshSlotsCache();
      this.later();
    };
    connection.on("end", lost);
    return new Promise<void>((resolve) => {
      // A MOVED answer (the slot map was stale) leaves the command unanswered: start again.
      connection.once("moved", () => {
        connection.disconnect();
        resolve();
      });
      connection.ssubscribe(this.channel!).then(
        () => {
          if (this.failing) this.logger.info({ node: owner }, "subscribed to the events channel again");
          this.failing = false;
          resolve();
        },
        (error: unknown) => {
          if (!this.failing) this.logger.warn({ err: error, node: owner }, "subscribing to the events channel failed; retrying");
          this.failing = true;
          connection.disconnect();
          resolve();
        },
      );
    });
  }

  private later(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, RECONNECT_MS);
    this.retry.unref();
  }
}
