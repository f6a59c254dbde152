import type { QueueRecord, QueueRepository } from "../db/queue-repository.js";
import type { QueueDispatchStats, QueueStats } from "../redis/queue-stats.js";
import type { QueueRetryDefaults } from "../settings/queue-retry-defaults.js";
import type { StoredQueueSettings } from "./queue-settings.js";
import type { DispatchSession } from "./session.js";

/** The worker streams serving one queue, as this server sees them. */
export interface QueueWorkerFigures {
  connected: number;
  capacity: number;
  inFlight: number;
}

/** The settings in force for a queue's new tasks. */
export interface QueueSettingsInForce {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  backoffMultiplier: number;
  finishedRetentionMs: number;
  deadRetentionMs: number;
  /** Priority given to tasks submitted with priority 0. */
  defaultPriority: number;
  /** Timeout per attempt of tasks submitted without one; null: none. */
  defaultTimeoutMs: number | null;
  /** Most RUNNING tasks at once across every server; 0: unlimited. */
  maxConcurrency: number;
  /** Most RUNNING tasks per concurrency key across every server; 0: unlimited. */
  maxConcurrencyPerKey: number;
  /** Most task starts per period across every server; null: unlimited. */
  rateLimit: { limit: number; periodMs: number } | null;
  /** Largest payload a task may carry, bytes: the queue's own limit, else the server's. */
  maxPayloadBytes: number;
}

/** Everything QueueService reports of one queue. */
export interface QueueOverviewItem {
  name: string;
  /** The durable pause (Postgres); null when the queue has no row. */
  record: QueueRecord | null;
  stats: QueueDispatchStats;
  dead: number;
  workers: QueueWorkerFigures;
  settings: QueueSettingsInForce;
}

/** Server-wide defaults a queue falls back to. */
export interface QueueDefaults {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  backoffMultiplier: number;
  queueRetryDefaults: Readonly<Record<string, QueueRetryDefaults>>;
  finishedRetentionMs: number;
  deadRetentionMs: number;
  /** The server's MAX_PAYLOAD_BYTES. */
  maxPayloadBytes: number;
}

/** Options for {@link QueueOverview}. */
export interface QueueOverviewOptions {
  repository: Pick<QueueRepository, "get" | "names" | "deadCounts" | "deadQueueNames" | "all" | "allDeadCounts">;
  stats: Pick<QueueStats, "read" | "knownQueues" | "isKnown">;
  /** This server's connected worker streams (exact, now). */
  sessions: () => Iterable<DispatchSession>;
  /**
   * The worker streams of the other live servers, as they published them (the cluster
   * directory: connected at once, tasks in flight as of their server's last refresh).
   * Without it, only this server's streams count.
   */
  otherServersSessions?: () => Promise<Iterable<RemoteSession>>;
  defaults: QueueDefaults;
}

/** A worker stream of another server, as the cluster directory has it. */
export interface RemoteSession {
  queues: readonly string[];
  capacity: number;
  inFlight: number;
}

/**
 * Assembles the queues' figures from where each is kept cheaply: Redis' structures for the
 * dispatch state and throughput, Postgres' `queues` and `dead_tasks` tables for pauses and
 * dead letters, and this server's dispatcher for its worker streams.
 */
export class QueueOverview {
  constructor(private readonly options: QueueOverviewOptions) {}

  /** Every queue that has tasks (in Redis, or dead in Postgres), workers or a stored row, sorted. */
  async names(): Promise<string[]> {
    const [known, stored, dead, remote] = await Promise.all([
      this.options.stats.knownQueues(),
      this.options.repository.names(),
      this.options.repository.deadQueueNames(),
      this.remoteSessions(),
    ]);
    const all = new Set([...known, ...stored, ...dead]);
    for (const s of this.options.sessions()) for (const q of s.queues) all.add(q);
    for (const s of remote) for (const q of s.queues) all.add(q);
    return [...all].sort();
  }

  /**
   * Every queue ({@link names}) with its figures, sorted by name, read once: the cluster
   * directory, the `queues` table and the dead counts each read one time (a {@link names}
   * then {@link describe} would read each twice), then the Redis figures of every queue in
   * one pipeline.
   */
  async readAll(): Promise<QueueOverviewItem[]> {
    const [known, records, dead, remote] = await Promise.all([
      this.options.stats.knownQueues(),
      this.options.repository.all(),
      this.options.repository.allDeadCounts(),
      this.remoteSessions(),
    ]);
    const all = new Set([...known, ...records.keys(), ...dead.keys()]);
    for (const s of this.options.sessions()) for (const q of s.queues) all.add(q);
    for (const s of remote) for (const q of s.queues) all.add(q);
    const names = [...all].sort();
    return this.assemble(names, records, await this.options.stats.read(names), dead, remote);
  }

  /** The figures of `names`, in order. */
  async describe(names: readonly string[]): Promise<QueueOverviewItem[]> {
    if (names.length === 0) return [];
    const [records, stats, dead, remote] = await Promise.all([
      this.options.repository.get(names),
      this.options.stats.read(names),
      this.options.repository.deadCounts(names),
      this.remoteSessions(),
    ]);
    return this.assemble(names, records, stats, dead, remote);
  }

  private assemble(
    names: readonly string[],
    records: ReadonlyMap<string, QueueRecord>,
    stats: readonly QueueDispatchStats[],
    dead: ReadonlyMap<string, number>,
    remote: Iterable<RemoteSession>,
  ): QueueOverviewItem[] {
    const workers = this.workerFigures(names, remote);
    return names.map((name, i) => ({
      name,
      record: records.get(name) ?? null,
      stats: stats[i]!,
      dead: dead.get(name) ?? 0,
      workers: workers.get(name)!,
      settings: this.settingsInForce(name, records.get(name)?.settings ?? {}),
    }));
  }

  /** Whether anything knows the queue: a task enqueued to it, dead letters, workers or a stored row. */
  async exists(item: QueueOverviewItem): Promise<boolean> {
    if (item.record !== null || item.dead > 0 || item.workers.connected > 0) return true;
    return this.options.stats.isKnown(item.name);
  }

  private workerFigures(names: readonly string[], remote: Iterable<RemoteSession>): Map<string, QueueWorkerFigures> {
    const out = new Map(names.map((n) => [n, { connected: 0, capacity: 0, inFlight: 0 }]));
    const add = (queues: readonly string[], capacity: number, inFlight: number) => {
      for (const q of queues) {
        const f = out.get(q);
        if (!f) continue;
        f.connected += 1;
        f.capacity += capacity;
        f.inFlight += inFlight;
      }
    };
    for (const s of this.options.sessions()) if (!s.closed) add(s.queues, s.capacity, s.held.size);
    for (const s of remote) add(s.queues, s.capacity, s.inFlight);
    return out;
  }

  /** The other servers' streams; none when the directory cannot be read (Redis down). */
  private async remoteSessions(): Promise<Iterable<RemoteSession>> {
    if (!this.options.otherServersSessions) return [];
    try {
      return await this.options.otherServersSessions();
    } catch {
      return [];
    }
  }

  /** The settings in force for `name` with `stored` as its own: stored, else the environment's. */
  settingsInForce(name: string, stored: StoredQueueSettings): QueueSettingsInForce {
    const d = this.options.defaults;
    const own = { ...d.queueRetryDefaults[name], ...stored };
    return {
      defaultPriority: stored.defaultPriority ?? 0,
      defaultTimeoutMs: stored.defaultTimeoutMs ?? null,
      maxConcurrency: stored.maxConcurrency ?? 0,
      maxConcurrencyPerKey: stored.maxConcurrencyPerKey ?? 0,
      rateLimit: stored.rateLimit && stored.ratePeriodMs ? { limit: stored.rateLimit, periodMs: stored.ratePeriodMs } : null,
      maxAttempts: own.maxAttempts ?? d.maxAttempts,
      initialBackoffMs: own.initialBackoffMs ?? d.initialBackoffMs,
      maxBackoffMs: own.maxBackoffMs ?? d.maxBackoffMs,
      backoffMultiplier: own.backoffMultiplier ?? d.backoffMultiplier,
      finishedRetentionMs: stored.finishedRetentionMs ?? d.finishedRetentionMs,
      deadRetentionMs: stored.deadRetentionMs ?? d.deadRetentionMs,
      maxPayloadBytes: Math.min(stored.maxPayloadBytes ?? d.maxPayloadBytes, d.maxPayloadBytes),
    };
  }
}
