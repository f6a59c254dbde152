import { DispatchKeys } from "../redis/keys.js";
import type { ChainableCommander } from "ioredis";
import type { RedisClient } from "../redis/connection.js";
import type { Logger } from "../observability/logger.js";
import { PeriodicTask } from "./periodic-task.js";
import type { Service } from "./service.js";

/** Options for {@link ServerRegistry}. */
export interface ServerRegistryOptions {
  redis: RedisClient;
  prefix: string;
  serverId: string;
  logger: Logger;
  /** A server not heard from for this long counts as gone, ms. */
  ttlMs: number;
  /** Told when servers are found gone (their pending Postgres writes are lost). */
  onServersGone: (serverIds: string[]) => void;
  /**
   * Appends more commands to each refresh's MULTI (e.g. the cluster directory's rewrite of
   * this server's node hash): they share its round trip and its period.
   */
  onRefresh?: (multi: ChainableCommander) => void;
  /** Appends more commands to the MULTI that leaves the registry. */
  onLeave?: (multi: ChainableCommander) => void;
}

/**
 * Liveness of the servers sharing Redis: each refreshes `{<prefix>}:srv:<id>` (expiring after
 * `ttlMs`) and lists itself in `{<prefix>}:servers`. A member whose key expired has died; any
 * outcome it had fenced in Redis but not yet written to Postgres is lost, which recovery
 * repairs by running those tasks again.
 */
export class ServerRegistry implements Service {
  private readonly periodic: PeriodicTask;
  private members: readonly string[] = [];
  private readonly keys: DispatchKeys;

  constructor(private readonly options: ServerRegistryOptions) {
    this.keys = new DispatchKeys(options.prefix);
    this.periodic = new PeriodicTask({
      name: "server registry",
      run: () => this.beat(),
      intervalMs: Math.max(100, Math.floor(options.ttlMs / 3)),
      logger: options.logger,
    });
  }

  /**
   * The servers listed at the last refresh (this one included) that were alive then: a
   * reader's guess of who to ask, which a new member may have joined since.
   */
  get knownServers(): readonly string[] {
    return this.members;
  }

  /** Registers this server and starts refreshing (every third of the TTL). */
  async start(): Promise<void> {
    await this.periodic.runNow();
    this.periodic.start();
  }

  /** Refreshes now (a refresh under way is followed by another); never rejects. */
  async refresh(): Promise<void> {
    await this.periodic.runNow().catch(() => undefined);
  }

  /**
   * Stops refreshing and deletes this server's liveness key. After a clean stop (nothing left
   * unwritten) it also leaves the list of servers. Otherwise it stays listed: the other
   * servers find it gone at their next refresh and recover at once what it left unwritten.
   * A refresh under way is waited for first (it would list this server again).
   */
  async stop(options: { clean: boolean } = { clean: true }): Promise<void> {
    await this.periodic.stop();
    const { redis, serverId } = this.options;
    const leave = redis.multi().del(this.keys.server(serverId));
    this.options.onLeave?.(leave);
    if (options.clean) leave.srem(this.keys.servers, serverId);
    await leave.exec().catch(() => undefined);
  }

  private async beat(): Promise<void> {
    const { redis, serverId, ttlMs } = this.options;
    const keys = this.keys;
    try {
      const refresh = redis.multi().set(keys.server(serverId), String(Date.now()), "PX", ttlMs).sadd(keys.servers, serverId);
      this.options.onRefresh?.(refresh);
      await refresh.exec();
      const members = await redis.smembers(keys.servers);
      const others = members.filter((id) => id !== serverId);
      this.members = [serverId, ...others];
      if (others.length === 0) return;
      const alive = await redis.mget(others.map((id) => keys.server(id)));
      const gone = others.filter((_, i) => alive[i] === null);
      this.members = [serverId, ...others.filter((_, i) => alive[i] !== null)];
      if (gone.length === 0) return;
      await redis.srem(keys.servers, ...gone);
      this.options.logger.warn({ gone }, "servers gone: recovering what they had not written");
      this.options.onServersGone(gone);
    } catch (error) {
      this.options.logger.warn({ err: error }, "server liveness refresh failed");
    }
  }
}
