/**
 * Every Redis key name the server uses, built here and nowhere else.
 *
 * Layout (prefix `tq:` shown):
 * - per queue, under the queue's hash tag `{tq:<queue>}` so that everything one script call
 *   touches shares one hash slot: `{tq:q}:types`, `:delayed`, `:leases`, `:startdl`,
 *   `:counts`, `:paused`, ready tasks by type `{tq:q}:r:<type>`, task hashes `{tq:q}:t:<id>`,
 *   worker session sets `{tq:q}:s:<session>` and outcome buckets `{tq:q}:m:<minute>`; for
 *   tasks with a concurrency key: ready tasks by type and key `{tq:q}:k:<type> <key>`, the
 *   round-robin line of keys per type `{tq:q}:kq:<type>`, running counts by key `{tq:q}:kc`
 *   and the keys parked at their limit `{tq:q}:kp` (see `lua/lib.lua`, which builds the keys
 *   named by data from the queue's prefix the same way);
 * - cross-queue, under the tag `{tq:}`: the queue registry, the server registry and liveness
 *   keys, the cluster directory, the layout and epoch markers and the sweep locks. No script
 *   touches them: they are reached by plain (pipelined) commands.
 */
export class DispatchKeys {
  /** The cross-queue keys' common start, `{<prefix>}:`. */
  readonly crossQueue: string;
  private readonly queueKeys = new Map<string, QueueKeys>();

  /** `prefix` may not contain `{` or `}` (it goes inside the hash tags). */
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error(`Redis key prefix "${prefix}" must not contain { or }`);
    this.crossQueue = `{${prefix}}:`;
  }

  /** The keys of one queue (cached: built once per queue name). */
  queue(name: string): QueueKeys {
    let keys = this.queueKeys.get(name);
    if (!keys) {
      if (this.queueKeys.size >= MAX_CACHED_QUEUES) this.queueKeys.clear();
      keys = new QueueKeys(`{${this.prefix}${name}}:`);
      this.queueKeys.set(name, keys);
    }
    return keys;
  }

  /** SET of the names of queues the dispatch state knows (every queue a task was enqueued to). */
  get queues(): string {
    return `${this.crossQueue}queues`;
  }

  /** SET of the ids of live servers. */
  get servers(): string {
    return `${this.crossQueue}servers`;
  }

  /** STRING that exists while server `id` is alive (it expires unless refreshed). */
  server(id: string): string {
    return `${this.crossQueue}srv:${id}`;
  }

  /** HASH describing server `id` and its worker sessions (the cluster directory). */
  node(id: string): string {
    return `${this.crossQueue}node:${id}`;
  }

  /** STRING: the dispatch layout version the state under this prefix was written with. */
  get layout(): string {
    return `${this.crossQueue}layout`;
  }

  /** STRING whose disappearance shows Redis lost its data. */
  get epoch(): string {
    return `${this.crossQueue}epoch`;
  }

  /** STRING lock of the recovery sweep (one server at a time). */
  get recoveryLock(): string {
    return `${this.crossQueue}recovery-lock`;
  }

  /** STRING lock of the retention sweep (one server at a time). */
  get retentionLock(): string {
    return `${this.crossQueue}retention-lock`;
  }

  /** Pub/sub channel of the servers' wake-ups and cancel notices (not a key). */
  get eventsChannel(): string {
    return `${this.crossQueue}events`;
  }

  /**
   * MATCH patterns of every key this prefix's dispatch state may hold, in this layout and in
   * the older un-tagged one (`tq:*`), for emptying it before a rebuild.
   */
  get allKeyPatterns(): string[] {
    return [`{${globEscape(this.prefix)}*`, `${globEscape(this.prefix)}*`];
  }

  /** The layout and epoch keys of layouts before version 5 (un-tagged keys). */
  get legacyMarkers(): string[] {
    return [`${this.prefix}layout`, `${this.prefix}epoch`];
  }
}

/** Queue key sets kept built; past this many the cache starts over. */
const MAX_CACHED_QUEUES = 10_000;

/** The keys of one queue; all carry the queue's hash tag, so they share one hash slot. */
export class QueueKeys {
  /** SET of the task types that have ready tasks. */
  readonly types: string;
  /** ZSET of SCHEDULED and FAILED (back-off) tasks by due time. */
  readonly delayed: string;
  /** ZSET of RUNNING tasks by lease deadline. */
  readonly leases: string;
  /** ZSET of never-started tasks by start deadline. */
  readonly startDeadlines: string;
  /** HASH of counters kept as tasks move (running, scheduled). */
  readonly counts: string;
  /** STRING present while the queue is paused. */
  readonly paused: string;
  /** HASH: the token bucket of the queue's rate limit. */
  readonly rate: string;
  /**
   * The fixed keys every queue script takes as KEYS[1..6], in this order (see `lua/lib.lua`).
   * Scripts that need more append them.
   */
  readonly scriptKeys: readonly string[];

  /** `tagged` is the queue's key prefix, e.g. `{tq:emails}:`. */
  constructor(readonly tagged: string) {
    this.types = `${tagged}types`;
    this.delayed = `${tagged}delayed`;
    this.leases = `${tagged}leases`;
    this.startDeadlines = `${tagged}startdl`;
    this.counts = `${tagged}counts`;
    this.paused = `${tagged}paused`;
    this.rate = `${tagged}rate`;
    this.scriptKeys = [this.types, this.delayed, this.leases, this.startDeadlines, this.counts, this.paused];
  }

  /** ZSET of the ready tasks of one type, by score (priority band, then age). */
  ready(type: string): string {
    return `${this.tagged}r:${type}`;
  }

  /** ZSET of the ready tasks of one type and concurrency key, by score (like {@link ready}). */
  keyedReady(type: string, concurrencyKey: string): string {
    return `${this.tagged}k:${type} ${concurrencyKey}`;
  }

  /** ZSET: the round-robin line of the concurrency keys with ready tasks of one type, by turn. */
  keyRing(type: string): string {
    return `${this.tagged}kq:${type}`;
  }

  /** HASH: RUNNING tasks per concurrency key. */
  get keyRunning(): string {
    return `${this.tagged}kc`;
  }

  /** HASH: concurrency keys parked at the per-key limit → the types whose lines they left. */
  get keysParked(): string {
    return `${this.tagged}kp`;
  }

  /** HASH of one task's dispatch state (or the short marker of a finished task). */
  task(id: string): string {
    return `${this.tagged}t:${id}`;
  }

  /** SET of the ids of this queue's tasks leased to one worker session. */
  session(sessionId: string): string {
    return `${this.tagged}s:${sessionId}`;
  }

  /** HASH of the attempts that ended in one minute (ms // 60000). */
  outcomes(minute: number): string {
    return `${this.tagged}m:${minute}`;
  }
}

/** Escapes the glob characters of a Redis MATCH pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
