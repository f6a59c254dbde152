/**
 * Every Redis key name the server uses, built here and nowhere else.
 *
 * Layout (prefix `tq:` shown):
 * - per queue, under the queue's hash tag `{tq:<queue>}` so that everything one script call
 *   touches shares one hash slot: `{tq:q}:ready`, `:delayed`, `:leases`, `:startdl`,
 *   `:counts`, `:paused`, task hashes `{tq:q}:t:<id>`, worker session sets `{tq:q}:s:<session>`
 *   and outcome buckets `{tq:q}:m:<minute>` (see `lua/lib.lua`);
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
  /** ZSET of ready tasks by score (priority band, then age). */
  readonly ready: string;
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
  /**
   * The fixed keys every queue script takes as KEYS[1..6], in this order (see `lua/lib.lua`).
   * Scripts that need more append them.
   */
  readonly scriptKeys: readonly string[];

  /** `tagged` is the queue's key prefix, e.g. `{tq:emails}:`. */
  constructor(readonly tagged: string) {
    this.ready = `${tagged}ready`;
    this.delayed = `${tagged}delayed`;
    this.leases = `${tagged}leases`;
    this.startDeadlines = `${tagged}startdl`;
    this.counts = `${tagged}counts`;
    this.paused = `${tagged}paused`;
    this.scriptKeys = [this.ready, this.delayed, this.leases, this.startDeadlines, this.counts, this.paused];
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
