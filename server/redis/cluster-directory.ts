import { DispatchKeys } from "./keys.js";
import type { ChainableCommander } from "ioredis";
import type { RedisClient } from "./connection.js";

/** What a server publishes about itself (the `server` field of its node hash). */
export interface PublishedServer {
  serverId: string;
  /** host:port of the gRPC listener. */
  address: string;
  /** host:port of the HTTP gateway. */
  httpAddress: string;
  version: string;
  /** Epoch ms. */
  startedAt: number;
  draining: boolean;
}

/** What a server publishes about one of its worker sessions (a `w:<session>` field). */
export interface PublishedSession {
  workerId: string;
  sessionId: string;
  queues: string[];
  taskTypes: string[];
  capacity: number;
  /** Number of tasks the session holds. */
  inFlight: number;
  /** Ids of the tasks the session holds (at most {@link MAX_PUBLISHED_TASK_IDS}). */
  held: string[];
  labels: Record<string, string>;
  /** The hello's sdk, e.g. "taskqueue-ts/0.1.0". */
  sdk: string;
  /** Epoch ms. */
  connectedAt: number;
  /** Epoch ms; 0 before the first heartbeat. */
  lastHeartbeatAt: number;
  draining: boolean;
}

/** One live server as read back: what it published and its sessions. */
export interface ServerNode {
  server: PublishedServer;
  sessions: PublishedSession[];
}

/** Options for {@link ClusterDirectory}. */
export interface ClusterDirectoryOptions {
  redis: RedisClient;
  /** Key prefix, e.g. "tq:". */
  prefix: string;
  serverId: string;
  /** The node hash expires this long after its last refresh (the server liveness TTL), ms. */
  ttlMs: number;
}

/** Most held task ids published per session: a directory refresh stays small at any capacity. */
export const MAX_PUBLISHED_TASK_IDS = 100;

const SERVER_FIELD = "server";
const SESSION_FIELD = "w:";

/**
 * The cluster's directory in Redis: each server keeps one hash `{<prefix>}:node:<server id>`
 * holding its own description (field `server`) and one field per worker session
 * (`w:<session id>`, JSON). The whole hash is rewritten by the server registry's periodic
 * refresh, which also renews its TTL (so a dead server's hash vanishes with its liveness
 * key); a session is added at its hello and removed at its stream's close. Nothing is
 * written per task. Reading the whole cluster is one pipeline of HGETALLs.
 */
export class ClusterDirectory {
  private readonly keys: DispatchKeys;
  /**
   * Sessions parsed by the last read, by their JSON text: a refresh rewrites every session
   * but most come back unchanged, and parsing ~1,000 of them took a good part of a
   * ListWorkers call. Holds only what the last read saw.
   */
  private parsed = new Map<string, PublishedSession>();

  constructor(private readonly options: ClusterDirectoryOptions) {
    this.keys = new DispatchKeys(options.prefix);
  }

  /** The node hash key of a server. */
  nodeKey(serverId: string): string {
    return this.keys.node(serverId);
  }

  /** Adds or replaces one session of this server (at its hello). */
  async addSession(session: PublishedSession): Promise<void> {
    const key = this.nodeKey(this.options.serverId);
    await this.options.redis
      .multi()
      .hset(key, SESSION_FIELD + session.sessionId, JSON.stringify(session))
      .pexpire(key, this.options.ttlMs)
      .exec();
  }

  /** Removes one session of this server (at its stream's close). */
  async removeSession(sessionId: string): Promise<void> {
    await this.options.redis.hdel(this.nodeKey(this.options.serverId), SESSION_FIELD + sessionId);
  }

  /**
   * Appends to `multi` the commands that replace this server's hash with `server` and
   * `sessions` and renew its TTL (atomic inside the MULTI: readers never see it empty).
   */
  appendRefresh(multi: ChainableCommander, server: PublishedServer, sessions: Iterable<PublishedSession>): void {
    const key = this.nodeKey(this.options.serverId);
    const fields: string[] = [SERVER_FIELD, JSON.stringify(server)];
    for (const session of sessions) fields.push(SESSION_FIELD + session.sessionId, JSON.stringify(session));
    multi.del(key).hset(key, ...fields).pexpire(key, this.options.ttlMs);
  }

  /** Deletes this server's hash (when it leaves). */
  appendLeave(multi: ChainableCommander): void {
    multi.del(this.nodeKey(this.options.serverId));
  }

  /**
   * Reads the servers listed in `{<prefix>}:servers`: one round trip when `known` already
   * names every member (the registry's last view), a second one for members it did not
   * know. Servers whose hash has expired (gone, or not yet refreshed once) are left out.
   */
  async read(known: readonly string[]): Promise<ServerNode[]> {
    const { redis } = this.options;
    const pipeline = redis.pipeline().smembers(this.keys.servers);
    for (const id of known) pipeline.hgetall(this.nodeKey(id));
    const replies = (await pipeline.exec()) ?? [];
    const [membersError, members] = replies[0] ?? [null, []];
    if (membersError) throw membersError;
    const hashes = new Map<string, Record<string, string>>();
    known.forEach((id, i) => {
      const [error, hash] = replies[i + 1] ?? [null, {}];
      if (error) throw error;
      hashes.set(id, hash as Record<string, string>);
    });
    const missing = (members as string[]).filter((id) => !hashes.has(id));
    if (missing.length > 0) {
      const more = redis.pipeline();
      for (const id of missing) more.hgetall(this.nodeKey(id));
      const moreReplies = (await more.exec()) ?? [];
      missing.forEach((id, i) => {
        const [error, hash] = moreReplies[i] ?? [null, {}];
        if (error) throw error;
        hashes.set(id, hash as Record<string, string>);
      });
    }
    const listed = new Set(members as string[]);
    const nodes: ServerNode[] = [];
    const seen = new Map<string, PublishedSession>();
    const parseSession = (text: string): PublishedSession => {
      let session = this.parsed.get(text) ?? seen.get(text);
      if (session === undefined) session = Object.freeze(JSON.parse(text) as PublishedSession);
      seen.set(text, session);
      return session;
    };
    for (const [id, hash] of hashes) {
      if (!listed.has(id)) continue;
      const node = parseNode(hash, parseSession);
      if (node) nodes.push(node);
    }
    this.parsed = seen;
    return nodes.sort((a, b) => (a.server.serverId < b.server.serverId ? -1 : a.server.serverId > b.server.serverId ? 1 : 0));
  }
}

/**
 * A node hash as read back, or undefined when it holds no server description. Sessions come
 * from `parseSession` (shared, frozen objects: readers must not change them).
 */
function parseNode(hash: Record<string, string>, parseSession: (text: string) => PublishedSession): ServerNode | undefined {
  const serverText = hash[SERVER_FIELD];
  if (serverText === undefined) return undefined;
  const sessions: PublishedSession[] = [];
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith(SESSION_FIELD)) sessions.push(parseSession(value));
  }
  sessions.sort((a, b) => a.connectedAt - b.connectedAt || (a.sessionId < b.sessionId ? -1 : 1));
  return { server: JSON.parse(serverText) as PublishedServer, sessions };
}
